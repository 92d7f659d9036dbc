#include "harness/runner/fault_triggers.h"

#include "sim/clock/scheduler.h"
#include "sim/link/link_builder.h"
#include "sim/link/packet.h"

#include <arpa/inet.h>

#include <stdexcept>

namespace lwipsim::runner {

namespace {
std::optional<uint32_t> address(const std::string& text, const DeviceAddresses& names) {
    if (text.empty())
        return std::nullopt;
    if (text == "device")
        return names.device;
    if (text == "broker")
        return names.broker;
    in_addr a{};
    if (inet_pton(AF_INET, text.c_str(), &a) != 1) {
        throw std::invalid_argument("not an IPv4 address: '" + text + "'");
    }
    return ntohl(a.s_addr);
}
} // namespace

link::FlowFilter to_flow_filter(const scenario::PacketFilter& f, const DeviceAddresses& names) {
    link::FlowFilter out;
    out.src_ip = address(f.src, names);
    out.dst_ip = address(f.dst, names);
    if (f.sport)
        out.src_port = *f.sport;
    if (f.dport)
        out.dst_port = *f.dport;
    // The link's flow filter selects IPv4 only; quietly dropping "arp" would match everything.
    if (f.proto == "arp")
        throw std::invalid_argument("filter proto 'arp': link filters select IPv4 traffic only");
    if (!f.proto.empty())
        out.protocol = link::parse_protocol(f.proto);
    return out;
}

bool TriggerCounter::on_event(scenario::TriggerEvent event, std::string_view name) {
    if (done_ || trigger_.event != event ||
        (event == scenario::TriggerEvent::kProgramEvent && trigger_.name != name) ||
        ++seen_ != trigger_.count)
        return false;
    done_ = true;
    return true;
}

bool TriggerCounter::on_frame(const link::PacketInfo& frame) {
    if (done_ || !counts_packets() || !filter_.matches(frame) || ++seen_ != trigger_.count)
        return false;
    done_ = true;
    return true;
}

FaultTriggers::FaultTriggers(const scenario::Scenario& sc, const DeviceAddresses& names,
                             Recorder& rec)
    : sc_(sc), rec_(rec) {
    size_t link_index = 0;
    for (size_t i = 0; i < sc.faults.size(); ++i) {
        const bool broker = scenario::is_broker_fault(sc.faults[i].type);
        const auto* t = std::get_if<scenario::Trigger>(&sc.faults[i].start);
        if (t != nullptr)
            pending_.push_back(Pending{i, link_index, TriggerCounter(*t, names)});
        if (!broker)
            ++link_index;
        if (t == nullptr)
            continue;
        packet_triggers_ = packet_triggers_ || t->event == scenario::TriggerEvent::kNthPacket;
    }
}

void FaultTriggers::on_event(scenario::TriggerEvent event) {
    for (TriggerListener* l : listeners_)
        l->on_event(event);
    for (auto& p : pending_) {
        if (p.counter.on_event(event))
            fire(p);
    }
}

void FaultTriggers::on_program_event(std::string_view name) {
    for (auto& p : pending_) {
        if (p.counter.on_event(scenario::TriggerEvent::kProgramEvent, name))
            fire(p);
    }
}

void FaultTriggers::on_frame(const link::PacketInfo& info) {
    for (TriggerListener* l : listeners_)
        l->on_frame(info);
    if (!packet_triggers_)
        return;
    for (auto& p : pending_) {
        if (p.counter.on_frame(info))
            fire(p);
    }
}

void FaultTriggers::fire(Pending& p) {
    auto& s = clock::Scheduler::current();
    clock::SimTime start = s.now() + p.counter.trigger().delay;
    const auto& f = sc_.faults[p.index];
    if (scenario::is_broker_fault(f.type))
        broker_(p.index, start);
    else
        link_->faults()[p.link_index]->trigger(start);
    rec_.event(s.now().seconds(), "fault_triggered",
               {{"fault", f.name}, {"starts_at_s", start.seconds()}});
    nlohmann::json windows = nlohmann::json::array();
    clock::SimTime end{sc_.duration};
    for (clock::SimTime w = start; w < end; w = w + *f.every) {
        // Only a reset has no duration (the loader requires `for` of every other type): it
        // happens at an instant, it is not active until the run ends.
        clock::SimTime w_end = f.duration ? std::min(w + *f.duration, end) : w;
        windows.push_back({w.seconds(), w_end.seconds()});
        rec_.event(w.seconds(), "fault_start", {{"fault", f.name}});
        rec_.event(w_end.seconds(), "fault_end", {{"fault", f.name}});
        if (!f.every)
            break;
    }
    fired_.push_back({{"name", f.name},
                      {"type", scenario::to_string(f.type)},
                      {"windows", windows},
                      {"trigger", scenario::to_string(p.counter.trigger().event)}});
}

} // namespace lwipsim::runner
