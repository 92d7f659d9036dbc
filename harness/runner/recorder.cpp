#include "harness/runner/recorder.h"

#include <algorithm>
#include <fstream>

namespace lwipsim::runner {

namespace {
const char* const kStates[] = {"SYN_SENT",   "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
                               "CLOSE_WAIT", "CLOSING",     "LAST_ACK",   "TIME_WAIT"};

nlohmann::json optional_number(const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
} // namespace

void Recorder::event(double t_s, const std::string& type, nlohmann::json fields) {
    fields["t_s"] = t_s;
    fields["type"] = type;
    events_.push_back(std::move(fields));
}

size_t Recorder::count(const std::string& type) const {
    return static_cast<size_t>(std::count_if(events_.begin(), events_.end(),
                                             [&](const auto& e) { return e["type"] == type; }));
}

// Events are recorded as they happen except fault windows, known up front: a stable sort by
// time keeps the order of everything that happened at the same instant.
std::vector<const nlohmann::json*> Recorder::in_time_order(bool with_frames) const {
    // Each event's time read once: a lookup per comparison made the sort the larger part of
    // writing a long run's results.
    std::vector<std::pair<double, const nlohmann::json*>> timed;
    timed.reserve(events_.size());
    for (const auto& e : events_) {
        if (with_frames || e["type"].get_ref<const std::string&>().rfind("frame_", 0) != 0)
            timed.emplace_back(e["t_s"].get<double>(), &e);
    }
    std::stable_sort(timed.begin(), timed.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<const nlohmann::json*> sorted;
    sorted.reserve(timed.size());
    for (const auto& [t, e] : timed)
        sorted.push_back(e);
    return sorted;
}

void Recorder::write_events(const std::filesystem::path& file) const {
    std::ofstream out(file);
    for (const auto* e : in_time_order(true))
        out << e->dump() << '\n';
}

void Recorder::write_run_log(const std::filesystem::path& file,
                             const std::vector<std::string>& header,
                             const std::vector<std::string>& footer) const {
    std::ofstream out(file);
    for (const auto& line : header)
        out << "[        start] " << line << '\n';
    char stamp[32];
    for (const auto* e : in_time_order(false)) {
        nlohmann::json rest = *e;
        rest.erase("t_s");
        rest.erase("type");
        std::snprintf(stamp, sizeof stamp, "[%11.3fs] ", (*e)["t_s"].get<double>());
        out << stamp << (*e)["type"].get<std::string>();
        if (!rest.empty())
            out << ' ' << rest.dump();
        out << '\n';
    }
    for (const auto& line : footer)
        out << "[          end] " << line << '\n';
}

void Recorder::extend_last_sample(size_t used_min, size_t used_max) {
    if (samples_.empty())
        return;
    samples_.back().used_min = std::min(samples_.back().used_min, used_min);
    samples_.back().used_max = std::max(samples_.back().used_max, used_max);
}

void Recorder::write_timeseries(const std::filesystem::path& file) const {
    std::ofstream out(file);
    out << "t_s,free,used,lwip,mbedtls,app,min_free,alloc_failures,pcbs_live";
    for (const char* s : kStates)
        out << ',' << s;
    out << ",heap_used_min,heap_used_max,closed_pcb_heap";
    for (const char* s : kStates)
        out << ",closed_pcb_heap_" << s;
    out << '\n';
    for (const auto& s : samples_) {
        int live = 0;
        for (const auto& [state, n] : s.pcbs_by_state)
            live += n;
        out << s.t_s << ',' << s.free << ',' << s.used << ',' << s.lwip << ',' << s.mbedtls << ','
            << s.app << ',' << s.min_free << ',' << s.alloc_failures << ',' << live;
        for (const char* st : kStates) {
            auto it = s.pcbs_by_state.find(st);
            out << ',' << (it == s.pcbs_by_state.end() ? 0 : it->second);
        }
        out << ',' << s.used_min << ',' << s.used_max;
        // The total counts every state; a closed PCB is in one of kStates in practice (a
        // client never has SYN_RCVD or LISTEN PCBs), so it equals the sum of the columns after.
        size_t closed_total = 0;
        for (const auto& [state, bytes] : s.closed_pcb_heap)
            closed_total += bytes;
        out << ',' << closed_total;
        for (const char* st : kStates) {
            auto it = s.closed_pcb_heap.find(st);
            out << ',' << (it == s.closed_pcb_heap.end() ? 0 : it->second);
        }
        out << '\n';
    }
}

void Recorder::write_pcbs_csv(const std::filesystem::path& file,
                              const std::vector<probes::PcbRecord>& pcbs) {
    std::ofstream out(file);
    out << "id,local_port,remote_port,opened_at_s,closed_at_s,freed_at_s,free_reason,rst_sent,"
           "retransmissions,unacked_bytes_at_close,states\n";
    for (const auto& p : pcbs) {
        out << p.id << ',' << p.local_port << ',' << p.remote_port << ',' << p.opened_at_s << ',';
        if (p.closed_at_s)
            out << *p.closed_at_s;
        out << ',';
        if (p.freed_at_s)
            out << *p.freed_at_s;
        out << ',' << p.free_reason << ',';
        if (p.rst_sent)
            out << (*p.rst_sent ? "true" : "false");
        out << ',' << p.retransmissions << ',' << p.unacked_bytes_at_close << ',';
        for (size_t i = 0; i < p.states.size(); ++i) {
            out << (i ? " " : "") << p.states[i].state << '@' << p.states[i].at_s;
        }
        out << '\n';
    }
}

nlohmann::json Recorder::pcbs_json(const std::vector<probes::PcbRecord>& pcbs) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& p : pcbs) {
        nlohmann::json states = nlohmann::json::array();
        for (const auto& s : p.states)
            states.push_back({{"state", s.state}, {"at_s", s.at_s}});
        list.push_back(
            {{"id", p.id},
             {"local_port", p.local_port},
             {"remote_port", p.remote_port},
             {"opened_at_s", p.opened_at_s},
             {"closed_at_s", optional_number(p.closed_at_s)},
             {"freed_at_s", optional_number(p.freed_at_s)},
             {"free_reason",
              p.free_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.free_reason)},
             {"rst_sent", p.rst_sent ? nlohmann::json(*p.rst_sent) : nlohmann::json(nullptr)},
             {"states", states},
             {"retransmissions", p.retransmissions},
             {"unacked_bytes_at_close", p.unacked_bytes_at_close}});
    }
    return list;
}

} // namespace lwipsim::runner
