#include "harness/runner/app_actions.h"

#include "sim/clock/scheduler.h"

#include <algorithm>

namespace lwipsim::runner {

using clock::Scheduler;
using clock::SimTime;
using device::RunResult;
using device::StopReason;
using scenario::ActionKind;

namespace {
SimTime now() {
    return Scheduler::current().now();
}
} // namespace

AppActions::AppActions(const scenario::Scenario& sc, const DeviceAddresses& names, Recorder& rec)
    : sc_(sc), rec_(rec), end_(sc.duration), bursts_(sc.app.actions.size()) {
    for (size_t i = 0; i < sc.app.actions.size(); ++i) {
        const auto& a = sc.app.actions[i];
        if (const auto* at = std::get_if<clock::SimDuration>(&a.start)) {
            add(Step{SimTime{*at}, i, SimTime{*at}});
            continue;
        }
        const auto& t = std::get<scenario::Trigger>(a.start);
        armed_.push_back(Armed{i, TriggerCounter(t, names)});
        packet_triggers_ = packet_triggers_ || t.event == scenario::TriggerEvent::kNthPacket;
    }
}

void AppActions::on_event(scenario::TriggerEvent event) {
    for (auto& a : armed_) {
        if (a.counter.on_event(event))
            fire(a);
    }
}

void AppActions::on_frame(const link::PacketInfo& frame) {
    if (!packet_triggers_)
        return;
    for (auto& a : armed_) {
        if (a.counter.on_frame(frame))
            fire(a);
    }
}

void AppActions::fire(Armed& a) {
    const SimTime at = now() + a.counter.trigger().delay;
    rec_.event(now().seconds(), "app_action_triggered",
               {{"action", sc_.app.actions[a.action].name},
                {"trigger", scenario::to_string(a.counter.trigger().event)},
                {"due_at_s", at.seconds()}});
    add(Step{at, a.action, at});
    // The application may be waiting between connections: it looks at the new time.
    woken_.signal();
}

void AppActions::add(Step step) {
    if (step.at >= end_)
        return;
    auto it = std::upper_bound(due_.begin(), due_.end(), step.at,
                               [](SimTime t, const Step& s) { return t < s.at; });
    due_.insert(it, step);
}

std::optional<SimTime> AppActions::next_due() const {
    if (due_.empty())
        return std::nullopt;
    return due_.front().at;
}

std::optional<AppActions::Step> AppActions::take_due() {
    if (due_.empty() || due_.front().at > now())
        return std::nullopt;
    Step s = due_.front();
    due_.erase(due_.begin());
    schedule_after(s);
    return s;
}

// The burst's next message, or the action's next occurrence (`every`, start to start).
void AppActions::schedule_after(const Step& done) {
    const auto& a = sc_.app.actions[done.action];
    if (a.kind == ActionKind::kPublish && done.message + 1 < a.count) {
        const uint64_t next = done.message + 1;
        add(Step{done.occurrence + a.interval * static_cast<int64_t>(next), done.action,
                 done.occurrence, next});
        return;
    }
    if (a.every)
        add(Step{done.occurrence + *a.every, done.action, done.occurrence + *a.every});
}

void AppActions::record(const Step& step, const char* result, const std::string& detail) {
    const auto& a = sc_.app.actions[step.action];
    nlohmann::json fields = {{"action", a.name},
                             {"do", scenario::to_string(a.kind)},
                             {"result", result},
                             {"due_at_s", step.at.seconds()}};
    if (!detail.empty())
        fields["detail"] = detail;
    if (a.kind == ActionKind::kPublish) {
        fields["count"] = a.count;
        fields["size"] = a.size;
        fields["qos"] = a.qos;
        fields["interval_s"] = std::chrono::duration<double>(a.interval).count();
    }
    if (!a.topic.empty())
        fields["topic"] = a.topic;
    rec_.event(now().seconds(), "app_action", std::move(fields));
}

std::optional<RunResult> AppActions::run_step(const Step& step, device::MqttSession* session) {
    const auto& a = sc_.app.actions[step.action];
    const bool connected = session != nullptr;
    const std::string name = "app action '" + a.name + "'";
    switch (a.kind) {
    case ActionKind::kStop: {
        stopped_ = true;
        if (!connected) {
            record(step, "done", "the client was not connected: nothing to disconnect");
            return std::nullopt;
        }
        const device::IoResult w = session->disconnect();
        record(step, "done",
               w.status == device::IoStatus::kOk ? "DISCONNECT sent" : "DISCONNECT not written");
        return RunResult{StopReason::kAppStop, now(), name + ": stop"};
    }
    case ActionKind::kStart:
        if (!stopped_) {
            record(step, "ignored", "the client is running (esp_mqtt_client_start fails)");
            return std::nullopt;
        }
        stopped_ = false;
        connect_now_ = true;
        record(step, "done");
        return std::nullopt;
    case ActionKind::kReconnect:
        if (connected || stopped_) {
            record(step, "ignored",
                   "the client is not waiting to reconnect (esp_mqtt_client_reconnect fails)");
            return std::nullopt;
        }
        connect_now_ = true;
        record(step, "done");
        return std::nullopt;
    case ActionKind::kDrop:
        if (!connected) {
            record(step, "ignored", "no connection to drop");
            return std::nullopt;
        }
        record(step, "done");
        return RunResult{StopReason::kAppDrop, now(), name + ": drop (closed without DISCONNECT)"};
    case ActionKind::kPublish: {
        Burst& b = bursts_[step.action];
        if (step.message == 0) {
            b = Burst{};
            record(step, connected ? "started" : "started while not connected");
        }
        std::optional<RunResult> r;
        if (connected)
            r = session->publish(a.topic, static_cast<size_t>(a.size), static_cast<uint8_t>(a.qos));
        if (!connected || r)
            ++b.skipped; // the rest of a burst whose session ended are skipped likewise
        else
            ++b.published;
        if (r && b.cut_by.empty())
            b.cut_by = r->detail;
        if (step.message + 1 == a.count) {
            rec_.event(now().seconds(), "app_action_done",
                       {{"action", a.name},
                        {"published", b.published},
                        {"skipped", b.skipped},
                        {"cut_by",
                         b.cut_by.empty() ? nlohmann::json(nullptr) : nlohmann::json(b.cut_by)}});
        }
        return r;
    }
    case ActionKind::kSubscribe:
    case ActionKind::kUnsubscribe: {
        if (!connected) {
            record(step, "ignored", "the client is not connected");
            return std::nullopt;
        }
        record(step, "done");
        if (a.kind == ActionKind::kSubscribe)
            return session->subscribe(a.topic, static_cast<uint8_t>(a.qos));
        return session->unsubscribe(a.topic);
    }
    }
    return std::nullopt;
}

RunResult AppActions::run_session(device::MqttSession& session, SimTime end) {
    session.set_wake([this] { return next_due(); });
    for (;;) {
        RunResult r = session.run_until(end);
        if (r.reason != StopReason::kActionDue) {
            session.set_wake({});
            return r;
        }
        while (auto step = take_due()) {
            if (auto ended = run_step(*step, &session)) {
                session.set_wake({});
                return *ended;
            }
        }
    }
}

void AppActions::wait(SimTime until, SimTime end) {
    connect_now_ = false;
    for (;;) {
        while (auto step = take_due())
            run_step(*step, nullptr);
        const SimTime limit = std::min(stopped_ ? end : until, end);
        if (connect_now_ || now() >= limit)
            return;
        SimTime wake = limit;
        if (auto d = next_due())
            wake = std::min(wake, *d);
        woken_.wait(wake);
    }
}

} // namespace lwipsim::runner
