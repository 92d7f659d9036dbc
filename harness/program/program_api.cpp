// The C API of include/lwipsim/program.h, on the ProgramRun in progress. Exported from the
// lwipsim executable (ENABLE_EXPORTS): the program's undefined symbols resolve to these.

#include "lwipsim/program.h"

#include "harness/program/program_run.h"
#include "sim/clock/scheduler.h"
#include "sim/heap/device_heap.h"

#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

using lwipsim::clock::Scheduler;
using lwipsim::clock::SimTime;
using lwipsim::program::ProgramRun;

namespace {

uint64_t to_ms(SimTime t) {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(t.since_start).count());
}

thread_local std::string t_tls_error;

} // namespace

struct lwipsim_tls {
    std::unique_ptr<lwipsim::device::TlsTransport> transport;
};

extern "C" {

const char* lwipsim_arg_str(const lwipsim_args* args, const char* key, const char* fallback) {
    for (size_t i = 0; args != nullptr && key != nullptr && i < args->count; ++i) {
        if (std::strcmp(args->items[i].key, key) == 0)
            return args->items[i].value;
    }
    return fallback;
}

long long lwipsim_arg_int(const lwipsim_args* args, const char* key, long long fallback) {
    const char* text = lwipsim_arg_str(args, key, nullptr);
    if (text == nullptr)
        return fallback;
    long long v = 0;
    const char* end = text + std::strlen(text);
    auto [ptr, ec] = std::from_chars(text, end, v);
    if (ec != std::errc() || ptr != end || ptr == text) {
        ProgramRun::current().fail(std::string("app.args.") + key +
                                   ": expected a whole number, got '" + text + "'");
        return fallback;
    }
    return v;
}

const char* lwipsim_run_info(const char* key) {
    const auto& info = ProgramRun::current().world().info;
    auto it = key != nullptr ? info.find(key) : info.end();
    return it == info.end() ? nullptr : it->second.c_str();
}

uint64_t lwipsim_now_ms(void) {
    return to_ms(Scheduler::current().now());
}

uint64_t lwipsim_end_ms(void) {
    return to_ms(ProgramRun::current().end());
}

void lwipsim_sleep_ms(uint32_t ms) {
    Scheduler::current().sleep_for(lwipsim::clock::from_ms(ms));
}

int lwipsim_thread_create(const char* name, lwipsim_thread_fn fn, void* arg, int priority) {
    ProgramRun::current().spawn(name != nullptr ? name : "program thread", priority,
                                [fn, arg] { fn(arg); });
    return 0;
}

void lwipsim_log(int level, const char* tag, const char* format, ...) {
    va_list ap;
    va_start(ap, format);
    char buf[1024];
    std::vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    ProgramRun::current().log_line(level, tag, buf);
}

void lwipsim_event(const char* name, const char* detail) {
    ProgramRun::current().event(name, detail);
}

void* lwipsim_malloc(size_t size) {
    return ProgramRun::current().allocate(size);
}

void* lwipsim_calloc(size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size)
        return nullptr;
    void* p = lwipsim_malloc(count * size);
    if (p != nullptr)
        std::memset(p, 0, count * size);
    return p;
}

void lwipsim_free(void* ptr) {
    ProgramRun::current().release(ptr);
}

size_t lwipsim_heap_free(void) {
    return lwipsim::heap::DeviceHeap::instance().free_bytes();
}

lwipsim_tls* lwipsim_tls_connect(const lwipsim_tls_cfg* cfg) {
    auto& run = ProgramRun::current();
    const auto& world = run.world();
    lwipsim::device::TlsOptions o = world.tls;
    if (cfg != nullptr) {
        if (cfg->ip != nullptr)
            o.ip = cfg->ip;
        if (cfg->port != 0)
            o.port = cfg->port;
        if (cfg->server_name != nullptr)
            o.server_name = cfg->server_name;
        if (cfg->ca_pem != nullptr)
            o.ca_pem = cfg->ca_pem;
        if (cfg->timeout_ms != 0)
            o.connect_timeout = o.handshake_timeout = lwipsim::clock::from_ms(cfg->timeout_ms);
    }
    lwipsim::device::OpenError err{};
    auto t = lwipsim::device::TlsTransport::open(o, world.rng, world.observer, world.keylog, err);
    if (!t) {
        t_tls_error = err.cut ? "cut: the run ended while connecting" : err.detail;
        if (t_tls_error.empty())
            t_tls_error = "connect failed (code " + std::to_string(err.code) + ")";
        return nullptr;
    }
    t_tls_error.clear();
    return new lwipsim_tls{std::move(t)};
}

const char* lwipsim_tls_last_error(void) {
    return t_tls_error.c_str();
}

int lwipsim_tls_write(lwipsim_tls* tls, const void* buf, size_t len, uint32_t timeout_ms) {
    auto r = tls->transport->write_all({static_cast<const uint8_t*>(buf), len},
                                       lwipsim::clock::from_ms(timeout_ms));
    if (r.status == lwipsim::device::IoStatus::kOk)
        return static_cast<int>(len);
    return r.status == lwipsim::device::IoStatus::kTimeout ? LWIPSIM_TLS_TIMEOUT
                                                           : LWIPSIM_TLS_ERROR;
}

int lwipsim_tls_read(lwipsim_tls* tls, void* buf, size_t len, uint32_t timeout_ms) {
    auto r = tls->transport->read_some({static_cast<uint8_t*>(buf), len},
                                       lwipsim::clock::from_ms(timeout_ms));
    switch (r.status) {
    case lwipsim::device::IoStatus::kOk:
        return static_cast<int>(r.bytes);
    case lwipsim::device::IoStatus::kClosed:
        return 0;
    case lwipsim::device::IoStatus::kTimeout:
        return LWIPSIM_TLS_TIMEOUT;
    default:
        return LWIPSIM_TLS_ERROR;
    }
}

int lwipsim_tls_fd(const lwipsim_tls* tls) {
    return tls->transport->fd();
}

void lwipsim_tls_destroy(lwipsim_tls* tls) {
    if (tls == nullptr)
        return;
    tls->transport->destroy();
    delete tls;
}

} // extern "C"
