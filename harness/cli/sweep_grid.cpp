#include "harness/cli/sweep_grid.h"

#include "harness/cli/cli_common.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace lwipsim::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A value must not open a subfolder or clash with the separators: '/', '%' and ',' are
// percent-encoded.
std::string folder_safe(const std::string& v) {
    std::string o;
    for (char c : v) {
        if (c == '/' || c == '%' || c == ',') {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
            o += buf;
        } else {
            o += c;
        }
    }
    return o;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos)
        return s;
    std::string o = "\"";
    for (char c : s)
        o += c == '"' ? std::string("\"\"") : std::string(1, c);
    return o + "\"";
}

std::string csv_value(const json& v) {
    if (v.is_null())
        return "";
    if (v.is_string())
        return csv_field(v.get<std::string>());
    return v.dump();
}

// FNV-1a, 64 bit: a fingerprint against mixing up folders by accident, not against forgery.
std::string fnv1a_hex(const std::string& text) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

const char* const kMetricColumns[] = {"heap.min_free",       "heap.peak_used",
                                      "heap.alloc_failures", "pcbs.max_close_to_free_s",
                                      "app.connects",        "app.tls_handshake_failures",
                                      "wall_time_s"};

} // namespace

std::string GridPoint::name() const {
    std::string n;
    for (const auto& [k, v] : values)
        n += k + "=" + folder_safe(v) + ",";
    return n + "seed=" + std::to_string(seed);
}

std::vector<std::string> GridPoint::sets() const {
    std::vector<std::string> s;
    for (const auto& [k, v] : values)
        s.push_back(k + "=" + v);
    return s;
}

std::vector<GridPoint> Grid::points() const {
    std::vector<GridPoint> out;
    std::vector<size_t> at(params.size(), 0);
    for (;;) {
        for (uint64_t seed : seeds) {
            GridPoint p;
            p.index = out.size();
            p.seed = seed;
            for (size_t i = 0; i < params.size(); ++i) {
                p.values.emplace_back(params[i].key, params[i].values[at[i]]);
            }
            out.push_back(std::move(p));
        }
        // Odometer, last parameter fastest.
        size_t i = params.size();
        while (i > 0 && ++at[i - 1] == params[i - 1].values.size())
            at[--i] = 0;
        if (i == 0)
            return out;
    }
}

std::string scenario_digest(const json& resolved_scenario) {
    json j = resolved_scenario;
    j.erase("source_path");
    if (j.contains("broker")) {
        for (const char* k : {"ca_file", "client_cert", "client_key"}) {
            if (j["broker"].contains(k) && j["broker"][k].is_string()) {
                j["broker"][k] = fs::path(j["broker"][k].get<std::string>()).filename().string();
            }
        }
    }
    return fnv1a_hex(j.dump());
}

std::string Grid::fingerprint() const {
    json j = to_json();
    j.erase("scenario_file");
    j.erase("grid_fingerprint");
    return fnv1a_hex(j.dump());
}

json Grid::to_json() const {
    json ps = json::array();
    for (const auto& p : params)
        ps.push_back({{"key", p.key}, {"values", p.values}});
    return {{"scenario", scenario},
            {"scenario_file", scenario_file},
            {"scenario_digest", scenario_digest},
            {"params", ps},
            {"seeds", seeds},
            {"variants", variants}};
}

Grid Grid::from_json(const json& j) {
    for (const char* k :
         {"scenario", "scenario_file", "scenario_digest", "params", "seeds", "variants"}) {
        if (!j.contains(k)) {
            throw UsageError(std::string("sweep.json has no '") + k +
                             "' (written by another lwipsim version?)");
        }
    }
    Grid g;
    g.scenario = j.at("scenario").get<std::string>();
    g.scenario_file = j.at("scenario_file").get<std::string>();
    g.scenario_digest = j.at("scenario_digest").get<std::string>();
    for (const auto& p : j.at("params")) {
        g.params.push_back(
            {p.at("key").get<std::string>(), p.at("values").get<std::vector<std::string>>()});
    }
    g.seeds = j.at("seeds").get<std::vector<uint64_t>>();
    g.variants = j.at("variants").get<std::vector<std::string>>();
    return g;
}

SweepParam parse_param(const std::string& text) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
        throw UsageError("--param " + text + ": expected KEY=V1,V2,...");
    }
    SweepParam p{text.substr(0, eq), {}};
    std::stringstream ss(text.substr(eq + 1));
    for (std::string v; std::getline(ss, v, ',');) {
        if (v.empty())
            throw UsageError("--param " + text + ": empty value");
        p.values.push_back(v);
    }
    if (text.back() == ',')
        throw UsageError("--param " + text + ": empty value");
    return p;
}

std::pair<int, int> parse_shard(const std::string& text) {
    int k = 0, n = 0;
    char slash = 0, extra = 0;
    std::istringstream in(text);
    if (!(in >> k >> slash >> n) || slash != '/' || (in >> extra) || n < 1 || k < 1 || k > n) {
        throw UsageError("--shard " + text + ": expected K/N with 1 <= K <= N");
    }
    return {k, n};
}

namespace {

// Writes `text` to `file` through a temporary file in the same folder and a rename.
void write_atomically(const fs::path& file, const std::string& text) {
    fs::path tmp = file;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out.flush())
            throw std::runtime_error("cannot write " + tmp.string());
    }
    fs::rename(tmp, file);
}

} // namespace

json write_sweep_table(const fs::path& dir, const Grid& grid, const std::vector<size_t>& ran,
                       std::pair<int, int> shard, const std::string& shard_source) {
    auto points = grid.points();
    json rows = json::array();
    for (size_t index : ran) {
        const GridPoint& p = points.at(index);
        for (const auto& v : grid.variants) {
            KeyFigures k = read_key_figures(dir / p.name() / v);
            json row = {{"point", p.index}, {"point_name", p.name()}};
            json params = json::object();
            for (const auto& [key, value] : p.values)
                params[key] = value;
            row["params"] = params;
            row["seed"] = p.seed;
            row["variant"] = v;
            row["status"] = k.status;
            auto opt = [](const auto& o) { return o ? json(*o) : json(nullptr); };
            row["heap.min_free"] = opt(k.min_free); // null without a budget
            row["heap.peak_used"] = opt(k.peak_used);
            row["heap.alloc_failures"] = opt(k.alloc_failures);
            row["pcbs.max_close_to_free_s"] = opt(k.max_close_to_free_s);
            row["app.connects"] = opt(k.connects);
            row["app.tls_handshake_failures"] = opt(k.tls_handshake_failures);
            row["wall_time_s"] = opt(k.wall_time_s);
            row["folder"] = p.name() + "/" + v;
            std::ifstream err(dir / p.name() / (v + ".error.txt"));
            std::stringstream es;
            es << err.rdbuf();
            row["error"] = k.status == "error" ? json(es.str()) : json(nullptr);
            rows.push_back(row);
        }
    }
    json all = json::array();
    for (const auto& p : points)
        all.push_back({{"index", p.index}, {"name", p.name()}});
    json doc = grid.to_json();
    doc["grid_fingerprint"] = grid.fingerprint();
    doc["points"] = all;
    doc["shard"] = shard.second == 0
                       ? json(nullptr)
                       : json({{"k", shard.first},
                               {"n", shard.second},
                               {"from", shard_source.empty() ? "--shard" : shard_source}});
    doc["ran"] = ran;
    doc["rows"] = rows;
    write_atomically(dir / "sweep.json", doc.dump(2) + '\n');

    std::ostringstream csv;
    csv << "point";
    for (const auto& p : grid.params)
        csv << ',' << csv_field(p.key);
    csv << ",seed,variant,status";
    for (const char* c : kMetricColumns)
        csv << ',' << c;
    csv << ",folder,error\n";
    for (const auto& r : rows) {
        csv << r["point"].get<size_t>();
        for (const auto& p : grid.params)
            csv << ',' << csv_value(r["params"][p.key]);
        csv << ',' << r["seed"].get<uint64_t>() << ',' << csv_value(r["variant"]) << ','
            << csv_value(r["status"]);
        for (const char* c : kMetricColumns)
            csv << ',' << csv_value(r[c]);
        csv << ',' << csv_value(r["folder"]) << ',' << csv_value(r["error"]) << '\n';
    }
    write_atomically(dir / "sweep.csv", csv.str());
    return rows;
}

} // namespace lwipsim::cli
