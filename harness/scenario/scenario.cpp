#include "harness/scenario/scenario.h"

#include <algorithm>
#include <cctype>

namespace lwipsim::scenario {

// Defaulted here: AppAction is defined after AppSettings in the header (it needs Trigger).
bool AppSettings::operator==(const AppSettings&) const = default;

bool applies_to(const Expectation& e, const Scenario& s) {
    if (e.variants.empty())
        return true;
    const std::string& run = s.applied_variant.empty() ? std::string("base") : s.applied_variant;
    return std::find(e.variants.begin(), e.variants.end(), run) != e.variants.end();
}

// These names are the YAML spelling; the loader matches input against them, so each enum's
// spelling lives only here.
const char* to_string(BrokerClock v) {
    switch (v) {
    case BrokerClock::kVirtual:
        return "virtual";
    case BrokerClock::kWall:
        return "wall";
    }
    return "?";
}

const char* to_string(TimeMode v) {
    switch (v) {
    case TimeMode::kVirtual:
        return "virtual";
    case TimeMode::kRealtime:
        return "realtime";
    }
    return "?";
}
const char* to_string(Profile v) {
    switch (v) {
    case Profile::kEspIdfV44:
        return "esp-idf-v4.4";
    case Profile::kUpstream213:
        return "upstream-2.1.3";
    }
    return "?";
}
const char* to_string(Abi v) {
    switch (v) {
    case Abi::kIlp32:
        return "ilp32";
    case Abi::kHost:
        return "host";
    }
    return "?";
}
const char* to_string(HeapAllocator v) {
    switch (v) {
    case HeapAllocator::kEspIdfV44:
        return "esp-idf-v4.4";
    case HeapAllocator::kNone:
        return "none";
    }
    return "?";
}
const char* to_string(HeapPoisoning v) {
    switch (v) {
    case HeapPoisoning::kNone:
        return "none";
    case HeapPoisoning::kLight:
        return "light";
    case HeapPoisoning::kComprehensive:
        return "comprehensive";
    }
    return "?";
}
const char* to_string(LinkKind v) {
    switch (v) {
    case LinkKind::kInMemory:
        return "inmemory";
    case LinkKind::kTap:
        return "tap";
    }
    return "?";
}
const char* to_string(BrokerMode v) {
    switch (v) {
    case BrokerMode::kManaged:
        return "managed";
    case BrokerMode::kExternal:
        return "external";
    }
    return "?";
}
const char* to_string(FaultType v) {
    switch (v) {
    case FaultType::kBlackhole:
        return "blackhole";
    case FaultType::kNatReset:
        return "nat_reset";
    case FaultType::kLoss:
        return "loss";
    case FaultType::kBurstLoss:
        return "burst_loss";
    case FaultType::kDelay:
        return "delay";
    case FaultType::kRate:
        return "rate";
    case FaultType::kReorder:
        return "reorder";
    case FaultType::kDuplicate:
        return "duplicate";
    case FaultType::kCorrupt:
        return "corrupt";
    case FaultType::kLinkDown:
        return "link_down";
    case FaultType::kReset:
        return "reset";
    case FaultType::kBrokerStop:
        return "broker_stop";
    case FaultType::kBrokerRestart:
        return "broker_restart";
    case FaultType::kBrokerPause:
        return "broker_pause";
    }
    return "?";
}
bool is_broker_fault(FaultType t) {
    return t == FaultType::kBrokerStop || t == FaultType::kBrokerRestart ||
           t == FaultType::kBrokerPause;
}
bool is_instantaneous(FaultType t) {
    return t == FaultType::kReset || t == FaultType::kBrokerRestart;
}
const char* to_string(Direction v) {
    switch (v) {
    case Direction::kUp:
        return "up";
    case Direction::kDown:
        return "down";
    case Direction::kBoth:
        return "both";
    }
    return "?";
}
const char* to_string(TriggerEvent v) {
    switch (v) {
    case TriggerEvent::kMqttConnected:
        return "mqtt_connected";
    case TriggerEvent::kTlsHandshake:
        return "tls_handshake";
    case TriggerEvent::kAppClose:
        return "app_close";
    case TriggerEvent::kNthPacket:
        return "nth_packet";
    case TriggerEvent::kProgramEvent:
        return "program_event";
    }
    return "?";
}

bool is_event_name(std::string_view name) {
    if (name.empty() || name.size() > 64)
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    });
}
const char* to_string(ActionKind v) {
    switch (v) {
    case ActionKind::kStop:
        return "stop";
    case ActionKind::kStart:
        return "start";
    case ActionKind::kReconnect:
        return "reconnect";
    case ActionKind::kDrop:
        return "drop";
    case ActionKind::kPublish:
        return "publish";
    case ActionKind::kSubscribe:
        return "subscribe";
    case ActionKind::kUnsubscribe:
        return "unsubscribe";
    }
    return "?";
}
const char* to_string(CompareOp v) {
    switch (v) {
    case CompareOp::kLess:
        return "<";
    case CompareOp::kLessEqual:
        return "<=";
    case CompareOp::kEqual:
        return "==";
    case CompareOp::kGreaterEqual:
        return ">=";
    case CompareOp::kGreater:
        return ">";
    case CompareOp::kNotEqual:
        return "!=";
    }
    return "?";
}

} // namespace lwipsim::scenario
