#include "harness/runner/variant_run.h"

#include "harness/broker/managed_broker.h"
#include "harness/probes/closed_pcb_heap.h"
#include "harness/probes/pcb_probe.h"
#include "harness/program/program_run.h"
#include "harness/runner/app_loop.h"
#include "harness/runner/broker_faults.h"
#include "harness/runner/broker_side.h"
#include "harness/runner/broker_start.h"
#include "harness/runner/fault_triggers.h"
#include "harness/runner/heap_cost.h"
#include "harness/runner/https_server.h"
#include "harness/runner/link_setup.h"
#include "harness/runner/metrics_eval.h"
#include "harness/runner/recorder.h"
#include "harness/runner/run_results.h"
#include "harness/runner/run_state.h"
#include "harness/scenario/serialize.h"
#include "sim/clock/scheduler.h"
#include "sim/heap/device_heap.h"
#include "sim/host/vclock_peer.h"
#include "sim/link/link_builder.h"
#include "sim/link/slirp_gateway.h"
#include "sim/link/tap_backend.h"
#include "sim/port/lwip/device_stack.h"
#include "sim/port/mbedtls/mbedtls_platform.h"

#include <chrono>
#include <fstream>

namespace lwipsim::runner {

namespace fs = std::filesystem;
using clock::Scheduler;
using clock::SimDuration;
using clock::SimTime;
using heap::DeviceHeap;
using heap::Subsystem;
using nlohmann::json;

namespace {

class SchedulerTimer final : public link::Timer {
  public:
    [[nodiscard]] SimTime now() const override { return Scheduler::current().now(); }
    void at(SimTime when, std::function<void()> fn) override {
        Scheduler::current().at(when, std::move(fn));
    }
};

// Watches frames at the device's edge, parsed once here: RSTs the device sent for the PCB
// probe's rst_sent, every frame for nth_packet triggers. Passes them on unchanged.
class RstWatch final : public link::FrameSink {
  public:
    RstWatch(probes::PcbProbe& probe, FaultTriggers& triggers, bool sent)
        : probe_(probe), triggers_(triggers), sent_(sent) {}
    void set_next(link::FrameSink* next) { next_ = next; }
    void deliver(link::Frame frame) override {
        const link::PacketInfo info = link::parse_frame(frame.bytes);
        triggers_.on_frame(info);
        if (sent_ && info.ipv4 && info.protocol == static_cast<uint8_t>(link::IpProto::kTcp) &&
            info.has_ports && (info.tcp_flags & link::kTcpRst) != 0) {
            probe_.on_rst_sent(info.src_port);
        }
        next_->deliver(std::move(frame));
    }

  private:
    probes::PcbProbe& probe_;
    FaultTriggers& triggers_;
    bool sent_;
    link::FrameSink* next_ = nullptr;
};

port::TcpSettings tcp_settings(const scenario::Scenario& sc) {
    port::TcpSettings t = port::profile_defaults();
    const auto& o = sc.lwip;
    auto to_ms = [](SimDuration d) {
        return static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
    };
    if (o.tcp_maxrtx)
        t.maxrtx = *o.tcp_maxrtx;
    if (o.tcp_synmaxrtx)
        t.synmaxrtx = *o.tcp_synmaxrtx;
    if (o.tcp_rto_initial)
        t.rto_initial_ms = to_ms(*o.tcp_rto_initial);
    if (o.tcp_msl)
        t.msl_ms = to_ms(*o.tcp_msl);
    if (o.tcp_fin_wait_timeout)
        t.fin_wait_timeout_ms = to_ms(*o.tcp_fin_wait_timeout);
    if (o.so_linger_available)
        t.so_linger_available = *o.so_linger_available;
    if (o.tcp_pcb_cap)
        t.pcb_cap = *o.tcp_pcb_cap;
    return t;
}

// The far side's downlink: the link's network side, known only once the link is built.
struct ForwardSink final : link::FrameSink {
    link::FrameSink* to = nullptr;
    void deliver(link::Frame f) override { to->deliver(std::move(f)); }
};

HeapSample take_sample(const probes::PcbProbe& probe) {
    auto& h = DeviceHeap::instance();
    HeapSample sample{now_s(),
                      h.free_bytes(),
                      h.in_use(),
                      h.stats(Subsystem::kLwip).in_use,
                      h.stats(Subsystem::kMbedtls).in_use,
                      h.stats(Subsystem::kApp).in_use,
                      h.min_free(),
                      h.failures(),
                      probe.count_by_state()};
    auto window = h.take_use_window();
    sample.used_min = window.min_used;
    sample.used_max = window.max_used;
    sample.closed_pcb_heap = probes::closed_pcb_heap_by_state(probe);
    return sample;
}

void schedule_sampling(SimDuration interval, SimTime end, Recorder& rec, probes::PcbProbe& probe) {
    auto& s = Scheduler::current();
    for (SimTime t = s.now(); t <= end; t = t + interval) {
        s.at(t, [&rec, &probe] {
            rec.sample(take_sample(probe));
            // The accounting must equal the blocks actually alive, at every sample.
            auto& h = DeviceHeap::instance();
            if (size_t walked = h.sum_live_blocks(); walked != h.in_use()) {
                rec.event(now_s(), "heap_accounting_mismatch",
                          {{"accounted", h.in_use()}, {"live_blocks", walked}});
            }
        });
    }
}

HttpsServerOptions https_options(const scenario::Scenario& sc, const fs::path& run_dir,
                                 const broker::TestPki& pki) {
    HttpsServerOptions o;
    o.run_dir = run_dir;
    o.cert = pki.server_cert;
    o.key = pki.server_key;
    o.size = sc.https_server->size;
    o.seed = sc.seed;
    return o;
}

Scheduler& create_scheduler(const scenario::Scenario& sc) {
    clock::SchedulerOptions so;
    so.mode = sc.time.mode == scenario::TimeMode::kRealtime ? clock::TimeMode::kRealtime
                                                            : clock::TimeMode::kVirtual;
    so.host_grace = std::chrono::duration_cast<std::chrono::milliseconds>(sc.time.host_grace);
    return Scheduler::create(so);
}

// Frames dropped or changed by faults go to events.jsonl.
class AuditToRecorder final : public link::AuditLog {
  public:
    explicit AuditToRecorder(Recorder& rec) : rec_(rec) {}
    void record(const link::AuditEvent& e) override {
        if (e.action == link::AuditAction::kDropped)
            ++dropped;
        rec_.event(e.at.seconds(), "frame_" + std::string(link::to_string(e.action)),
                   {{"frame", e.frame_id},
                    {"by", std::string(e.piece)},
                    {"reason", std::string(e.reason)},
                    {"dir", e.direction == link::Direction::kUp ? "up" : "down"}});
    }
    uint64_t dropped = 0;

  private:
    Recorder& rec_;
};

// The simulated device's whole life, on the calling simulated thread: link and far side, lwIP,
// probes, then the application until the run's end.
void run_device(RunState& st, const BrokerTarget& target, SchedulerTimer& timer,
                ForwardSink& far_down, link::TapBackend* tap) {
    const auto& sc = st.sc;
    auto& sched = Scheduler::current();
    AuditToRecorder audit(st.rec);
    RstWatch rst_up(st.probe, st.triggers, true), rst_down(st.probe, st.triggers, false);
    port::LinkNetif netif(&rst_up);
    rst_down.set_next(&netif);
    // The far side: the TAP backend built before the broker, or the slirp gateway.
    std::optional<link::SlirpGateway> slirp;
    if (tap == nullptr) {
        slirp.emplace(timer, far_down, [&st](const link::ContainmentEvent& e) {
            st.rec.event(now_s(), "contained", {{"reason", e.reason}});
        });
    }
    link::FrameSink& far_side = tap ? static_cast<link::FrameSink&>(*tap) : *slirp;
    clock::HostIo& host_io = tap ? static_cast<clock::HostIo&>(*tap) : *slirp;
    link::LinkConfig lc;
    lc.up.latency = lc.down.latency = sc.link.latency;
    lc.up.rate_bps = lc.down.rate_bps = static_cast<double>(sc.link.rate.value_or(0));
    lc.seed = sc.seed;
    lc.device_pcap = (st.dir / "device.pcap").string();
    lc.wire_pcap = (st.dir / "wire.pcap").string();
    std::vector<link::FaultSpec> specs;
    for (const auto& f : sc.faults)
        if (!scenario::is_broker_fault(f.type)) // broker faults act on mosquitto (broker_faults.h)
            specs.push_back(to_link_spec(f, st.names));
    link::LinkHooks hooks;
    hooks.on_link_change = [&netif](bool up) { netif.set_link_up(up); };
    auto lnk = link::build_link(lc, specs, timer, audit, {&rst_down, &far_side}, hooks);
    st.triggers.bind(lnk.get());
    rst_up.set_next(&lnk->from_device());
    far_down.to = &lnk->from_network();
    sched.add_host_io(&host_io);
    if (slirp && target.host_port != 0)
        slirp->map_tcp_port(target.port, target.host_port);
    if (tap != nullptr && st.broker_peer != nullptr) {
        // The kernel in the namespace is the broker's only input: wake it after every frame
        // written to the TAP. No lookahead: the kernel's own timers (real time) may act on the
        // broker's sockets at any moment (docs/design.md, "The TAP link").
        host::VclockPeer* peer = st.broker_peer;
        tap->set_host_written_hook([peer, &sched] { peer->wake(sched.now()); });
    }
    if (slirp && st.broker_peer != nullptr) {
        host::VclockPeer* peer = st.broker_peer;
        slirp->set_host_written_hook([peer, &sched] { peer->wake(sched.now()); });
        // The broker's lookahead: only slirp writes to its sockets, after a frame from the
        // link or in one of its own timers (docs/design.md, "Lookahead"). A broker fault acts
        // on the process from a worker event (timed or triggered), so with broker faults in
        // the scenario the grant ends at the worker's next event: the broker never runs past
        // the instant it is stopped or frozen. slirp's own timers matter only while one of its
        // sockets may still reach the broker: not once the broker has closed each of them.
        const bool broker_faults =
            std::any_of(st.sc.faults.begin(), st.sc.faults.end(),
                        [](const auto& f) { return scenario::is_broker_fault(f.type); });
        sched.set_peer_lookahead(
            [link = lnk.get(), gw = &*slirp, peer, broker_faults](std::optional<SimTime> next) {
                SimTime grant = link->earliest_network_arrival(next);
                // The sockets are asked (a system call each) only when slirp's event would
                // end the grant sooner.
                const std::optional<SimTime> own = gw->next_own_event();
                if (own && *own < grant &&
                    (peer->shut_down_a_socket() || !gw->host_sockets_closed_by_peer()))
                    grant = *own;
                if (broker_faults && next)
                    grant = std::min(grant, *next);
                return grant;
            });
        // The broker sees the device (10.0.2.15:port) as its peer, not the gateway's host port.
        slirp->set_connection_hook([peer](uint16_t host_port, uint32_t ip, uint16_t port) {
            peer->name_peer(host_port, ip, port);
        });
    }

    port::NetifConfig nc;
    if (tap != nullptr) {
        nc.ip = kTapDeviceIp;
        nc.gateway = kTapHostIp;
    }
    port::start_stack(&netif, nc, sc.seed);
    st.probe.install();
    st.baseline_free = DeviceHeap::instance().free_bytes();
    schedule_sampling(sc.sampling.heap_interval, SimTime{sc.duration}, st.rec, st.probe);
    std::ofstream keylog(st.dir / "tls-keys.log");
    if (st.program != nullptr)
        run_program_until_end(target, st, keylog);
    else
        run_app_until_end(sc, target, st, keylog);
    // Heap use after the last sample still belongs on the plot (its lowest free point).
    auto tail = DeviceHeap::instance().take_use_window();
    st.rec.extend_last_sample(tail.min_used, tail.max_used);
    st.frames_delivered = lnk->model(link::Direction::kUp).stats().delivered +
                          lnk->model(link::Direction::kDown).stats().delivered;
    st.frames_dropped = audit.dropped;
    sched.set_peer_lookahead({});
    lnk->close();
    sched.remove_host_io(&host_io);
    far_down.to = nullptr;
}

} // namespace

// RunState's reports: events in `rec`, warnings also in `warnings`.
RunState::RunState(const scenario::Scenario& s, fs::path d, DeviceAddresses n)
    : sc(s), dir(std::move(d)), names(n),
      probe([this](const probes::PcbRecord& r, const std::string& what) {
          rec.event(now_s(), what,
                    {{"pcb", r.id},
                     {"local_port", r.local_port},
                     {"state", r.states.empty() ? "" : r.states.back().state},
                     {"reason", r.free_reason},
                     {"rst_sent", r.rst_sent ? json(*r.rst_sent) : json(nullptr)}});
      }),
      triggers(s, n, rec), actions(s, n, rec), obs(rec, probe, triggers) {
    triggers.add_listener(&actions);
    probe.set_failure_sink([this](Subsystem sub, size_t size, bool injected) {
        rec.event(now_s(), "alloc_failure",
                  {{"subsystem", std::string(heap::subsystem_name(sub))},
                   {"size", size},
                   {"injected", injected}});
    });
    probe.set_warning_sink([this](const std::string& message) {
        rec.event(now_s(), "warning", {{"message", message}});
        warnings.push_back(message);
    });
}

RunOutcome run_variant(const scenario::Scenario& sc, const fs::path& out_dir) {
    // A program that cannot load fails here, before anything is started or written.
    std::optional<program::LoadedProgram> loaded;
    if (sc.app.program)
        loaded = program::LoadedProgram::load(sc.app.program->path);
    fs::path partial = out_dir;
    partial += ".partial";
    fs::remove_all(partial);
    fs::create_directories(partial);
    auto wall_start = std::chrono::steady_clock::now();

    // Timer and far-side downlink outlive the TAP backend, which outlives the broker.
    SchedulerTimer timer;
    ForwardSink far_down;
    std::unique_ptr<link::TapBackend> tap;
    if (sc.link.kind == scenario::LinkKind::kTap)
        tap = make_tap_world(sc, timer, far_down);
    std::optional<broker::ManagedBroker> managed;
    // Declared after the broker: destroyed (detached) first, so a stop's SIGTERM finds it in
    // a real wait.
    std::optional<host::VclockPeer> vclock;
    make_broker_clock(sc, partial, vclock);
    BrokerTarget target =
        start_broker(sc, partial, tap.get(), managed, vclock ? &*vclock : nullptr);

    auto& heap = DeviceHeap::instance();
    // No budget: only measured (the loader caps a budget to what this build's size_t holds).
    heap.configure(static_cast<size_t>(sc.heap.budget.value_or(SIZE_MAX)), block_cost(sc.heap));
    port::install_mbedtls_platform(device_epoch(managed));
    port::apply_tcp_settings(tcp_settings(sc));
    auto& sched = create_scheduler(sc);
    heap.set_clock([&sched] { return sched.now(); });

    RunState st(sc, partial, tap ? kTapAddresses : kSlirpAddresses);
    st.program = loaded ? &*loaded : nullptr;
    std::optional<HttpsFileServer> https;
    if (sc.https_server)
        https.emplace(https_options(sc, partial, managed->pki()));
    if (https) {
        st.program_info = {{"https.port", std::to_string(https->port())},
                           {"https.path", https->path()},
                           {"https.size", std::to_string(https->size())},
                           {"https.sha256", https->sha256()}};
    }
    if (vclock) {
        vclock->require_attached(managed->pid()); // exit 3 when LD_PRELOAD was ignored
        vclock->watch(managed->pid());
        st.broker_peer = &*vclock;
        sched.set_host_peer(&*vclock);
    }
    json faults = fault_windows(sc, st.rec);
    std::optional<BrokerSide> broker_side;
    if (managed)
        broker_side.emplace(st.rec, broker_side_options(sc, *managed, st));
    BrokerFaults broker_faults(sc, managed ? &*managed : nullptr, vclock ? &*vclock : nullptr,
                               st.rec, [&st](const std::string& message) {
                                   st.rec.event(now_s(), "warning", {{"message", message}});
                                   st.warnings.push_back(message);
                               });
    st.triggers.bind_broker([&](size_t i, SimTime t) { broker_faults.start(i, t); });
    // This OS thread waits in run() (keeping the broker's PDEATHSIG parent alive).
    sched.run("run", 5, [&] {
        if (broker_side)
            broker_side->attach(sched);
        broker_faults.schedule_timed();
        run_device(st, target, timer, far_down, tap.get());
        if (broker_side)
            broker_side->detach(sched);
    });
    broker_faults.finish();

    const pid_t broker_pid = managed ? managed->pid() : -1;
    const bool broker_virtual = static_cast<bool>(vclock);
    const char* broker_clock = managed ? (broker_virtual ? "virtual" : "wall") : nullptr;
    sched.set_host_peer(nullptr);
    if (vclock && managed)
        managed->signal_stop(); // before the detach: docs/design.md, "Stopping"
    if (vclock)
        vclock->detach();
    if (managed)
        managed->stop();
    json https_info = nullptr;
    if (https) {
        https_info = {{"port", https->port()},
                      {"pid", https->pid()},
                      {"path", https->path()},
                      {"size", https->size()},
                      {"sha256", https->sha256()}};
        https->stop();
    }
    vclock.reset(); // removes its page before the results folder is renamed
    json link_info = nullptr;
    if (tap) {
        // The broker is gone; deleting the namespace now removes the TAP with it.
        link_info = {{"kind", "tap"},
                     {"netns", tap->netns()},
                     {"host_ip", kTapHostIp},
                     {"device_ip", kTapDeviceIp},
                     {"broker_pid", broker_pid},
                     {"tap_frames_written", tap->frames_written()},
                     {"tap_frames_read", tap->frames_read()},
                     {"tap_write_errors", tap->write_errors()}};
        tap.reset();
    }

    MeasuredRun measured = measured_run(st);
    measured.broker = broker_side ? &broker_side->counts() : nullptr;
    json expectations = evaluate_expectations(sc, measured);
    const program::ProgramRun* prog = st.program_run.get();
    bool passed = prog == nullptr || !prog->failure();
    for (const auto& e : expectations)
        passed = passed && e["passed"].get<bool>();
    for (const auto& f : st.triggers.fired())
        faults.push_back(f);
    const auto not_repeatable = not_repeatable_reason(sc, sched, broker_virtual);
    json summary = {
        {"status", passed ? "passed" : "failed"},
        {"repeatable", !not_repeatable},
        {"not_repeatable_reason", not_repeatable ? json(*not_repeatable) : json(nullptr)},
        {"scenario", sc.name},
        {"variant", sc.applied_variant.empty() ? "base" : sc.applied_variant},
        {"seed", sc.seed},
        {"sim_time_s", sched.now().seconds()},
        {"wall_time_s",
         std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count()},
        {"profile", port::profile_name()},
        {"device", device_json()},
        {"options", options_json(sc)},
        {"heap", heap_json(st)},
        {"pcbs", Recorder::pcbs_json(st.probe.records())},
        {"app", app_json(st)},
        {"time", time_json(sched, broker_clock)},
        {"broker", broker_side ? broker_side->summary_json() : BrokerSide::unmeasured_json()},
        {"faults", faults},
        {"expectations", expectations},
        {"metrics", metrics_json(measured_run(st))},
        {"warnings", st.warnings},
        {"scenario_resolved", scenario::to_json(sc)},
    };
    if (!link_info.is_null())
        summary["link"] = link_info;
    if (!https_info.is_null())
        summary["https_server"] = https_info;
    if (prog != nullptr) {
        summary["program"] = prog->summary();
        summary["app"] = {{"program", sc.app.program->path}}; // the built-in client did not run
    }
    write_results(st, summary, target, link_info);
    fs::remove_all(out_dir);
    fs::rename(partial, out_dir);
    RunOutcome outcome{passed, out_dir, {}, std::nullopt};
    if (not_repeatable)
        outcome.warnings.push_back(*not_repeatable);
    if (prog != nullptr && prog->failure())
        outcome.failure = "device program: " + *prog->failure();

    return outcome;
}

} // namespace lwipsim::runner
