#include "harness/scenario/serialize.h"

#include "harness/scenario/units.h"

#include <yaml-cpp/yaml.h>

#include <charconv>

namespace lwipsim::scenario {
namespace {

double seconds(SimDuration d) {
    return std::chrono::duration<double>(d).count();
}

// Shortest text that reads back to the same double, in fixed notation because the loader
// accepts no exponents.
std::string exact(double v) {
    char buf[400];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    return std::string(buf, r.ptr);
}

nlohmann::json filter_json(const PacketFilter& f) {
    nlohmann::json j = nlohmann::json::object();
    if (!f.src.empty())
        j["src"] = f.src;
    if (!f.dst.empty())
        j["dst"] = f.dst;
    if (f.sport)
        j["sport"] = *f.sport;
    if (f.dport)
        j["dport"] = *f.dport;
    if (!f.proto.empty())
        j["proto"] = f.proto;
    return j;
}

// One visitor for both writers: each parameter as (key, json number, yaml text).
template <typename Fn> void each_param(const FaultParams& p, Fn&& fn) {
    if (auto* n = std::get_if<NatResetParams>(&p)) {
        fn("rst_stale_flows", nlohmann::json(n->rst_stale_flows),
           std::string(n->rst_stale_flows ? "true" : "false"));
    } else if (auto* l = std::get_if<LossParams>(&p)) {
        fn("rate", nlohmann::json(l->rate), exact(l->rate));
    } else if (auto* b = std::get_if<BurstLossParams>(&p)) {
        fn("p", nlohmann::json(b->p), exact(b->p));
        fn("r", nlohmann::json(b->r), exact(b->r));
        fn("loss_good", nlohmann::json(b->loss_good), exact(b->loss_good));
        fn("loss_bad", nlohmann::json(b->loss_bad), exact(b->loss_bad));
    } else if (auto* d = std::get_if<DelayParams>(&p)) {
        fn("delay", nlohmann::json(seconds(d->delay)), format_duration(d->delay));
        fn("jitter", nlohmann::json(seconds(d->jitter)), format_duration(d->jitter));
    } else if (auto* r = std::get_if<RateParams>(&p)) {
        fn("rate", nlohmann::json(r->rate), format_rate(r->rate));
    } else if (auto* o = std::get_if<ReorderParams>(&p)) {
        fn("probability", nlohmann::json(o->probability), exact(o->probability));
        fn("delay", nlohmann::json(seconds(o->delay)), format_duration(o->delay));
    } else if (auto* u = std::get_if<DuplicateParams>(&p)) {
        fn("probability", nlohmann::json(u->probability), exact(u->probability));
    } else if (auto* c = std::get_if<CorruptParams>(&p)) {
        fn("probability", nlohmann::json(c->probability), exact(c->probability));
    } else if (auto* stop = std::get_if<BrokerStopParams>(&p)) {
        const char* signal = stop->kill ? "kill" : "term";
        fn("signal", nlohmann::json(signal), std::string(signal));
    }
}

void emit_filter(YAML::Emitter& out, const PacketFilter& f) {
    out << YAML::BeginMap;
    if (!f.src.empty())
        out << YAML::Key << "src" << YAML::Value << f.src;
    if (!f.dst.empty())
        out << YAML::Key << "dst" << YAML::Value << f.dst;
    if (f.sport)
        out << YAML::Key << "sport" << YAML::Value << *f.sport;
    if (f.dport)
        out << YAML::Key << "dport" << YAML::Value << *f.dport;
    if (!f.proto.empty())
        out << YAML::Key << "proto" << YAML::Value << f.proto;
    out << YAML::EndMap;
}

template <typename T> void kv(YAML::Emitter& out, const char* key, const T& value) {
    out << YAML::Key << key << YAML::Value << value;
}

// The start of a fault or an app action: `at` or `trigger`.
void start_json(nlohmann::json& j, const std::variant<SimDuration, Trigger>& start) {
    if (auto* at = std::get_if<SimDuration>(&start)) {
        j["at"] = seconds(*at);
    } else {
        const Trigger& t = std::get<Trigger>(start);
        j["trigger"] = {{"event", to_string(t.event)},
                        {"count", t.count},
                        {"filter", filter_json(t.filter)},
                        {"delay", seconds(t.delay)}};
        if (t.event == TriggerEvent::kProgramEvent)
            j["trigger"]["name"] = t.name;
    }
}

void emit_start(YAML::Emitter& out, const std::variant<SimDuration, Trigger>& start) {
    if (auto* at = std::get_if<SimDuration>(&start)) {
        kv(out, "at", format_duration(*at));
        return;
    }
    const Trigger& t = std::get<Trigger>(start);
    out << YAML::Key << "trigger" << YAML::Value << YAML::BeginMap;
    kv(out, "event", to_string(t.event));
    kv(out, "count", t.count);
    if (t.event == TriggerEvent::kNthPacket) {
        out << YAML::Key << "filter" << YAML::Value;
        emit_filter(out, t.filter);
    }
    kv(out, "delay", format_duration(t.delay));
    if (t.event == TriggerEvent::kProgramEvent)
        kv(out, "name", t.name);
    out << YAML::EndMap;
}

bool takes_topic(ActionKind k) {
    return k == ActionKind::kPublish || k == ActionKind::kSubscribe ||
           k == ActionKind::kUnsubscribe;
}

nlohmann::json actions_json(const std::vector<AppAction>& actions) {
    nlohmann::json out = nlohmann::json::array();
    for (const AppAction& a : actions) {
        nlohmann::json j = {
            {"do", to_string(a.kind)},
            {"name", a.name},
            {"every", a.every ? nlohmann::json(seconds(*a.every)) : nlohmann::json()}};
        start_json(j, a.start);
        if (takes_topic(a.kind))
            j["topic"] = a.topic;
        if (a.kind == ActionKind::kPublish || a.kind == ActionKind::kSubscribe)
            j["qos"] = a.qos;
        if (a.kind == ActionKind::kPublish) {
            j["count"] = a.count;
            j["size"] = a.size;
            j["interval"] = seconds(a.interval);
        }
        out.push_back(j);
    }
    return out;
}

void emit_actions(YAML::Emitter& out, const std::vector<AppAction>& actions) {
    if (actions.empty())
        return;
    out << YAML::Key << "actions" << YAML::Value << YAML::BeginSeq;
    for (const AppAction& a : actions) {
        out << YAML::BeginMap;
        kv(out, "do", to_string(a.kind));
        kv(out, "name", a.name);
        emit_start(out, a.start);
        if (a.every)
            kv(out, "every", format_duration(*a.every));
        if (takes_topic(a.kind))
            kv(out, "topic", a.topic);
        if (a.kind == ActionKind::kPublish || a.kind == ActionKind::kSubscribe)
            kv(out, "qos", a.qos);
        if (a.kind == ActionKind::kPublish) {
            kv(out, "count", a.count);
            kv(out, "size", format_size(a.size));
            kv(out, "interval", format_duration(a.interval));
        }
        out << YAML::EndMap;
    }
    out << YAML::EndSeq;
}

} // namespace

nlohmann::json to_json(const Scenario& s) {
    using nlohmann::json;
    json j;
    j["name"] = s.name;
    j["variant"] = s.applied_variant.empty() ? "base" : s.applied_variant;
    j["set_overrides"] = s.set_overrides;
    j["source_path"] = s.source_path;
    j["description"] = s.description;
    j["seed"] = s.seed;
    j["duration"] = seconds(s.duration);
    j["time"] = {{"mode", to_string(s.time.mode)},
                 {"host_grace", seconds(s.time.host_grace)},
                 {"broker_clock", to_string(s.time.broker_clock)}};
    j["profile"] = to_string(s.profile);
    j["abi"] = to_string(s.abi);
    json l = json::object();
    auto opt_s = [](const std::optional<SimDuration>& d) { return d ? json(seconds(*d)) : json(); };
    auto opt = [](const auto& o) { return o ? json(*o) : json(); };
    l["tcp_maxrtx"] = opt(s.lwip.tcp_maxrtx);
    l["tcp_synmaxrtx"] = opt(s.lwip.tcp_synmaxrtx);
    l["tcp_rto_initial"] = opt_s(s.lwip.tcp_rto_initial);
    l["tcp_msl"] = opt_s(s.lwip.tcp_msl);
    l["tcp_fin_wait_timeout"] = opt_s(s.lwip.tcp_fin_wait_timeout);
    l["so_linger_available"] = opt(s.lwip.so_linger_available);
    l["tcp_pcb_cap"] = opt(s.lwip.tcp_pcb_cap);
    l["keepalive"] = {{"enabled", opt(s.lwip.keepalive.enabled)},
                      {"idle", opt_s(s.lwip.keepalive.idle)},
                      {"intvl", opt_s(s.lwip.keepalive.intvl)},
                      {"cnt", opt(s.lwip.keepalive.cnt)}};
    j["lwip"] = l;
    j["heap"] = {{"budget", opt(s.heap.budget)},
                 {"allocator", to_string(s.heap.allocator)},
                 {"block_overhead", s.heap.block_overhead},
                 {"poisoning", to_string(s.heap.poisoning)},
                 {"task_tracking", s.heap.task_tracking}};
    j["link"] = {{"kind", to_string(s.link.kind)},
                 {"latency", seconds(s.link.latency)},
                 {"rate", opt(s.link.rate)},
                 {"queue_frames", s.link.queue_frames},
                 {"capture", s.link.capture}};
    json b = {{"mode", to_string(s.broker.mode)}};
    if (s.broker.mode == BrokerMode::kManaged)
        b["persistence"] = s.broker.persistence;
    if (s.broker.mode == BrokerMode::kExternal) {
        b["host"] = s.broker.host;
        b["port"] = s.broker.port;
        b["ca_file"] = s.broker.ca_file;
        b["server_name"] = s.broker.server_name;
        b["client_cert"] = s.broker.client_cert;
        b["client_key"] = s.broker.client_key;
        b["expect_reachable"] = s.broker.expect_reachable;
    }
    j["broker"] = b;
    const AppSettings& a = s.app;
    json app = {{"client_id", a.client_id},
                {"keepalive", seconds(a.keepalive)},
                {"clean_session", a.clean_session},
                {"reconnect_delay", seconds(a.reconnect_delay)},
                {"network_timeout", seconds(a.network_timeout)},
                {"linger", opt_s(a.linger)},
                {"close_notify", a.close_notify},
                {"buffer_size", a.buffer_size},
                {"out_buffer_size", a.out_buffer_size}};
    app["username"] = opt(a.username);
    // Results folders get shared: a password is shown as set, never as text.
    app["password"] = a.password ? json("(set)") : json(nullptr);
    if (a.will)
        app["will"] = {{"topic", a.will->topic},
                       {"payload", a.will->payload},
                       {"qos", a.will->qos},
                       {"retain", a.will->retain}};
    if (a.publish)
        app["publish"] = {{"topic", a.publish->topic},
                          {"interval", seconds(a.publish->interval)},
                          {"size", a.publish->size},
                          {"qos", a.publish->qos},
                          {"retain", a.publish->retain}};
    if (a.subscribe)
        app["subscribe"] = {{"topic", a.subscribe->topic}, {"qos", a.subscribe->qos}};
    if (a.program) {
        json args = json::object();
        for (const auto& [k, val] : a.program->args)
            args[k] = val;
        app["program"] = a.program->path;
        app["args"] = args;
    }
    app["actions"] = actions_json(a.actions);
    j["app"] = app;
    if (s.https_server)
        j["https_server"] = {{"size", s.https_server->size}};
    json faults = json::array();
    for (const FaultSpec& f : s.faults) {
        json fj = {{"type", to_string(f.type)},
                   {"name", f.name},
                   {"for", opt_s(f.duration)},
                   {"every", opt_s(f.every)}};
        if (!is_broker_fault(f.type)) { // a broker fault has no packets to select
            fj["direction"] = to_string(f.direction);
            fj["filter"] = filter_json(f.filter);
        }
        start_json(fj, f.start);
        json params = json::object();
        each_param(f.params, [&](const char* k, json v, const std::string&) { params[k] = v; });
        fj["params"] = params;
        faults.push_back(fj);
    }
    j["faults"] = faults;
    j["sampling"] = {{"heap_interval", seconds(s.sampling.heap_interval)}};
    json variants = json::array();
    for (const Variant& v : s.variants) {
        json set = json::object();
        for (const auto& [k, val] : v.set)
            set[k] = val;
        variants.push_back({{"name", v.name}, {"description", v.description}, {"set", set}});
    }
    j["variants"] = variants;
    json exps = json::array();
    for (const Expectation& e : s.expectations) {
        exps.push_back({{"metric", e.metric},
                        {"op", to_string(e.op)},
                        {"value", e.value},
                        {"variants", e.variants},
                        {"active", applies_to(e, s)}});
    }
    j["expectations"] = exps;
    return j;
}

std::string to_yaml(const Scenario& s) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    if (!s.description.empty())
        kv(out, "description", s.description);
    kv(out, "seed", s.seed);
    kv(out, "duration", format_duration(s.duration));
    kv(out, "profile", to_string(s.profile));
    kv(out, "abi", to_string(s.abi));
    out << YAML::Key << "time" << YAML::Value << YAML::BeginMap;
    kv(out, "mode", to_string(s.time.mode));
    kv(out, "host_grace", format_duration(s.time.host_grace));
    kv(out, "broker_clock", to_string(s.time.broker_clock));
    out << YAML::EndMap;

    const LwipOverrides& l = s.lwip;
    out << YAML::Key << "lwip" << YAML::Value << YAML::BeginMap;
    if (l.tcp_maxrtx)
        kv(out, "tcp_maxrtx", *l.tcp_maxrtx);
    if (l.tcp_synmaxrtx)
        kv(out, "tcp_synmaxrtx", *l.tcp_synmaxrtx);
    if (l.tcp_rto_initial)
        kv(out, "tcp_rto_initial", format_duration(*l.tcp_rto_initial));
    if (l.tcp_msl)
        kv(out, "tcp_msl", format_duration(*l.tcp_msl));
    if (l.tcp_fin_wait_timeout)
        kv(out, "tcp_fin_wait_timeout", format_duration(*l.tcp_fin_wait_timeout));
    if (l.so_linger_available)
        kv(out, "so_linger_available", *l.so_linger_available);
    if (l.tcp_pcb_cap)
        kv(out, "tcp_pcb_cap", *l.tcp_pcb_cap);
    out << YAML::Key << "keepalive" << YAML::Value << YAML::BeginMap;
    if (l.keepalive.enabled)
        kv(out, "enabled", *l.keepalive.enabled);
    if (l.keepalive.idle)
        kv(out, "idle", format_duration(*l.keepalive.idle));
    if (l.keepalive.intvl)
        kv(out, "intvl", format_duration(*l.keepalive.intvl));
    if (l.keepalive.cnt)
        kv(out, "cnt", *l.keepalive.cnt);
    out << YAML::EndMap << YAML::EndMap;

    out << YAML::Key << "heap" << YAML::Value << YAML::BeginMap;
    if (s.heap.budget)
        kv(out, "budget", format_size(*s.heap.budget));
    // Only the keys the allocator takes, so the resolved scenario loads again as it is.
    kv(out, "allocator", to_string(s.heap.allocator));
    if (s.heap.allocator == HeapAllocator::kNone) {
        kv(out, "block_overhead", format_size(s.heap.block_overhead));
    } else {
        kv(out, "poisoning", to_string(s.heap.poisoning));
        kv(out, "task_tracking", s.heap.task_tracking);
    }
    out << YAML::EndMap;

    out << YAML::Key << "link" << YAML::Value << YAML::BeginMap;
    kv(out, "kind", to_string(s.link.kind));
    kv(out, "latency", format_duration(s.link.latency));
    if (s.link.rate)
        kv(out, "rate", format_rate(*s.link.rate));
    kv(out, "queue_frames", s.link.queue_frames);
    kv(out, "capture", s.link.capture);
    out << YAML::EndMap;

    const BrokerSettings& b = s.broker;
    out << YAML::Key << "broker" << YAML::Value << YAML::BeginMap;
    kv(out, "mode", to_string(b.mode));
    if (b.mode == BrokerMode::kManaged)
        kv(out, "persistence", b.persistence);
    if (b.mode == BrokerMode::kExternal) {
        kv(out, "host", b.host);
        kv(out, "port", b.port);
        kv(out, "ca_file", b.ca_file);
        kv(out, "server_name", b.server_name);
        if (!b.client_cert.empty()) {
            kv(out, "client_cert", b.client_cert);
            kv(out, "client_key", b.client_key);
        }
        kv(out, "expect_reachable", b.expect_reachable);
    }
    out << YAML::EndMap;

    const AppSettings& a = s.app;
    out << YAML::Key << "app" << YAML::Value << YAML::BeginMap;
    if (a.program) {
        kv(out, "program", a.program->path);
        out << YAML::Key << "args" << YAML::Value << YAML::BeginMap;
        for (const auto& [k, val] : a.program->args)
            kv(out, k.c_str(), val);
        out << YAML::EndMap;
    }
    kv(out, "client_id", a.client_id);
    kv(out, "keepalive", format_duration(a.keepalive));
    kv(out, "clean_session", a.clean_session);
    if (a.username)
        kv(out, "username", *a.username);
    if (a.password)
        kv(out, "password", *a.password);
    if (a.will) {
        out << YAML::Key << "will" << YAML::Value << YAML::BeginMap;
        kv(out, "topic", a.will->topic);
        kv(out, "payload", a.will->payload);
        kv(out, "qos", a.will->qos);
        kv(out, "retain", a.will->retain);
        out << YAML::EndMap;
    }
    if (a.publish) {
        out << YAML::Key << "publish" << YAML::Value << YAML::BeginMap;
        kv(out, "topic", a.publish->topic);
        kv(out, "interval", format_duration(a.publish->interval));
        kv(out, "size", format_size(a.publish->size));
        kv(out, "qos", a.publish->qos);
        kv(out, "retain", a.publish->retain);
        out << YAML::EndMap;
    }
    if (a.subscribe) {
        out << YAML::Key << "subscribe" << YAML::Value << YAML::BeginMap;
        kv(out, "topic", a.subscribe->topic);
        kv(out, "qos", a.subscribe->qos);
        out << YAML::EndMap;
    }
    kv(out, "reconnect_delay", format_duration(a.reconnect_delay));
    kv(out, "network_timeout", format_duration(a.network_timeout));
    kv(out, "linger", a.linger ? format_duration(*a.linger) : std::string("off"));
    kv(out, "close_notify", a.close_notify);
    kv(out, "buffer_size", format_size(a.buffer_size));
    kv(out, "out_buffer_size", format_size(a.out_buffer_size));
    emit_actions(out, a.actions);
    out << YAML::EndMap;

    if (s.https_server) {
        out << YAML::Key << "https_server" << YAML::Value << YAML::BeginMap;
        kv(out, "size", format_size(s.https_server->size));
        out << YAML::EndMap;
    }
    out << YAML::Key << "faults" << YAML::Value << YAML::BeginSeq;
    for (const FaultSpec& f : s.faults) {
        out << YAML::BeginMap;
        kv(out, "type", to_string(f.type));
        kv(out, "name", f.name);
        emit_start(out, f.start);
        if (f.duration)
            kv(out, "for", format_duration(*f.duration));
        if (f.every)
            kv(out, "every", format_duration(*f.every));
        if (!is_broker_fault(f.type)) { // the loader refuses these keys on broker faults
            kv(out, "direction", to_string(f.direction));
            out << YAML::Key << "filter" << YAML::Value;
            emit_filter(out, f.filter);
        }
        out << YAML::Key << "params" << YAML::Value << YAML::BeginMap;
        each_param(f.params, [&](const char* k, const nlohmann::json&, const std::string& text) {
            kv(out, k, text);
        });
        out << YAML::EndMap << YAML::EndMap;
    }
    out << YAML::EndSeq;

    out << YAML::Key << "sampling" << YAML::Value << YAML::BeginMap;
    kv(out, "heap_interval", format_duration(s.sampling.heap_interval));
    out << YAML::EndMap;

    out << YAML::Key << "variants" << YAML::Value << YAML::BeginSeq;
    for (const Variant& v : s.variants) {
        out << YAML::BeginMap;
        kv(out, "name", v.name);
        if (!v.description.empty())
            kv(out, "description", v.description);
        out << YAML::Key << "set" << YAML::Value << YAML::BeginMap;
        for (const auto& [k, val] : v.set) {
            out << YAML::Key << k << YAML::Value << YAML::Flow << YAML::Load(val);
        }
        out << YAML::EndMap << YAML::EndMap;
    }
    out << YAML::EndSeq;

    out << YAML::Key << "expectations" << YAML::Value << YAML::BeginSeq;
    for (const Expectation& e : s.expectations) {
        out << YAML::BeginMap;
        kv(out, "metric", e.metric);
        out << YAML::Key << "op" << YAML::Value << YAML::DoubleQuoted << to_string(e.op);
        kv(out, "value", exact(e.value));
        if (!e.variants.empty()) {
            out << YAML::Key << "variants" << YAML::Value << YAML::Flow << e.variants;
        }
        out << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

} // namespace lwipsim::scenario
