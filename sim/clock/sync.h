#pragma once
// Blocking primitives for simulated threads, built on the Scheduler: what lwIP's sys_arch
// (semaphores, mailboxes, mutexes) and the device applications block on. Waiters are served
// in FIFO order, so wake-ups are deterministic. Call only from simulated threads (or, for the
// non-blocking operations, from scheduler events).

#include "sim/clock/scheduler.h"

#include <cstddef>
#include <deque>
#include <optional>
#include <string>

namespace lwipsim::clock {

class Semaphore {
  public:
    explicit Semaphore(unsigned initial, std::string name = "sem");
    void signal();
    /// Waits for a token; false when `deadline` passed first.
    bool wait(std::optional<SimTime> deadline = std::nullopt);
    [[nodiscard]] unsigned count() const { return count_; }

  private:
    unsigned count_;
    std::string name_;
    std::deque<SimThread*> waiters_;
};

class Mutex {
  public:
    explicit Mutex(std::string name = "mutex") : name_(std::move(name)) {}
    void lock();
    void unlock();

  private:
    SimThread* owner_ = nullptr;
    std::string name_;
    std::deque<SimThread*> waiters_;
};

/// A bounded queue of pointers (lwIP's sys_mbox_t).
class Mailbox {
  public:
    Mailbox(size_t capacity, std::string name = "mbox");
    void post(void* msg);     ///< blocks while full
    bool try_post(void* msg); ///< false when full; never blocks
    /// Takes the oldest message; false when `deadline` passed first.
    bool fetch(void** msg, std::optional<SimTime> deadline = std::nullopt);
    bool try_fetch(void** msg);
    [[nodiscard]] size_t size() const { return queue_.size(); }

  private:
    void wake_one(std::deque<SimThread*>& waiters);
    size_t capacity_;
    std::string name_;
    std::deque<void*> queue_;
    std::deque<SimThread*> readers_;
    std::deque<SimThread*> writers_;
};

} // namespace lwipsim::clock
