#include "sim/clock/sync.h"

#include <algorithm>

namespace lwipsim::clock {

namespace {
// Removes a waiter that timed out (it may already have been skipped by a waker).
void forget(std::deque<SimThread*>& waiters, SimThread* t) {
    auto it = std::find(waiters.begin(), waiters.end(), t);
    if (it != waiters.end())
        waiters.erase(it);
}

// Pops the first waiter that is still blocked; timed-out ones are runnable already.
SimThread* pop_blocked(std::deque<SimThread*>& waiters) {
    while (!waiters.empty()) {
        SimThread* t = waiters.front();
        waiters.pop_front();
        if (Scheduler::is_blocked(t))
            return t;
    }
    return nullptr;
}
} // namespace

Semaphore::Semaphore(unsigned initial, std::string name)
    : count_(initial), name_(std::move(name)) {}

void Semaphore::signal() {
    // The token goes straight to the first waiter, so a later wait() cannot steal it.
    if (SimThread* t = pop_blocked(waiters_)) {
        Scheduler::current().wake(t);
        return;
    }
    ++count_;
}

bool Semaphore::wait(std::optional<SimTime> deadline) {
    if (count_ > 0) {
        --count_;
        return true;
    }
    auto& s = Scheduler::current();
    SimThread* me = s.self();
    waiters_.push_back(me);
    bool woken = s.block(WaitReason{"semaphore", &name_, this}, deadline);
    if (!woken)
        forget(waiters_, me);
    return woken;
}

void Mutex::lock() {
    auto& s = Scheduler::current();
    SimThread* me = s.self();
    if (owner_ == nullptr) {
        owner_ = me;
        return;
    }
    waiters_.push_back(me);
    s.block(WaitReason{"mutex", &name_, this}, std::nullopt);
    // unlock() handed ownership to us before waking us.
}

void Mutex::unlock() {
    owner_ = pop_blocked(waiters_);
    if (owner_ != nullptr)
        Scheduler::current().wake(owner_);
}

Mailbox::Mailbox(size_t capacity, std::string name)
    : capacity_(capacity == 0 ? 1 : capacity), name_(std::move(name)) {}

void Mailbox::wake_one(std::deque<SimThread*>& waiters) {
    if (SimThread* t = pop_blocked(waiters))
        Scheduler::current().wake(t);
}

void Mailbox::post(void* msg) {
    auto& s = Scheduler::current();
    while (queue_.size() >= capacity_) {
        writers_.push_back(s.self());
        s.block(WaitReason{"full mailbox", &name_, this}, std::nullopt);
    }
    queue_.push_back(msg);
    wake_one(readers_);
}

bool Mailbox::try_post(void* msg) {
    if (queue_.size() >= capacity_)
        return false;
    queue_.push_back(msg);
    wake_one(readers_);
    return true;
}

bool Mailbox::fetch(void** msg, std::optional<SimTime> deadline) {
    auto& s = Scheduler::current();
    while (queue_.empty()) {
        SimThread* me = s.self();
        readers_.push_back(me);
        if (!s.block(WaitReason{"mailbox fetch", &name_, this}, deadline)) {
            forget(readers_, me);
            return false;
        }
    }
    *msg = queue_.front();
    queue_.pop_front();
    wake_one(writers_);
    return true;
}

bool Mailbox::try_fetch(void** msg) {
    if (queue_.empty())
        return false;
    *msg = queue_.front();
    queue_.pop_front();
    wake_one(writers_);
    return true;
}

} // namespace lwipsim::clock
