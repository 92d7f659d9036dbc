#pragma once
// What the link did to a frame besides passing it on: every drop, alteration, delay and
// injection is reported here. The measurement code turns these into events.jsonl lines.

#include "sim/clock/sim_time.h"
#include "sim/link/frame.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lwipsim::link {

enum class AuditAction {
    kDropped,
    kCorrupted,
    kDuplicated,
    kDelayed,
    kInjected,
};

/// "dropped", "corrupted", "duplicated", "delayed", "injected".
[[nodiscard]] constexpr std::string_view to_string(AuditAction action) {
    switch (action) {
    case AuditAction::kDropped:
        return "dropped";
    case AuditAction::kCorrupted:
        return "corrupted";
    case AuditAction::kDuplicated:
        return "duplicated";
    case AuditAction::kDelayed:
        return "delayed";
    case AuditAction::kInjected:
        return "injected";
    }
    return "unknown";
}

/// One thing that happened to one frame. The string views are valid only during
/// AuditLog::record(); a log that keeps events copies them (see MemoryAuditLog).
struct AuditEvent {
    uint64_t frame_id = 0;
    clock::SimTime at{};
    std::string_view piece; ///< the fault's name, or "wire_up"/"wire_down" for the LinkModels
    AuditAction action = AuditAction::kDropped;
    std::string_view reason; ///< short machine-friendly cause, e.g. "queue_full", "loss"
    Direction direction = Direction::kUp;
};

/// Receives audit events; called on the simulation thread, synchronously, in event order.
class AuditLog {
  public:
    virtual ~AuditLog() = default;
    virtual void record(const AuditEvent& event) = 0;
};

/// Discards everything (benchmarks, callers that do not measure).
class NullAuditLog final : public AuditLog {
  public:
    void record(const AuditEvent& /*event*/) override {}
};

/// Keeps owned copies of every event, in order (tests, small runs).
class MemoryAuditLog final : public AuditLog {
  public:
    struct Entry {
        uint64_t frame_id;
        clock::SimTime at;
        std::string piece;
        AuditAction action;
        std::string reason;
        Direction direction;
    };
    void record(const AuditEvent& e) override {
        entries_.push_back(Entry{e.frame_id, e.at, std::string(e.piece), e.action,
                                 std::string(e.reason), e.direction});
    }
    [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }
    void clear() { entries_.clear(); }

  private:
    std::vector<Entry> entries_;
};

} // namespace lwipsim::link
