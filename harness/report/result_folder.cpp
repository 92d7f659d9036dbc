#include "harness/report/result_folder.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "harness/report/errors.h"

namespace lwipsim::report {
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json; // keeps the runner's key order for display sections

namespace {

std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw ReportError(file.string() + ": cannot open (missing or unreadable)");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Error context is "<file>: <json path>": the path points the reader at the exact member.
class Reader {
  public:
    explicit Reader(const fs::path& file) : file_(file.string()) {}

    [[noreturn]] void fail(const std::string& where, const std::string& what) const {
        throw ReportError(file_ + ": " + where + ": " + what);
    }

    const Json& member(const Json& obj, const std::string& where, const char* key) const {
        if (!obj.is_object())
            fail(where, "expected an object");
        auto it = obj.find(key);
        if (it == obj.end())
            fail(where, std::string("missing key '") + key + "'");
        return *it;
    }

    std::string str(const Json& obj, const std::string& where, const char* key) const {
        const Json& v = member(obj, where, key);
        if (!v.is_string())
            fail(where + "." + key, "expected a string, got " + v.dump());
        return v.get<std::string>();
    }

    double num(const Json& obj, const std::string& where, const char* key) const {
        return as_num(member(obj, where, key), where + "." + key);
    }

    double as_num(const Json& v, const std::string& where) const {
        if (!v.is_number())
            fail(where, "expected a number, got " + v.dump());
        return v.get<double>();
    }

    std::int64_t integer(const Json& obj, const std::string& where, const char* key) const {
        const Json& v = member(obj, where, key);
        if (!v.is_number_integer() && !v.is_number_unsigned())
            fail(where + "." + key, "expected an integer, got " + v.dump());
        return v.get<std::int64_t>();
    }

    std::optional<double> opt_num(const Json& obj, const std::string& where,
                                  const char* key) const {
        const Json& v = member(obj, where, key);
        if (v.is_null())
            return std::nullopt;
        return as_num(v, where + "." + key);
    }

    const Json& array(const Json& obj, const std::string& where, const char* key) const {
        const Json& v = member(obj, where, key);
        if (!v.is_array())
            fail(where + "." + key, "expected an array");
        return v;
    }

  private:
    std::string file_;
};

// Strings shown without JSON quotes; everything else as compact JSON.
std::string render(const Json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
}

KeyValues key_values(const Reader& r, const Json& obj, const std::string& where) {
    if (!obj.is_object())
        r.fail(where, "expected an object");
    KeyValues out;
    for (auto it = obj.begin(); it != obj.end(); ++it)
        out.emplace_back(it.key(), render(*it));
    return out;
}

// 1-based line of a byte offset, so JSON syntax errors read like compiler errors.
std::size_t line_of(const std::string& text, std::size_t byte) {
    byte = std::min(byte, text.size());
    return 1 + static_cast<std::size_t>(std::count(
                   text.begin(), text.begin() + static_cast<std::ptrdiff_t>(byte), '\n'));
}

// The file's JSON, or a ReportError naming the file and line where it stops being JSON.
Json parse_json_file(const fs::path& file) {
    const std::string text = read_file(file);
    try {
        return Json::parse(text);
    } catch (const Json::parse_error& e) {
        throw ReportError(file.string() + ":" + std::to_string(line_of(text, e.byte)) +
                          ": not valid JSON: " + e.what());
    }
}

} // namespace

Summary load_summary(const fs::path& file) {
    const Json doc = parse_json_file(file);
    const Reader r(file);
    Summary s;
    s.status = r.str(doc, "$", "status");
    if (s.status != "passed" && s.status != "failed" && s.status != "error")
        r.fail("$.status", "expected passed|failed|error, got '" + s.status + "'");
    s.scenario = r.str(doc, "$", "scenario");
    s.variant = r.str(doc, "$", "variant");
    s.seed = render(r.member(doc, "$", "seed"));
    s.sim_time_s = r.num(doc, "$", "sim_time_s");
    s.wall_time_s = r.num(doc, "$", "wall_time_s");
    s.profile = r.str(doc, "$", "profile");
    if (doc.contains("device") && doc["device"].is_object())
        s.abi = r.str(doc["device"], "$.device", "abi");
    s.options = key_values(r, r.member(doc, "$", "options"), "$.options");

    const Json& heap = r.member(doc, "$", "heap");
    s.heap.budget = r.integer(heap, "$.heap", "budget");
    s.heap.baseline_free = r.integer(heap, "$.heap", "baseline_free");
    s.heap.min_free = r.integer(heap, "$.heap", "min_free");
    s.heap.final_free = r.integer(heap, "$.heap", "final_free");
    s.heap.alloc_failures = r.integer(heap, "$.heap", "alloc_failures");
    // Absent in folders written before the key existed: a budget was then always shown.
    if (heap.is_object() && heap.contains("unlimited")) {
        const Json& u = heap["unlimited"];
        if (!u.is_boolean())
            r.fail("$.heap.unlimited", "expected true or false, got " + u.dump());
        s.heap.unlimited = u.get<bool>();
    }
    const Json& subs = r.member(heap, "$.heap", "by_subsystem");
    if (!subs.is_object())
        r.fail("$.heap.by_subsystem", "expected an object");
    for (auto it = subs.begin(); it != subs.end(); ++it) {
        const std::string where = "$.heap.by_subsystem." + it.key();
        s.heap.by_subsystem.push_back(
            {it.key(), r.integer(*it, where, "in_use"), r.integer(*it, where, "peak"),
             r.integer(*it, where, "allocs"), r.integer(*it, where, "failures")});
    }

    const Json& pcbs = r.array(doc, "$", "pcbs");
    for (std::size_t i = 0; i < pcbs.size(); ++i) {
        const std::string where = "$.pcbs[" + std::to_string(i) + "]";
        const Json& p = pcbs[i];
        PcbRecord rec;
        rec.id = r.integer(p, where, "id");
        rec.local_port = r.integer(p, where, "local_port");
        rec.remote_port = r.integer(p, where, "remote_port");
        rec.opened_at_s = r.num(p, where, "opened_at_s");
        rec.closed_at_s = r.opt_num(p, where, "closed_at_s");
        rec.freed_at_s = r.opt_num(p, where, "freed_at_s");
        const Json& reason = r.member(p, where, "free_reason");
        if (!reason.is_null()) {
            if (!reason.is_string())
                r.fail(where + ".free_reason", "expected a string or null");
            rec.free_reason = reason.get<std::string>();
        }
        const Json& states = r.array(p, where, "states");
        for (std::size_t k = 0; k < states.size(); ++k) {
            const std::string sw = where + ".states[" + std::to_string(k) + "]";
            rec.states.push_back({r.str(states[k], sw, "state"), r.num(states[k], sw, "at_s")});
        }
        rec.retransmissions = r.integer(p, where, "retransmissions");
        s.pcbs.push_back(std::move(rec));
    }

    s.app = key_values(r, r.member(doc, "$", "app"), "$.app");
    s.time = key_values(r, r.member(doc, "$", "time"), "$.time");

    const Json& faults = r.array(doc, "$", "faults");
    for (std::size_t i = 0; i < faults.size(); ++i) {
        const std::string where = "$.faults[" + std::to_string(i) + "]";
        FaultRecord f{r.str(faults[i], where, "name"), r.str(faults[i], where, "type"), {}};
        const Json& windows = r.array(faults[i], where, "windows");
        for (std::size_t k = 0; k < windows.size(); ++k) {
            const std::string ww = where + ".windows[" + std::to_string(k) + "]";
            const Json& w = windows[k];
            if (!w.is_array() || w.size() != 2)
                r.fail(ww, "expected [start_s, end_s]");
            const double start = r.as_num(w[0], ww + "[0]");
            // A window still open at the end of the run is written with a null end.
            const double end = w[1].is_null() ? s.sim_time_s : r.as_num(w[1], ww + "[1]");
            f.windows.emplace_back(start, end);
        }
        s.faults.push_back(std::move(f));
    }

    const Json& exps = r.array(doc, "$", "expectations");
    for (std::size_t i = 0; i < exps.size(); ++i) {
        const std::string where = "$.expectations[" + std::to_string(i) + "]";
        const Json& e = exps[i];
        const Json& passed = r.member(e, where, "passed");
        if (!passed.is_boolean())
            r.fail(where + ".passed", "expected true or false");
        s.expectations.push_back({r.str(e, where, "metric"), r.str(e, where, "op"),
                                  render(r.member(e, where, "value")),
                                  render(r.member(e, where, "measured")), passed.get<bool>()});
    }
    return s;
}

std::vector<Sample> load_timeseries(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw ReportError(file.string() + ": cannot open (missing or unreadable)");
    std::string line;
    auto split = [](const std::string& l) {
        std::vector<std::string> cells;
        std::string cell;
        std::istringstream ss(l);
        while (std::getline(ss, cell, ','))
            cells.push_back(cell);
        if (!l.empty() && l.back() == ',')
            cells.emplace_back();
        return cells;
    };
    auto chomp = [](std::string& l) {
        if (!l.empty() && l.back() == '\r')
            l.pop_back();
    };
    if (!std::getline(in, line))
        throw ReportError(file.string() + ": empty file, expected a header");
    chomp(line);
    // Columns are found by name so a runner that adds a column later does not break reports.
    const auto header = split(line);
    constexpr std::size_t kNotRecorded = std::numeric_limits<std::size_t>::max();
    std::array<std::size_t, kTimeseriesColumnCount> where{};
    for (std::size_t c = 0; c < kTimeseriesColumnCount; ++c) {
        auto it = std::find(header.begin(), header.end(), kTimeseriesColumns[c]);
        if (it == header.end() && c >= kColClosedHeap) {
            where[c] = kNotRecorded;
            continue;
        }
        if (it == header.end() && c >= kRequiredTimeseriesColumns) {
            where[c] = where[kColUsed];
            continue;
        }
        if (it == header.end())
            throw ReportError(file.string() + ":1: header lacks column '" +
                              std::string(kTimeseriesColumns[c]) + "'");
        where[c] = static_cast<std::size_t>(it - header.begin());
    }
    std::vector<Sample> rows;
    std::size_t line_no = 1;
    while (std::getline(in, line)) {
        ++line_no;
        chomp(line);
        if (line.empty())
            continue;
        const auto cells = split(line);
        if (cells.size() != header.size())
            throw ReportError(file.string() + ":" + std::to_string(line_no) + ": " +
                              std::to_string(cells.size()) + " fields, header has " +
                              std::to_string(header.size()));
        Sample row{};
        for (std::size_t c = 0; c < kTimeseriesColumnCount; ++c) {
            if (where[c] == kNotRecorded) {
                row[c] = std::numeric_limits<double>::quiet_NaN();
                continue;
            }
            const std::string& cell = cells[where[c]];
            double v = 0;
            auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
            if (ec != std::errc() || end != cell.data() + cell.size() || cell.empty())
                throw ReportError(file.string() + ":" + std::to_string(line_no) + ": column '" +
                                  std::string(kTimeseriesColumns[c]) + "': not a number: '" + cell +
                                  "'");
            row[c] = v;
        }
        if (!rows.empty() && row[kColTime] < rows.back()[kColTime])
            throw ReportError(file.string() + ":" + std::to_string(line_no) +
                              ": t_s goes back in time");
        rows.push_back(row);
    }
    return rows;
}

std::vector<Event> load_events(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw ReportError(file.string() + ": cannot open (missing or unreadable)");
    std::vector<Event> events;
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        const std::string where = file.string() + ":" + std::to_string(line_no);
        Json obj;
        try {
            obj = Json::parse(line);
        } catch (const Json::parse_error& e) {
            throw ReportError(where + ": not valid JSON: " + e.what());
        }
        if (!obj.is_object())
            throw ReportError(where + ": expected a JSON object");
        auto t = obj.find("t_s");
        auto type = obj.find("type");
        if (t == obj.end() || !t->is_number())
            throw ReportError(where + ": missing or non-numeric \"t_s\"");
        if (type == obj.end() || !type->is_string())
            throw ReportError(where + ": missing or non-string \"type\"");
        Event ev{t->get<double>(), type->get<std::string>(), {}};
        if (auto f = obj.find("fault"); f != obj.end() && f->is_string())
            ev.fault = f->get<std::string>();
        events.push_back(std::move(ev));
    }
    return events;
}

double RunResult::run_length_s() const {
    double len = summary.sim_time_s;
    if (!samples.empty())
        len = std::max(len, samples.back()[kColTime]);
    for (const Event& e : events)
        len = std::max(len, e.t_s);
    return len;
}

RunResult load_run(const fs::path& dir) {
    RunResult run;
    run.dir = dir;
    run.summary = load_summary(dir / "summary.json");
    run.samples = load_timeseries(dir / "timeseries.csv");
    run.events = load_events(dir / "events.jsonl");
    return run;
}

bool is_run_folder(const fs::path& dir) {
    std::error_code ec;
    return fs::is_regular_file(dir / "summary.json", ec);
}

std::vector<fs::path> variant_folders(const fs::path& parent) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(parent, ec)) {
        if (entry.is_directory(ec) && is_run_folder(entry.path()))
            out.push_back(entry.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool is_sweep_folder(const fs::path& dir) {
    std::error_code ec;
    return fs::is_regular_file(dir / "sweep.json", ec);
}

Sweep load_sweep(const fs::path& dir) {
    const fs::path file = dir / "sweep.json";
    const Json doc = parse_json_file(file);
    const Reader r(file);
    Sweep sweep;
    sweep.dir = dir;
    sweep.scenario = r.str(doc, "$", "scenario");
    const Json& rows = r.array(doc, "$", "rows");
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const std::string where = "$.rows[" + std::to_string(i) + "]";
        SweepRow row{r.str(rows[i], where, "point_name"),
                     r.str(rows[i], where, "variant"),
                     r.str(rows[i], where, "status"),
                     {}};
        if (const Json& e = r.member(rows[i], where, "error"); e.is_string())
            row.error = e.get<std::string>();
        sweep.rows.push_back(std::move(row));
    }
    return sweep;
}

std::vector<fs::path> Sweep::points() const {
    std::vector<fs::path> out;
    for (const SweepRow& row : rows) {
        const fs::path p = dir / row.point;
        if (std::find(out.begin(), out.end(), p) == out.end() && !variant_folders(p).empty())
            out.push_back(p);
    }
    return out;
}

std::string read_text(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw ReportError(file.string() + ": cannot open");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_text(const std::filesystem::path& file, const std::string& text) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out)
        throw ReportError(file.string() + ": cannot write");
}

} // namespace lwipsim::report
