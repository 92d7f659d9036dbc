// lwIP's sys_arch on lwipsim's simulated threads and virtual time. Every lwIP semaphore,
// mutex, mailbox and thread is a sim/clock primitive, so lwIP's tcpip thread and the device
// applications are scheduled deterministically and time jumps when all of them wait.
#include "sim/clock/scheduler.h"
#include "sim/clock/sync.h"
#include "sim/port/lwip/tcpip_hooks.h"

#include <cstdarg>
#include <cstdio>
#include <random>
#include <string>

extern "C" {
#include "lwip/err.h"
#include "lwip/sys.h"
}

using lwipsim::clock::Mailbox;
using lwipsim::clock::Mutex;
using lwipsim::clock::Scheduler;
using lwipsim::clock::Semaphore;
using lwipsim::clock::SimTime;

extern "C" {
// lwIP 2.1.3's own defaults; the device setup applies the profile and the scenario.
uint32_t lwipsim_tcp_maxrtx = 12;
uint32_t lwipsim_tcp_synmaxrtx = 6;
uint32_t lwipsim_tcp_rto_initial_ms = 3000;
uint32_t lwipsim_tcp_msl_ms = 60000;
uint32_t lwipsim_tcp_fin_wait_timeout_ms = 20000;
int lwipsim_so_linger_available = 1;
uint32_t lwipsim_tcp_pcb_cap = 0;
}

namespace {
std::function<void()> g_step_hook;
lwipsim::clock::SimThread* g_tcpip_thread = nullptr;
std::mt19937_64 g_rand(0);

std::optional<SimTime> deadline_after_ms(u32_t timeout_ms) {
    if (timeout_ms == 0)
        return std::nullopt; // lwIP: 0 means wait forever
    auto& s = Scheduler::current();
    return s.now() + std::chrono::milliseconds(timeout_ms);
}

u32_t elapsed_ms(SimTime since) {
    auto d = Scheduler::current().now() - since;
    return static_cast<u32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}
} // namespace

namespace lwipsim::port {
void set_tcpip_step_hook(std::function<void()> hook) {
    g_step_hook = std::move(hook);
}
} // namespace lwipsim::port

extern "C" {

uint32_t lwipsim_rand(void) {
    return static_cast<uint32_t>(g_rand());
}
void lwipsim_rand_seed(uint64_t seed) {
    g_rand.seed(seed);
}

void lwipsim_platform_diag(const char* fmt, ...) {
    std::fprintf(stderr, "[%12.6f] lwip: ", Scheduler::current().now().seconds());
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
}

void lwipsim_platform_assert(const char* msg, const char* file, int line) {
    std::fprintf(stderr, "lwipsim: lwIP assertion \"%s\" failed at %s:%d\n", msg, file, line);
    std::abort();
}

void sys_init(void) {}

u32_t sys_now(void) {
    return Scheduler::current().now_ms32();
}
u32_t sys_jiffies(void) {
    return sys_now();
}

sys_prot_t sys_arch_protect(void) {
    return 0;
}
void sys_arch_unprotect(sys_prot_t) {}

err_t sys_sem_new(sys_sem_t* sem, u8_t count) {
    *sem = new Semaphore(count, "lwip sem");
    return ERR_OK;
}
void sys_sem_free(sys_sem_t* sem) {
    delete static_cast<Semaphore*>(*sem);
    *sem = nullptr;
}
void sys_sem_signal(sys_sem_t* sem) {
    static_cast<Semaphore*>(*sem)->signal();
}
u32_t sys_arch_sem_wait(sys_sem_t* sem, u32_t timeout) {
    SimTime start = Scheduler::current().now();
    if (!static_cast<Semaphore*>(*sem)->wait(deadline_after_ms(timeout)))
        return SYS_ARCH_TIMEOUT;
    return elapsed_ms(start);
}

err_t sys_mutex_new(sys_mutex_t* mutex) {
    *mutex = new Mutex("lwip mutex");
    return ERR_OK;
}
void sys_mutex_free(sys_mutex_t* mutex) {
    delete static_cast<Mutex*>(*mutex);
    *mutex = nullptr;
}
void sys_mutex_lock(sys_mutex_t* mutex) {
    static_cast<Mutex*>(*mutex)->lock();
}
void sys_mutex_unlock(sys_mutex_t* mutex) {
    static_cast<Mutex*>(*mutex)->unlock();
}

err_t sys_mbox_new(sys_mbox_t* mbox, int size) {
    *mbox = new Mailbox(static_cast<size_t>(size > 0 ? size : 1), "lwip mbox");
    return ERR_OK;
}
void sys_mbox_free(sys_mbox_t* mbox) {
    delete static_cast<Mailbox*>(*mbox);
    *mbox = nullptr;
}
void sys_mbox_post(sys_mbox_t* mbox, void* msg) {
    static_cast<Mailbox*>(*mbox)->post(msg);
}
err_t sys_mbox_trypost(sys_mbox_t* mbox, void* msg) {
    return static_cast<Mailbox*>(*mbox)->try_post(msg) ? ERR_OK : ERR_MEM;
}
err_t sys_mbox_trypost_fromisr(sys_mbox_t* mbox, void* msg) {
    return sys_mbox_trypost(mbox, msg);
}

u32_t sys_arch_mbox_fetch(sys_mbox_t* mbox, void** msg, u32_t timeout) {
    auto& s = Scheduler::current();
    // The tcpip thread fetching its mailbox has finished a step: let probes look.
    if (g_step_hook && s.self() == g_tcpip_thread)
        g_step_hook();
    SimTime start = s.now();
    void* dummy = nullptr;
    if (!static_cast<Mailbox*>(*mbox)->fetch(msg != nullptr ? msg : &dummy,
                                             deadline_after_ms(timeout))) {
        return SYS_ARCH_TIMEOUT;
    }
    return elapsed_ms(start);
}
u32_t sys_arch_mbox_tryfetch(sys_mbox_t* mbox, void** msg) {
    void* dummy = nullptr;
    return static_cast<Mailbox*>(*mbox)->try_fetch(msg != nullptr ? msg : &dummy) ? 0
                                                                                  : SYS_MBOX_EMPTY;
}

sys_thread_t sys_thread_new(const char* name, lwip_thread_fn thread, void* arg, int, int prio) {
    auto& s = Scheduler::current();
    std::string thread_name = name != nullptr ? name : "lwip";
    bool is_tcpip = thread_name == TCPIP_THREAD_NAME;
    s.spawn(thread_name, prio, [thread, arg, is_tcpip, &s] {
        if (is_tcpip)
            g_tcpip_thread = s.self();
        thread(arg);
    });
    return nullptr;
}

} // extern "C"
