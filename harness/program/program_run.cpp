#include "harness/program/program_run.h"

#include "lwipsim/program.h"
#include "sim/clock/sync.h"
#include "sim/heap/device_heap.h"

extern "C" {
#include "lwip/api.h"
#include "lwip/priv/sockets_priv.h"
}

#include <dlfcn.h>
#include <elf.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace lwipsim::program {

namespace {

ProgramRun* g_run = nullptr;

// dlerror() says "<file>: undefined symbol: <name>"; the name is what the user needs.
std::string load_error(const std::string& path, const std::string& dl) {
    const std::string marker = "undefined symbol: ";
    if (auto at = dl.find(marker); at != std::string::npos) {
        std::string symbol = dl.substr(at + marker.size());
        return "app.program " + path + " needs the symbol '" + symbol +
               "', which lwipsim does not provide (docs/programs.md lists the API; calls "
               "outside it are a load error, never a silent stub)";
    }
    return "app.program " + path + " cannot be loaded: " + dl;
}

// ELFCLASS32 or ELFCLASS64 from the file's ELF header; 0 when it is not an ELF file.
int elf_class(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    unsigned char ident[EI_NIDENT] = {};
    if (!in.read(reinterpret_cast<char*>(ident), EI_NIDENT) ||
        std::memcmp(ident, ELFMAG, SELFMAG) != 0)
        return 0;
    return ident[EI_CLASS];
}

// The scenario names the program as built for the host (lib<name>.so); lwipsim_add_device_program
// puts the same program built for the 32-bit device beside it, as ilp32/lib<name>.so. This
// worker loads the build whose word size is its own.
std::string build_for_this_device(const std::string& path) {
    constexpr int kOwnClass = sizeof(void*) == 4 ? ELFCLASS32 : ELFCLASS64;
    const int cls = elf_class(path);
    if (cls == 0 || cls == kOwnClass)
        return path; // dlopen says what is wrong with a file that is not ELF
    namespace fs = std::filesystem;
    const fs::path given(path);
    const fs::path twin = kOwnClass == ELFCLASS32 ? given.parent_path() / "ilp32" / given.filename()
                                                 : given.parent_path().parent_path() / given.filename();
    if (elf_class(twin.string()) == kOwnClass)
        return twin.string();
    const char* device = kOwnClass == ELFCLASS32 ? "32-bit (abi: ilp32)" : "64-bit (abi: host)";
    throw std::invalid_argument(
        "app.program " + path + " is built for " + (cls == ELFCLASS32 ? "32" : "64") +
        "-bit, and this device is " + device + "; no build for it at " + twin.string() +
        " (lwipsim_add_device_program builds both; docs/programs.md), or set abi to match");
}

// A crash in the program takes the worker with it (one device per process): the CLI reports
// the signal. This says first that it was the program, with async-signal-safe calls only.
char g_crash_note[512];
constexpr int kCrashSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

const char* signal_name(int sig) {
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV (segmentation fault)";
    case SIGBUS:
        return "SIGBUS (bus error)";
    case SIGFPE:
        return "SIGFPE (arithmetic error)";
    case SIGILL:
        return "SIGILL (illegal instruction)";
    default:
        return "SIGABRT (abort)";
    }
}

extern "C" void on_program_crash(int sig) {
    const char* name = signal_name(sig);
    (void)!write(STDERR_FILENO, g_crash_note, std::strlen(g_crash_note));
    (void)!write(STDERR_FILENO, name, std::strlen(name));
    (void)!write(STDERR_FILENO, " (the worker dies with it)\n", 27);
    std::signal(sig, SIG_DFL);
    raise(sig);
}

void arm_crash_note(const std::string& path) {
    std::snprintf(g_crash_note, sizeof g_crash_note, "lwipsim: the device program %s crashed with ",
                  path.c_str());
    for (int sig : kCrashSignals)
        std::signal(sig, on_program_crash);
}

void disarm_crash_note() {
    for (int sig : kCrashSignals)
        std::signal(sig, SIG_DFL);
}

// lwIP still owes a socket call its answer: a netconn has an operation in progress (a write
// waiting for room in the send buffer, a close waiting to send its FIN or to linger, a blocking
// connect). Its caller waits with no deadline of its own, but the tcpip thread completes or
// fails the operation by itself (on an ACK, at its poll timer when heap frees up or a send
// timeout expires, when the retransmissions run out), so that caller is not hung.
bool lwip_call_in_progress() {
    for (int fd = LWIP_SOCKET_OFFSET; fd < LWIP_SOCKET_OFFSET + NUM_SOCKETS; ++fd) {
        const lwip_sock* sock = lwip_socket_dbg_get_socket(fd);
        if (sock != nullptr && sock->conn != nullptr && sock->conn->current_msg != nullptr)
            return true;
    }
    return false;
}

} // namespace

LoadedProgram LoadedProgram::load(const std::string& named) {
    const std::chrono::seconds stall_limit = stall_limit_from_env(); // a bad value: exit 2 first
    const std::string path = build_for_this_device(named);
    // RTLD_NOW: a missing symbol is found here, before the run starts, not at the first call.
    // RTLD_LOCAL: the program's own symbols do not leak into lwIP's or each other's.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* dl = dlerror();
        throw std::invalid_argument(load_error(path, dl != nullptr ? dl : "unknown error"));
    }
    // Never dlclose'd: lwIP's threads may still run code the program registered.
    auto entry = reinterpret_cast<MainFn>(dlsym(handle, "lwipsim_program_main"));
    if (entry == nullptr) {
        throw std::invalid_argument("app.program " + path +
                                    " has no lwipsim_program_main (include lwipsim/program.h "
                                    "and define it with C linkage)");
    }
    return LoadedProgram(path, entry, stall_limit);
}

ProgramRun::ProgramRun(const LoadedProgram& program, const scenario::ProgramSettings& settings,
                       ProgramWorld world)
    : program_(program), settings_(settings), world_(std::move(world)), log_(world_.log_file) {
    g_run = this;
}

ProgramRun::~ProgramRun() {
    g_run = nullptr;
}

ProgramRun& ProgramRun::current() {
    if (g_run == nullptr) {
        std::fprintf(stderr, "lwipsim: a device program API call outside a program run\n");
        std::abort();
    }
    return *g_run;
}

void ProgramRun::spawn(const std::string& name, int priority, std::function<void()> body) {
    auto& s = clock::Scheduler::current();
    s.spawn(name, priority, [this, &s, body = std::move(body)] {
        threads_.push_back(s.self());
        if (watchdog_)
            watchdog_->watch(s.self());
        body();
    });
}

void ProgramRun::mark_deleted(const clock::SimThread* thread) {
    deleted_.insert(thread);
}

void ProgramRun::fail(const std::string& why) {
    if (!failure_)
        failure_ = why;
    world_.rec.event(clock::Scheduler::current().now().seconds(), "program_failure",
                     {{"reason", why}});
}

void ProgramRun::event(const char* name, const char* detail) {
    std::string n = name != nullptr ? name : "";
    if (!scenario::is_event_name(n)) {
        fail("lwipsim_event: invalid event name '" + n +
             "' (1..64 of letters, digits, '_', '.', '-')");
        return;
    }
    ++events_[n];
    // The detail is the program's bytes: kept as ASCII text ('?' for anything else), so every
    // JSON writer can take it.
    nlohmann::json text = nullptr;
    if (detail != nullptr) {
        std::string d(detail);
        for (char& c : d) {
            if (static_cast<unsigned char>(c) >= 0x80 || (c < 0x20 && c != '\t'))
                c = '?';
        }
        text = d;
    }
    world_.rec.event(clock::Scheduler::current().now().seconds(), "program_event",
                     {{"name", n}, {"detail", text}});
    if (world_.on_event)
        world_.on_event(n);
}

void ProgramRun::log_line(int level, const char* tag, const std::string& text) {
    static const char kLetters[] = "?EWIDV";
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "[%12.6f] ", clock::Scheduler::current().now().seconds());
    log_ << stamp << kLetters[(level >= 1 && level <= 5) ? level : 0] << " ("
         << (tag != nullptr ? tag : "") << ") " << text << '\n';
}

void* ProgramRun::allocate(size_t size) {
    void* p = heap::DeviceHeap::instance().allocate(heap::Subsystem::kApp, size);
    if (p != nullptr)
        blocks_[p] = size;
    return p;
}

void ProgramRun::release(void* ptr) {
    if (ptr == nullptr)
        return;
    auto it = blocks_.find(ptr);
    if (it == blocks_.end()) {
        fail("lwipsim_free / vPortFree of a pointer the program's device heap did not give "
             "(double free, or memory from malloc)");
        return;
    }
    blocks_.erase(it);
    heap::DeviceHeap::instance().release(ptr);
}

void ProgramRun::run_until(clock::SimTime end) {
    auto& s = clock::Scheduler::current();
    end_ = end;
    // The args live here until the run ends (threads may keep the pointer).
    std::vector<lwipsim_arg> items;
    for (const auto& [k, v] : settings_.args)
        items.push_back({k.c_str(), v.c_str()});
    lwipsim_args args{items.size(), items.data()};
    clock::Semaphore main_done(0, "device program's main returned");
    arm_crash_note(program_.path());
    watchdog_ = std::make_unique<StallWatchdog>(s, program_.path(), program_.stall_limit());
    world_.rec.event(s.now().seconds(), "program_start", {{"path", program_.path()}});
    spawn("program", 5, [&] {
        exit_code_ = program_.main()(&args);
        world_.rec.event(s.now().seconds(), "program_returned", {{"code", *exit_code_}});
        main_done.signal();
    });
    // The second wait lets whatever else is due at `end` itself run first.
    const bool returned = main_done.wait(end) || main_done.wait(end);
    if (s.now() < end)
        s.sleep_for(end - s.now()); // its threads run on until the end
    watchdog_.reset();
    disarm_crash_note();
    judge_end(returned);
}

// The run's verdict on the program: a non-zero return, a hang (every thread of the program
// waits with no deadline and lwIP owes none of them an answer: nothing in the simulation will
// ever wake it but the program itself),
// or device heap the program allocated and never freed after main returned.
void ProgramRun::judge_end(bool main_returned) {
    state_ = main_returned ? "returned" : "running_at_end";
    if (main_returned && *exit_code_ != 0)
        fail("the device program returned " + std::to_string(*exit_code_));
    std::vector<std::string> waits;
    bool all_forever = !main_returned;
    bool any_alive = false;
    for (const clock::SimThread* t : threads_) {
        if (clock::Scheduler::is_finished(t) || deleted_.contains(t))
            continue;
        any_alive = true;
        if (!clock::Scheduler::waits_forever(t))
            all_forever = false;
        waits.push_back("'" + clock::Scheduler::name_of(t) + "' on " +
                        clock::Scheduler::describe_wait(t));
    }
    if (all_forever && !waits.empty() && !lwip_call_in_progress()) {
        state_ = "hung";
        std::string list;
        for (const auto& w : waits)
            list += (list.empty() ? "" : ", ") + w;
        fail("the device program hung: at the run's end every thread of it waits with no "
             "deadline (" +
             list + ")");
    }
    // Memory a live task may still use is not a leak.
    if (main_returned && !any_alive && !blocks_.empty()) {
        size_t bytes = 0;
        for (const auto& [p, size] : blocks_)
            bytes += size;
        fail("the device program leaked " + std::to_string(bytes) + " bytes of device heap in " +
             std::to_string(blocks_.size()) + " blocks (allocated, never freed by the run's end)");
    }
}

nlohmann::json ProgramRun::summary() const {
    size_t live = 0;
    for (const auto& [p, size] : blocks_)
        live += size;
    nlohmann::json args = nlohmann::json::object();
    for (const auto& [k, v] : settings_.args)
        args[k] = v;
    return {{"path", program_.path()},
            {"args", args},
            {"state", state_},
            {"exit_code", exit_code_ ? nlohmann::json(*exit_code_) : nlohmann::json(nullptr)},
            {"failure", failure_ ? nlohmann::json(*failure_) : nlohmann::json(nullptr)},
            {"events", events_},
            {"threads", threads_.size()},
            {"heap_blocks_at_end", blocks_.size()},
            {"heap_bytes_at_end", live}};
}

} // namespace lwipsim::program
