// Test helper for broker_managed_test.cpp: a separate process that owns a ManagedBroker, so a
// test can kill the owner and watch what happens to the broker.
//
//   lwipsim_broker_test_helper <run_dir>            start a broker, print "broker_pid N", wait
//                                                   forever (the test SIGKILLs us)
//   lwipsim_broker_test_helper <run_dir> --handler  same, with install_cleanup_handlers() over a
//                                                   SIGTERM handler that keeps us alive; after
//                                                   SIGTERM, reap the broker and print how it died
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include <sys/wait.h>
#include <unistd.h>

#include "harness/broker/managed_broker.h"
#include "sim/host/child_registry.h"

namespace {

volatile std::sig_atomic_t g_got_term = 0;

extern "C" void note_term(int) {
    g_got_term = 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3 || (argc == 3 && std::strcmp(argv[2], "--handler") != 0)) {
        std::fprintf(stderr, "usage: %s <run_dir> [--handler]\n", argv[0]);
        return 2;
    }
    const bool handler_mode = argc == 3;
    if (handler_mode) {
        // The "previous" handler that the cleanup handler restores and re-raises into: it keeps
        // this process alive, so the broker's death can only come from the cleanup handler and
        // not from PDEATHSIG.
        struct sigaction keep_alive {};
        keep_alive.sa_handler = note_term;
        sigemptyset(&keep_alive.sa_mask);
        sigaction(SIGTERM, &keep_alive, nullptr);
        lwipsim::host::install_cleanup_handlers();
    }
    try {
        lwipsim::broker::ManagedBrokerOptions options;
        options.run_dir = argv[1];
        lwipsim::broker::ManagedBroker broker(options);
        std::printf("broker_pid %d\n", static_cast<int>(broker.pid()));
        std::fflush(stdout);
        while (g_got_term == 0) {
            ::pause();
        }
        int status = 0;
        if (::waitpid(broker.pid(), &status, 0) != broker.pid()) {
            std::printf("broker_wait_failed %s\n", std::strerror(errno));
        } else if (WIFSIGNALED(status)) {
            std::printf("broker_ended signal %d\n", WTERMSIG(status));
        } else {
            std::printf("broker_ended exit %d\n", WEXITSTATUS(status));
        }
        std::fflush(stdout);
        // The broker is already reaped; skip ManagedBroker's destructor, which would wait on it.
        std::_Exit(0);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "helper: %s\n", e.what());
        return 1;
    }
}
