#include "harness/runner/broker_side.h"

#include <cstdio>

namespace lwipsim::runner {
namespace {

double now_s() {
    return clock::Scheduler::current().now().seconds();
}

// A payload as JSON text when it is text; otherwise hex (JSON strings must be UTF-8).
void put_payload(nlohmann::json& event, const std::vector<uint8_t>& payload) {
    const std::string text(payload.begin(), payload.end());
    if (device::is_valid_mqtt_utf8(text)) {
        event["payload"] = text;
        return;
    }
    std::string hex;
    for (uint8_t b : payload) {
        char two[3];
        std::snprintf(two, sizeof two, "%02x", b);
        hex += two;
    }
    event["payload_hex"] = hex;
}

} // namespace

BrokerSide::BrokerSide(Recorder& rec, BrokerSideOptions options)
    : rec_(rec), options_(std::move(options)),
      tail_(
          options_.log, [this](std::string_view line) { on_line(line); }, options_.peer) {}

BrokerSide::~BrokerSide() = default;

void BrokerSide::on_line(std::string_view line) {
    const auto e = broker::parse_broker_log_line(line);
    if (!e)
        return;
    counts_.add(*e);
    // On the wall clock a line's time would be when the worker happened to read it, which
    // depends on the host's speed: counted, not put on the run's time line.
    if (options_.peer == nullptr)
        return;
    if (e->connected) {
        rec_.event(now_s(), "broker_client_connected",
                   {{"client", e->client}, {"detail", e->detail}});
    } else {
        rec_.event(now_s(), "broker_client_disconnected",
                   {{"client", e->client}, {"reason", e->reason}, {"detail", e->detail}});
    }
}

void BrokerSide::attach(clock::Scheduler& sched) {
    sched.add_host_io(&tail_);
    if (!options_.plain_port)
        return;
    counts_.ignored_client = BrokerObserver::kClientId;
    observer_ = std::make_unique<BrokerObserver>(
        *options_.plain_port, options_.observe_topic, options_.peer,
        [this](const device::Publish& p) {
            ++observed_;
            nlohmann::json event = {{"topic", p.topic},
                                    {"size", p.payload.size()},
                                    {"qos", p.qos},
                                    {"retain", p.retain}};
            put_payload(event, p.payload);
            rec_.event(now_s(), "observer_message", std::move(event));
        },
        [this](const std::string& what) {
            if (options_.warn)
                options_.warn(what);
        });
    sched.add_host_io(observer_.get());
    observer_->start();
}

void BrokerSide::detach(clock::Scheduler& sched) {
    sched.remove_host_io(&tail_);
    if (observer_)
        sched.remove_host_io(observer_.get());
}

nlohmann::json BrokerSide::summary_json() const {
    return {{"connects", counts_.connects},
            {"disconnects", counts_.disconnects},
            {"clients_expired", counts_.clients_expired},
            {"observer_topic",
             observer_ ? nlohmann::json(options_.observe_topic) : nlohmann::json(nullptr)},
            {"observer_messages", observer_ ? nlohmann::json(observed_) : nlohmann::json(nullptr)}};
}

nlohmann::json BrokerSide::unmeasured_json() {
    return {{"connects", nullptr},
            {"disconnects", nullptr},
            {"clients_expired", nullptr},
            {"observer_topic", nullptr},
            {"observer_messages", nullptr}};
}

} // namespace lwipsim::runner
