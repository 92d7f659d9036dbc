#pragma once

#include <sys/types.h>

namespace lwipsim::host {

// Process-wide list of child pids (brokers, tools, CLI workers) this process started and has not
// yet reaped. A SIGINT/SIGTERM handler kills them so an interrupted run leaves nothing behind;
// PR_SET_PDEATHSIG in the child covers SIGKILL of this process, which no handler sees.
//
// All functions are thread-safe; the handler side is async-signal-safe (lock-free atomics).
// A pid must be unregistered before it is reaped, so the handler never signals a reused pid.

// Record a started child. Returns false when the fixed-size table is full (the child is then
// still covered by PDEATHSIG, just not by the signal handler).
bool register_child(pid_t pid) noexcept;

// Forget a child; call after it has exited but before waitpid() reaps it.
void unregister_child(pid_t pid) noexcept;

// Number of registered children (for tests and diagnostics).
int registered_child_count() noexcept;

// Install SIGINT and SIGTERM handlers that SIGKILL every registered child, restore the previous
// disposition and re-raise the signal. Idempotent; call once early in main().
void install_cleanup_handlers();

} // namespace lwipsim::host
