#include "harness/scenario/loader.h"

#include "harness/scenario/metrics.h"
#include "harness/scenario/path_access.h"
#include "harness/scenario/scenario_error.h"
#include "harness/scenario/units.h"

#include <yaml-cpp/yaml.h>

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

namespace lwipsim::scenario {
namespace {

// A file larger than this is not a hand-written scenario; refusing it keeps the fuzzer and
// a mistaken `--scenario /dev/zero` from eating memory.
constexpr size_t kMaxFileBytes = 1 << 20;
// Nodes grafted by an override carry this tag + an index into Doc::origins_, so an error in
// them points at the --set text or the variant entry instead of a meaningless mark.
constexpr std::string_view kOriginTag = "!lwipsim-origin:";
constexpr int kMaxDepth = 64;

// Offset of the first byte that breaks UTF-8, or npos. YAML text is Unicode and the results
// JSON must be valid UTF-8, so bad bytes are refused at the door, with their position.
size_t invalid_utf8_at(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        size_t len = c < 0x80           ? 1
                     : (c >> 5) == 0x6  ? 2
                     : (c >> 4) == 0xE  ? 3
                     : (c >> 3) == 0x1E ? 4
                                        : 0;
        if (len == 0 || i + len > s.size())
            return i;
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
        for (size_t k = 1; k < len; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc >> 6) != 0x2)
                return i;
            cp = (cp << 6) | (cc & 0x3Fu);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return i;
        i += len;
    }
    return std::string_view::npos;
}

constexpr const char* kNotUtf8 = "not valid UTF-8 once decoded (the YAML escapes \\N and \\_ "
                                 "are not supported: write the character itself)";

// The `line`th (0-based) line of `text`, without its newline.
std::string_view line_at(std::string_view text, int line) {
    size_t start = 0;
    for (int i = 0; i < line; ++i) {
        size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos)
            return {};
        start = nl + 1;
    }
    size_t end = text.find('\n', start);
    return text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

struct SyntaxAdvice {
    std::string message;
    int column; ///< 0-based column on the error's line
};

// yaml-cpp names its parser states ("illegal map value", "unexpected character in block
// scalar"); a scenario author needs to know what to write instead. The two mistakes seen in
// practice: tabs in the indentation, and a plain value that starts with a YAML indicator
// (`op: >=`, where '>' starts a folded block).
SyntaxAdvice yaml_syntax_advice(std::string_view text, const YAML::Mark& mark,
                                const std::string& parser_words) {
    const std::string parser = " (YAML parser: " + parser_words + ")";
    std::string_view line = line_at(text, mark.line);
    size_t indent_end = std::min(line.find_first_not_of(" \t"), line.size());
    if (line.substr(0, indent_end).find('\t') != std::string_view::npos)
        return {"tab in the indentation: YAML does not allow tabs for indentation; use spaces" +
                    parser,
                static_cast<int>(line.substr(0, indent_end).find('\t'))};
    struct Indicator {
        char c;
        const char* meaning;
    };
    static constexpr Indicator kIndicators[] = {
        {'>', "starts a folded block"}, {'|', "starts a literal block"}, {'@', "is reserved"},
        {'`', "is reserved"},           {'%', "starts a directive"},     {'!', "starts a tag"},
        {'&', "starts an anchor"},      {'*', "starts an alias"}};
    // The plain value on this line: after "key: " or "- ".
    for (size_t at = indent_end; at < line.size(); ++at) {
        bool after_key = line[at] == ':' && at + 1 < line.size() && line[at + 1] == ' ';
        bool after_dash =
            at == indent_end && line[at] == '-' && at + 1 < line.size() && line[at + 1] == ' ';
        if (!after_key && !after_dash)
            continue;
        size_t v = line.find_first_not_of(' ', at + 1);
        if (v == std::string_view::npos)
            break;
        std::string_view value = line.substr(v);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\r'))
            value.remove_suffix(1);
        for (const Indicator& ind : kIndicators) {
            if (value.empty() || value.front() != ind.c)
                continue;
            std::string key(line.substr(indent_end, at + 1 - indent_end));
            return {"quote it: " + key + " '" + std::string(value) + "' (an unquoted '" +
                        std::string(1, ind.c) + "' " + ind.meaning + " in YAML)" + parser,
                    static_cast<int>(v)};
        }
        if (after_key)
            break;
    }
    return {parser_words, mark.column};
}

struct Origin {
    std::string set_text; // non-empty: a --set override
    int line = 0;         // else: 1-based file position of the variant's `set` entry
    int column = 0;       // for a --set: 1-based column in set_text where the node's text starts
};

struct Field {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
};

const char* kind_name(const YAML::Node& n) {
    switch (n.Type()) {
    case YAML::NodeType::Map:
        return "a map";
    case YAML::NodeType::Sequence:
        return "a list";
    case YAML::NodeType::Scalar:
        return "a scalar";
    case YAML::NodeType::Null:
        return "nothing";
    case YAML::NodeType::Undefined:
        return "nothing";
    }
    return "?";
}

size_t common_prefix(std::string_view a, std::string_view b) {
    size_t n = 0;
    while (n < a.size() && n < b.size() && a[n] == b[n])
        ++n;
    return n;
}

std::string suggestion(std::string_view word, std::span<const std::string_view> candidates) {
    size_t best = std::string_view::npos;
    size_t best_prefix = 0;
    std::string_view best_word;
    for (std::string_view c : candidates) {
        size_t d = edit_distance(word, c);
        // On a tie the longer shared start wins: authors get the beginning of a name right
        // (heap.final_free -> heap.final_used, not heap.min_free).
        size_t prefix = common_prefix(word, c);
        if (d < best || (d == best && prefix > best_prefix)) {
            best = d;
            best_prefix = prefix;
            best_word = c;
        }
    }
    // Beyond about a third of the word, a "suggestion" is a different word.
    size_t limit = std::max<size_t>(2, word.size() / 3);
    if (best_word.empty() || best > limit)
        return {};
    return " (did you mean '" + std::string(best_word) + "'?)";
}

std::string join(std::span<const std::string_view> words) {
    std::string out;
    for (std::string_view w : words)
        out += (out.empty() ? "" : ", ") + std::string(w);
    return out;
}

std::string dotted(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

/// The document being resolved: owns the error positions.
class Doc {
  public:
    explicit Doc(std::string file) : file_(std::move(file)) {}

    [[noreturn]] void fail(const YAML::Node& at, const std::string& message) const {
        const std::string tag = at.IsDefined() ? at.Tag() : std::string();
        if (tag.rfind(kOriginTag, 0) == 0) {
            // Our own tag on a node an override made; the same text written in a file by
            // hand is just an unknown tag (fuzzing found it ending in std::stoul's throw).
            std::string_view digits = std::string_view(tag).substr(kOriginTag.size());
            size_t idx = 0;
            auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), idx);
            if (ec == std::errc() && end == digits.data() + digits.size() &&
                idx < origins_.size()) {
                const Origin& o = origins_[idx];
                if (o.set_text.empty())
                    throw ScenarioError(file_, o.line, o.column, message);
                // A node parsed from the --set value keeps its mark within that value: point
                // at its own column, not just at the value's start.
                YAML::Mark m = at.Mark();
                int column = o.column + (m.is_null() || m.line != 0 ? 0 : m.column);
                throw ScenarioError(file_, 0, column, message, o.set_text);
            }
        }
        YAML::Mark m = at.IsDefined() ? at.Mark() : YAML::Mark::null_mark();
        if (m.is_null())
            throw ScenarioError(file_, 0, 0, message);
        throw ScenarioError(file_, m.line + 1, m.column + 1, message);
    }
    /// Keys created by an override have no mark; their value knows where they came from.
    [[noreturn]] void fail_key(const Field& f, const std::string& message) const {
        if (!f.key_node.Mark().is_null() && f.key_node.Tag().rfind(kOriginTag, 0) != 0 &&
            f.value.IsDefined() && f.value.Tag().rfind(kOriginTag, 0) != 0)
            fail(f.key_node, message);
        fail(f.value, message);
    }

    size_t add_origin(Origin o) {
        origins_.push_back(std::move(o));
        return origins_.size() - 1;
    }
    static void tag_tree(YAML::Node n, size_t origin, int depth = 0) {
        if (depth > kMaxDepth)
            return;
        n.SetTag(std::string(kOriginTag) + std::to_string(origin));
        if (n.IsMap()) {
            for (auto it = n.begin(); it != n.end(); ++it)
                tag_tree(it->second, origin, depth + 1);
        } else if (n.IsSequence()) {
            for (auto it = n.begin(); it != n.end(); ++it)
                tag_tree(*it, origin, depth + 1);
        }
    }

    const std::string& file() const { return file_; }

  private:
    std::string file_;
    std::vector<Origin> origins_;
};

/// A YAML map checked against the keys it may hold: unknown keys, duplicates and non-maps
/// fail at construction. A null node (`app:` with nothing under it) is an empty section.
class Section {
  public:
    Section(const Doc& doc, const YAML::Node& node, std::string path,
            std::initializer_list<std::string_view> allowed)
        : Section(doc, node, std::move(path),
                  std::span<const std::string_view>(allowed.begin(), allowed.size())) {}
    Section(const Doc& doc, const YAML::Node& node, std::string path,
            std::span<const std::string_view> allowed)
        : doc_(doc), node_(node), path_(std::move(path)) {
        if (!node.IsDefined() || node.IsNull())
            return;
        if (!node.IsMap())
            doc.fail(node, where() + " must be a map of keys, got " + kind_name(node));
        std::vector<std::string_view> allowed_v(allowed.begin(), allowed.end());
        for (auto it = node.begin(); it != node.end(); ++it) {
            Field f{it->first.IsScalar() ? it->first.Scalar() : std::string(), it->first,
                    it->second};
            if (!it->first.IsScalar())
                doc.fail(it->first, "keys must be plain words in " + where());
            if (std::find(allowed_v.begin(), allowed_v.end(), f.key) == allowed_v.end()) {
                doc.fail_key(f, "unknown key '" + f.key + "' in " + where() +
                                    suggestion(f.key, allowed_v));
            }
            for (const Field& seen : fields_) {
                if (seen.key == f.key) {
                    std::string first = seen.key_node.Mark().is_null()
                                            ? std::string()
                                            : " (first at line " +
                                                  std::to_string(seen.key_node.Mark().line + 1) +
                                                  ")";
                    doc.fail_key(f, "duplicate key '" + f.key + "' in " + where() + first);
                }
            }
            fields_.push_back(std::move(f));
        }
    }

    const Field* find(std::string_view key) const {
        for (const Field& f : fields_) {
            if (f.key == key)
                return &f;
        }
        return nullptr;
    }
    const Field& require(std::string_view key) const {
        const Field* f = find(key);
        if (!f)
            doc_.fail(node_, "missing required key '" + std::string(key) + "' in " + where());
        return *f;
    }
    std::string where() const { return path_.empty() ? "the top level" : path_; }
    std::string path_of(const Field& f) const { return dotted(path_, f.key); }
    const YAML::Node& node() const { return node_; }

  private:
    const Doc& doc_;
    YAML::Node node_;
    std::string path_;
    std::vector<Field> fields_;
};

/// Typed readers for one field; every error names the key path.
class Values {
  public:
    Values(const Doc& doc, const Section& s) : doc_(doc), s_(s) {}

    std::string scalar(const Field& f, const char* what) const {
        if (!f.value.IsScalar())
            fail(f, std::string("expected ") + what + ", got " + kind_name(f.value));
        // The file is checked as UTF-8, but yaml-cpp decodes the escapes \N and \_ to single
        // raw bytes (0x85, 0xA0), which are not; they then broke every JSON writer
        // (summary.json, the sweep's grid digest). Found by fuzzing.
        if (invalid_utf8_at(f.value.Scalar()) != std::string_view::npos)
            fail(f, kNotUtf8);
        // yaml-cpp keeps a lone CR (not CRLF) inside a plain value, and it does not survive
        // writing the scenario back (scenario_resolved, to_yaml): refused. Found by fuzzing.
        if (f.value.Scalar().find('\r') != std::string::npos)
            fail(f, "a carriage return inside the value (a lone CR line ending?)");
        return f.value.Scalar();
    }
    std::string str(const Field& f) const {
        std::string v = scalar(f, "a string");
        if (v.empty())
            fail(f, "must not be empty");
        return v;
    }
    bool boolean(const Field& f) const {
        std::string v = scalar(f, "true or false");
        for (const char* t : {"true", "True", "TRUE", "yes", "Yes", "on", "On"})
            if (v == t)
                return true;
        for (const char* t : {"false", "False", "FALSE", "no", "No", "off", "Off"})
            if (v == t)
                return false;
        fail(f, "expected true or false, got '" + v + "'");
    }
    uint64_t integer(const Field& f, uint64_t lo, uint64_t hi) const {
        std::string v = scalar(f, "a whole number");
        uint64_t out = 0;
        auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
        if (ec == std::errc::result_out_of_range)
            fail(f, "number '" + v + "' is too large");
        if (ec != std::errc() || ptr != v.data() + v.size())
            fail(f, "expected a whole number, got '" + v + "'");
        if (out < lo || out > hi)
            fail(f,
                 v + " is out of range (" + std::to_string(lo) + ".." + std::to_string(hi) + ")");
        return out;
    }
    SimDuration duration(const Field& f, SimDuration lo = SimDuration{0},
                         SimDuration hi = SimDuration::max()) const {
        auto r = parse_duration(scalar(f, "a duration"));
        if (auto* e = std::get_if<std::string>(&r))
            fail(f, *e);
        SimDuration d = std::get<SimDuration>(r);
        if (d < lo)
            fail(f, "must be at least " + format_duration(lo));
        if (d > hi)
            fail(f, "must be at most " + format_duration(hi));
        return d;
    }
    uint64_t size(const Field& f, uint64_t lo, uint64_t hi) const {
        auto r = parse_size(scalar(f, "a size"));
        if (auto* e = std::get_if<std::string>(&r))
            fail(f, *e);
        uint64_t v = std::get<uint64_t>(r);
        if (v < lo || v > hi)
            fail(f, format_size(v) + " is out of range (" + format_size(lo) + ".." +
                        format_size(hi) + ")");
        return v;
    }
    uint64_t rate(const Field& f) const {
        auto r = parse_rate(scalar(f, "a rate"));
        if (auto* e = std::get_if<std::string>(&r))
            fail(f, *e);
        uint64_t v = std::get<uint64_t>(r);
        if (v == 0)
            fail(f, "rate must be above 0 (leave the key out for no limit)");
        return v;
    }
    double probability(const Field& f) const {
        auto r = parse_probability(scalar(f, "a probability"));
        if (auto* e = std::get_if<std::string>(&r))
            fail(f, *e);
        return std::get<double>(r);
    }
    template <typename E> E choice(const Field& f, E last) const {
        std::string v = scalar(f, "a name");
        std::vector<std::string_view> names;
        for (int i = 0; i <= static_cast<int>(last); ++i) {
            E e = static_cast<E>(i);
            if (v == to_string(e))
                return e;
            names.emplace_back(to_string(e));
        }
        fail(f, "unknown value '" + v + "' (expected one of: " + join(names) + ")" +
                    suggestion(v, names));
    }

    [[noreturn]] void fail(const Field& f, const std::string& message) const {
        doc_.fail(f.value.IsDefined() && !f.value.IsNull() ? f.value : f.key_node,
                  s_.path_of(f) + ": " + message);
    }

  private:
    const Doc& doc_;
    const Section& s_;
};

// ---- overrides -------------------------------------------------------------------------

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Grafts `value` at `path` in `root`. `origin` is where errors in grafted nodes point.
void apply_override(Doc& doc, YAML::Node root, const std::string& path, YAML::Node value,
                    size_t origin, const YAML::Node& blame) {
    std::vector<std::string> parts;
    std::stringstream ss(path);
    for (std::string part; std::getline(ss, part, '.');)
        parts.push_back(part);
    if (parts.empty() || path.back() == '.' ||
        std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); }))
        doc.fail(blame, "bad key path '" + path + "' (expected words joined by dots)");
    if (parts[0] == "variants")
        doc.fail(blame, "'" + path + "': variants cannot be changed by an override");

    YAML::Node cur = root;
    std::string walked;
    for (size_t i = 0; i < parts.size(); ++i) {
        const std::string& key = parts[i];
        bool last = i + 1 == parts.size();
        if (cur.IsSequence()) {
            size_t idx = cur.size();
            if (all_digits(key) && key.size() < 9) {
                idx = std::stoul(key);
            } else {
                for (size_t j = 0; j < cur.size(); ++j) {
                    YAML::Node el = cur[j];
                    if (el.IsMap() && el["name"] && el["name"].IsScalar() &&
                        el["name"].Scalar() == key)
                        idx = j;
                }
            }
            if (idx >= cur.size())
                doc.fail(blame, "'" + path + "': no element '" + key + "' in " + walked +
                                    " (use an index from 0 or an element's name)");
            if (last) {
                cur[idx] = value;
                return;
            }
            cur.reset(cur[idx]);
        } else if (cur.IsMap() || cur.IsNull()) {
            if (last) {
                cur[key] = value;
                return;
            }
            YAML::Node next = cur[key];
            if (!next.IsDefined() || next.IsNull()) {
                // A section the key path creates: its errors point at the key path (a --set's
                // column 1), or at the variant's entry.
                YAML::Node fresh(YAML::NodeType::Map);
                if (blame.Tag().rfind(kOriginTag, 0) == 0)
                    fresh.SetTag(blame.Tag());
                else
                    Doc::tag_tree(fresh, origin);
                cur[key] = fresh;
                next.reset(cur[key]);
            }
            cur.reset(next);
        } else {
            doc.fail(blame, "'" + path + "': " + walked + " is a single value, not a section");
        }
        walked = dotted(walked, key);
    }
}

struct RawVariant {
    std::string name;
    YAML::Node name_node;
    std::vector<Field> set; // key = path, value = node in the file
};

std::string yaml_text(const YAML::Node& n) {
    if (n.IsScalar())
        return n.Scalar();
    YAML::Emitter out;
    out.SetMapFormat(YAML::Flow);
    out.SetSeqFormat(YAML::Flow);
    out << n;
    return out.c_str();
}

bool valid_variant_name(std::string_view n) {
    return !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
    });
}

std::vector<RawVariant> read_variants(const Doc& doc, const Section& top) {
    std::vector<RawVariant> out;
    const Field* vf = top.find("variants");
    if (!vf || vf->value.IsNull())
        return out;
    if (!vf->value.IsSequence())
        doc.fail(vf->value, "variants: expected a list, got " + std::string(kind_name(vf->value)));
    for (size_t i = 0; i < vf->value.size(); ++i) {
        std::string path = "variants[" + std::to_string(i) + "]";
        Section s(doc, vf->value[i], path, {"name", "description", "set"});
        if (!vf->value[i].IsMap())
            doc.fail(vf->value[i], path + " must be a map");
        Values v(doc, s);
        RawVariant rv;
        const Field& nf = s.require("name");
        rv.name = v.str(nf);
        rv.name_node = nf.value;
        if (!valid_variant_name(rv.name))
            v.fail(nf, "'" + rv.name + "' may only hold letters, digits, '_', '-' and '.'");
        if (rv.name == "base")
            v.fail(nf, "'base' is reserved for the scenario without variant");
        for (const RawVariant& other : out)
            if (other.name == rv.name)
                v.fail(nf, "duplicate variant name '" + rv.name + "'");
        if (const Field* df = s.find("description"))
            v.scalar(*df, "a string");
        if (const Field* sf = s.find("set")) {
            if (!sf->value.IsMap())
                v.fail(*sf, "expected a map of key.path: value");
            for (auto it = sf->value.begin(); it != sf->value.end(); ++it) {
                if (!it->first.IsScalar())
                    doc.fail(it->first, "set: keys must be key paths");
                rv.set.push_back(Field{it->first.Scalar(), it->first, it->second});
            }
        }
        out.push_back(std::move(rv));
    }
    return out;
}

// ---- sections -------------------------------------------------------------------------

bool is_loopback(const std::string& host) {
    if (host == "localhost" || host == "::1")
        return true;
    in_addr a{};
    return inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

PacketFilter read_filter(const Doc& doc, const YAML::Node& n, const std::string& path) {
    Section s(doc, n, path, {"src", "dst", "sport", "dport", "proto"});
    Values v(doc, s);
    PacketFilter pf;
    auto address = [&](const char* key, std::string& out) {
        if (const Field* f = s.find(key)) {
            out = v.str(*f);
            in_addr a{};
            if (out != "device" && out != "broker" && inet_pton(AF_INET, out.c_str(), &a) != 1)
                v.fail(*f, "expected an IPv4 address or 'device' or 'broker', got '" + out + "'");
        }
    };
    address("src", pf.src);
    address("dst", pf.dst);
    if (const Field* f = s.find("sport"))
        pf.sport = static_cast<uint16_t>(v.integer(*f, 1, 65535));
    if (const Field* f = s.find("dport"))
        pf.dport = static_cast<uint16_t>(v.integer(*f, 1, 65535));
    if (const Field* f = s.find("proto")) {
        pf.proto = v.str(*f);
        static constexpr std::string_view kProtos[] = {"tcp", "udp", "icmp", "arp"};
        if (std::find(std::begin(kProtos), std::end(kProtos), pf.proto) == std::end(kProtos))
            v.fail(*f, "unknown protocol '" + pf.proto +
                           "' (expected one of: tcp, udp, icmp, arp)" +
                           suggestion(pf.proto, kProtos));
    }
    return pf;
}

FaultParams read_params(const Doc& doc, const YAML::Node& n, const std::string& path,
                        FaultType type) {
    switch (type) {
    case FaultType::kBlackhole:
    case FaultType::kLinkDown:
    case FaultType::kReset:
    case FaultType::kBrokerPause: {
        Section s(doc, n, path, {});
        return std::monostate{};
    }
    case FaultType::kBrokerStop:
    case FaultType::kBrokerRestart: {
        Section s(doc, n, path, {"signal"});
        BrokerStopParams p;
        if (const Field* f = s.find("signal")) {
            const std::string v = Values(doc, s).scalar(*f, "a name");
            if (v != "term" && v != "kill")
                Values(doc, s).fail(*f, "unknown value '" + v + "' (expected one of: term, kill)");
            p.kill = v == "kill";
        }
        return p;
    }
    case FaultType::kNatReset: {
        Section s(doc, n, path, {"rst_stale_flows"});
        Values v(doc, s);
        NatResetParams p;
        if (const Field* f = s.find("rst_stale_flows"))
            p.rst_stale_flows = v.boolean(*f);
        return p;
    }
    case FaultType::kLoss: {
        Section s(doc, n, path, {"rate"});
        return LossParams{Values(doc, s).probability(s.require("rate"))};
    }
    case FaultType::kBurstLoss: {
        Section s(doc, n, path, {"p", "r", "loss_good", "loss_bad"});
        Values v(doc, s);
        BurstLossParams p;
        p.p = v.probability(s.require("p"));
        p.r = v.probability(s.require("r"));
        if (const Field* f = s.find("loss_good"))
            p.loss_good = v.probability(*f);
        if (const Field* f = s.find("loss_bad"))
            p.loss_bad = v.probability(*f);
        // r = 0 with p > 0 makes the bad state absorbing: a blackhole spelled obscurely.
        if (p.r == 0 && p.p > 0)
            v.fail(s.require("r"),
                   "must be above 0 (the bad state would never end; use blackhole)");
        return p;
    }
    case FaultType::kDelay: {
        Section s(doc, n, path, {"delay", "jitter"});
        Values v(doc, s);
        DelayParams p;
        p.delay = v.duration(s.require("delay"), SimDuration{0}, std::chrono::hours(1));
        if (const Field* f = s.find("jitter")) {
            p.jitter = v.duration(*f, SimDuration{0}, std::chrono::hours(1));
            if (p.jitter > p.delay)
                v.fail(*f, "jitter must not exceed delay (" + format_duration(p.delay) + ")");
        }
        return p;
    }
    case FaultType::kRate: {
        Section s(doc, n, path, {"rate"});
        return RateParams{Values(doc, s).rate(s.require("rate"))};
    }
    case FaultType::kReorder: {
        Section s(doc, n, path, {"probability", "delay"});
        Values v(doc, s);
        ReorderParams p;
        p.probability = v.probability(s.require("probability"));
        p.delay =
            v.duration(s.require("delay"), std::chrono::microseconds(1), std::chrono::minutes(1));
        return p;
    }
    case FaultType::kDuplicate: {
        Section s(doc, n, path, {"probability"});
        return DuplicateParams{Values(doc, s).probability(s.require("probability"))};
    }
    case FaultType::kCorrupt: {
        Section s(doc, n, path, {"probability"});
        return CorruptParams{Values(doc, s).probability(s.require("probability"))};
    }
    }
    return std::monostate{};
}

// A fault's parameter written next to `type:` instead of under `params:` is a common slip;
// naming the right place beats suggesting a look-alike key.
void refuse_misplaced_params(const Doc& doc, const YAML::Node& n, const std::string& path) {
    static constexpr std::string_view kParamKeys[] = {
        "rate",  "p",      "r",           "loss_good",       "loss_bad",
        "delay", "jitter", "probability", "rst_stale_flows", "signal"};
    if (!n.IsMap())
        return;
    for (auto it = n.begin(); it != n.end(); ++it) {
        if (!it->first.IsScalar())
            continue;
        const std::string& key = it->first.Scalar();
        if (std::find(std::begin(kParamKeys), std::end(kParamKeys), key) == std::end(kParamKeys))
            continue;
        Field f{key, it->first, it->second};
        doc.fail_key(f, "'" + key + "' is a fault parameter: put it under 'params:' (" + path +
                            ".params." + key + ", e.g. params: {" + key + ": " +
                            (it->second.IsScalar() ? it->second.Scalar() : std::string("...")) +
                            "})");
    }
}

// `trigger:` of a fault or an app action. `no_program_events`: why event program_event can
// never fire here (empty: it can).
Trigger read_trigger(const Doc& doc, const Values& v, const Field& trig, const std::string& tpath,
                     std::string_view no_program_events) {
    Section ts(doc, trig.value, tpath, {"event", "count", "filter", "delay", "name"});
    if (!trig.value.IsMap())
        v.fail(trig, "expected a map with 'event'");
    Values tv(doc, ts);
    Trigger t;
    const Field& ef = ts.require("event");
    t.event = tv.choice(ef, TriggerEvent::kProgramEvent);
    if (const Field* f = ts.find("count"))
        t.count = static_cast<uint32_t>(tv.integer(*f, 1, 1000000000));
    if (const Field* f = ts.find("filter")) {
        if (t.event != TriggerEvent::kNthPacket)
            tv.fail(*f, "a packet filter applies only to event nth_packet");
        t.filter = read_filter(doc, f->value, tpath + ".filter");
    }
    if (const Field* f = ts.find("delay"))
        t.delay = tv.duration(*f);
    // program_event counts one lwipsim_event name of the device program (docs/programs.md).
    if (t.event == TriggerEvent::kProgramEvent) {
        const Field& f = ts.require("name");
        t.name = tv.str(f);
        if (!is_event_name(t.name))
            tv.fail(f, "not an event name (1..64 of letters, digits, '_', '.', '-')");
    } else if (const Field* f = ts.find("name")) {
        tv.fail(*f, "'name' applies only to event program_event");
    }
    if (t.event == TriggerEvent::kProgramEvent && !no_program_events.empty())
        tv.fail(ef, "program_event " + std::string(no_program_events));
    return t;
}

// `at: <time>` or `trigger:` of a fault or an app action (`what` names it in messages).
std::variant<SimDuration, Trigger> read_start(const Doc& doc, const Section& s, const Values& v,
                                              const std::string& path, const std::string& what,
                                              SimDuration scenario_duration,
                                              std::string_view no_program_events) {
    const Field* at = s.find("at");
    const Field* trig = s.find("trigger");
    if (at && trig)
        v.fail(*trig, "give either 'at' or 'trigger', not both");
    if (!at && !trig)
        doc.fail(s.node(), what + " needs a start: 'at: <time>' or 'trigger: {event: ...}'");
    if (trig)
        return read_trigger(doc, v, *trig, path + ".trigger", no_program_events);
    SimDuration t = v.duration(*at);
    if (t >= scenario_duration)
        v.fail(*at, "starts at " + format_duration(t) + ", not before the scenario ends (" +
                        format_duration(scenario_duration) + ")");
    return t;
}

FaultSpec read_fault(const Doc& doc, const YAML::Node& n, const std::string& path, size_t index,
                     SimDuration scenario_duration, bool has_program) {
    refuse_misplaced_params(doc, n, path);
    Section s(doc, n, path,
              {"type", "name", "at", "trigger", "for", "every", "direction", "filter", "params"});
    if (!n.IsMap())
        doc.fail(n, path + " must be a map");
    Values v(doc, s);
    FaultSpec fs;
    fs.type = v.choice(s.require("type"), FaultType::kBrokerPause);
    fs.name = std::string(to_string(fs.type)) + "_" + std::to_string(index);
    if (const Field* f = s.find("name"))
        fs.name = v.str(*f);
    // Only a device program calls lwipsim_event; the built-in client records no such events.
    fs.start = read_start(doc, s, v, path, "fault '" + fs.name + "'", scenario_duration,
                          has_program ? ""
                                      : "never fires without app.program (only a device "
                                        "program's lwipsim_event makes program events)");
    bool instantaneous = is_instantaneous(fs.type);
    const Field* dur = s.find("for");
    if (instantaneous && dur)
        v.fail(*dur, std::string(to_string(fs.type)) + " is instantaneous; 'for' does not apply");
    if (!instantaneous) {
        if (!dur)
            doc.fail(n, "fault '" + fs.name + "' (" + to_string(fs.type) +
                            ") has no end: add 'for: <duration>'");
        fs.duration = v.duration(*dur, std::chrono::microseconds(1));
    }
    if (const Field* f = s.find("every")) {
        SimDuration every = v.duration(*f, std::chrono::microseconds(1));
        if (fs.duration && every <= *fs.duration)
            v.fail(*f, "'every' (" + format_duration(every) + ") must be longer than 'for' (" +
                           format_duration(*fs.duration) + ")");
        fs.every = every;
    }
    if (is_broker_fault(fs.type)) {
        for (const char* k : {"direction", "filter"})
            if (const Field* f = s.find(k))
                doc.fail_key(*f, path + "." + k + ": " + to_string(fs.type) +
                                     " acts on the whole broker process, not on packets; '" + k +
                                     "' applies only to link faults");
    }
    if (const Field* f = s.find("direction"))
        fs.direction = v.choice(*f, Direction::kBoth);
    if (const Field* f = s.find("filter"))
        fs.filter = read_filter(doc, f->value, path + ".filter");
    YAML::Node params;
    if (const Field* f = s.find("params"))
        params = f->value;
    fs.params = read_params(doc, params, path + ".params", fs.type);
    return fs;
}

std::string resolve_file(const Doc& doc, const Values& v, const Field& f,
                         const std::filesystem::path& base_dir) {
    std::filesystem::path p = v.str(f);
    if (p.is_relative())
        p = base_dir / p;
    if (auto why = unreadable_file(p)) {
        v.fail(f, "file '" + f.value.Scalar() + "': " + *why + " (looked at " + p.string() + ")");
    }
    (void)doc;
    return p.lexically_normal().string();
}

void read_broker(const Doc& doc, const YAML::Node& n, BrokerSettings& b,
                 const std::filesystem::path& base_dir) {
    Section s(doc, n, "broker",
              {"mode", "host", "port", "ca_file", "server_name", "client_cert", "client_key",
               "expect_reachable", "persistence"});
    Values v(doc, s);
    if (const Field* f = s.find("mode"))
        b.mode = v.choice(*f, BrokerMode::kExternal);
    if (const Field* f = s.find("persistence")) {
        if (b.mode != BrokerMode::kManaged)
            doc.fail_key(*f, "broker.persistence applies only to 'mode: managed' (an external "
                             "broker is configured by whoever runs it)");
        b.persistence = v.boolean(*f);
    }
    if (b.mode == BrokerMode::kManaged) {
        for (const char* k : {"host", "port", "ca_file", "server_name", "client_cert", "client_key",
                              "expect_reachable"})
            if (const Field* f = s.find(k))
                doc.fail_key(*f, std::string("broker.") + k +
                                     " applies only to 'mode: external' (the managed broker is "
                                     "configured by lwipsim)");
        return;
    }
    const Field& hf = s.require("host");
    b.host = v.str(hf);
    // Simulated devices reach the host through loopback only; anything else would send
    // test traffic off the machine.
    if (!is_loopback(b.host))
        v.fail(hf, "'" + b.host + "' is not a loopback address (use localhost, 127.x.x.x or ::1)");
    if (const Field* f = s.find("port"))
        b.port = static_cast<uint16_t>(v.integer(*f, 1, 65535));
    if (const Field* f = s.find("expect_reachable"))
        b.expect_reachable = v.boolean(*f);
    b.ca_file = resolve_file(doc, v, s.require("ca_file"), base_dir);
    b.server_name = b.host;
    if (const Field* f = s.find("server_name"))
        b.server_name = v.str(*f);
    const Field* cert = s.find("client_cert");
    const Field* key = s.find("client_key");
    if (cert && !key)
        doc.fail(s.node(), "broker: client_cert needs client_key too");
    if (key && !cert)
        doc.fail(s.node(), "broker: client_key needs client_cert too");
    if (cert) {
        b.client_cert = resolve_file(doc, v, *cert, base_dir);
        b.client_key = resolve_file(doc, v, *key, base_dir);
    }
}

// One entry of app.actions; the keys a `do:` takes are checked against it.
AppAction read_action(const Doc& doc, const YAML::Node& n, const std::string& path, size_t index,
                      SimDuration scenario_duration) {
    Section s(
        doc, n, path,
        {"do", "name", "at", "trigger", "every", "topic", "qos", "count", "size", "interval"});
    if (!n.IsMap())
        doc.fail(n, path + " must be a map");
    Values v(doc, s);
    AppAction a;
    a.kind = v.choice(s.require("do"), ActionKind::kUnsubscribe);
    a.name = std::string(to_string(a.kind)) + "_" + std::to_string(index);
    if (const Field* f = s.find("name"))
        a.name = v.str(*f);
    // Actions are refused beside app.program (read_app), so no program event reaches them.
    a.start = read_start(doc, s, v, path, "action '" + a.name + "'", scenario_duration,
                         "never fires for app.actions: program events come only from "
                         "app.program, and actions drive the built-in client, which does not "
                         "run with a program");
    // Which keys each `do:` takes besides the timing ones.
    std::vector<std::string_view> takes;
    if (a.kind == ActionKind::kPublish)
        takes = {"topic", "qos", "count", "size", "interval"};
    else if (a.kind == ActionKind::kSubscribe)
        takes = {"topic", "qos"};
    else if (a.kind == ActionKind::kUnsubscribe)
        takes = {"topic"};
    for (const char* key : {"topic", "qos", "count", "size", "interval"}) {
        const Field* f = s.find(key);
        if (f && std::find(takes.begin(), takes.end(), key) == takes.end())
            doc.fail_key(*f, std::string("'") + key + "' does not apply to 'do: " +
                                 to_string(a.kind) + "' (" + path + ")");
    }
    if (!takes.empty()) {
        const Field& tf = s.require("topic");
        a.topic = v.str(tf);
        // MQTT 3.1.1 4.7.1: wildcards only in filters, never in a topic published to.
        if (a.kind == ActionKind::kPublish && a.topic.find_first_of("+#") != std::string::npos)
            v.fail(tf, "a publish topic may not hold wildcards + or #");
    }
    // The client publishes at QoS 0 or 1 (sim/device/mqtt_session.h); it may subscribe at 2.
    if (const Field* f = s.find("qos"))
        a.qos = static_cast<uint32_t>(v.integer(*f, 0, a.kind == ActionKind::kPublish ? 1 : 2));
    if (const Field* f = s.find("count"))
        a.count = v.integer(*f, 1, 1000000);
    // 256 MiB - 1 is MQTT's largest remaining length.
    if (const Field* f = s.find("size"))
        a.size = v.size(*f, 0, 268435455);
    if (const Field* f = s.find("interval"))
        a.interval = v.duration(*f);
    if (const Field* f = s.find("every")) {
        a.every = v.duration(*f, std::chrono::microseconds(1));
        const SimDuration burst = a.interval * static_cast<int64_t>(a.count - 1);
        if (a.kind == ActionKind::kPublish && *a.every <= burst)
            v.fail(*f, "'every' (" + format_duration(*a.every) +
                           ") must be longer than the burst (" + format_duration(burst) + ")");
    }
    return a;
}

// app.actions: a list like `faults`, in its own reader (docs/scenarios.md).
std::vector<AppAction> read_app_actions(const Doc& doc, const Values& v, const Field& f,
                                        SimDuration scenario_duration) {
    std::vector<AppAction> out;
    if (f.value.IsNull())
        return out;
    if (!f.value.IsSequence())
        v.fail(f, std::string("expected a list of actions, got ") + kind_name(f.value));
    for (size_t i = 0; i < f.value.size(); ++i) {
        AppAction a = read_action(doc, f.value[i], "app.actions[" + std::to_string(i) + "]", i,
                                  scenario_duration);
        for (const AppAction& other : out)
            if (other.name == a.name)
                doc.fail(f.value[i], "duplicate action name '" + a.name + "'");
        out.push_back(std::move(a));
    }
    return out;
}

// app.program and app.args: the user's device program (docs/programs.md). Args are plain
// key/values; the program reads them as strings.
void read_app_program(const Doc& doc, const Section& s, const Values& v, AppSettings& a,
                      const std::filesystem::path& base_dir) {
    const Field* f = s.find("program");
    const Field* args = s.find("args");
    if (f == nullptr) {
        if (args != nullptr)
            v.fail(*args, "app.args are for app.program; the built-in client takes none");
        return;
    }
    ProgramSettings p;
    p.path = resolve_file(doc, v, *f, base_dir);
    if (args != nullptr) {
        const YAML::Node& m = args->value;
        if (!m.IsNull() && !m.IsMap())
            v.fail(*args, std::string("expected a map of key: value, got ") + kind_name(m));
        for (auto it = m.begin(); m.IsMap() && it != m.end(); ++it) {
            if (!it->first.IsScalar() || !it->second.IsScalar())
                doc.fail(it->second, "app.args: each entry must be a plain key: value");
            const std::string key = it->first.Scalar();
            for (const auto& seen : p.args)
                if (seen.first == key)
                    doc.fail(it->first, "duplicate key '" + key + "' in app.args");
            p.args.emplace_back(key, it->second.Scalar());
        }
    }
    a.program = std::move(p);
}

// https_server: for device programs; it serves the managed broker's certificate.
HttpsServerSettings read_https_server(const Doc& doc, const Field& f, const Scenario& sc) {
    Section s(doc, f.value, "https_server", {"size"});
    Values v(doc, s);
    if (sc.broker.mode != BrokerMode::kManaged)
        doc.fail_key(f, "https_server needs broker.mode managed (it serves the managed "
                        "broker's test certificate)");
    if (sc.link.kind == LinkKind::kTap)
        doc.fail_key(f, "https_server runs on the host's loopback: not with link.kind tap");
    HttpsServerSettings h;
    if (const Field* g = s.find("size"))
        h.size = v.size(*g, 1, 64 << 20);
    return h;
}

void read_app(const Doc& doc, const YAML::Node& n, AppSettings& a,
              const std::filesystem::path& base_dir, SimDuration scenario_duration) {
    Section s(doc, n, "app",
              {"program", "args", "client_id", "keepalive", "clean_session", "username", "password",
               "will", "publish", "subscribe", "reconnect_delay", "network_timeout", "linger",
               "close_notify", "buffer_size", "out_buffer_size", "actions"});
    Values v(doc, s);
    read_app_program(doc, s, v, a, base_dir);
    if (const Field* f = s.find("client_id")) {
        a.client_id = v.str(*f);
        // MQTT 3.1.1 3.1.3.1: servers must accept 1..23 bytes; more is implementation-defined.
        if (a.client_id.size() > 23)
            v.fail(*f, "longer than 23 bytes (MQTT 3.1.1 limit servers must accept)");
    }
    if (const Field* f = s.find("keepalive")) {
        a.keepalive = v.duration(*f, SimDuration{0}, std::chrono::seconds(65535));
        if (a.keepalive % std::chrono::seconds(1) != SimDuration{0})
            v.fail(*f, "MQTT keepalive is whole seconds");
    }
    if (const Field* f = s.find("clean_session"))
        a.clean_session = v.boolean(*f);
    auto topic = [&](const Section& ts, Values& tv) {
        std::string t = tv.str(ts.require("topic"));
        return t;
    };
    // Topics a client publishes to (MQTT 3.1.1 4.7.1: wildcards only in filters).
    auto publish_topic = [&](const Section& ts, Values& tv, const char* what) {
        std::string t = topic(ts, tv);
        if (t.find_first_of("+#") != std::string::npos)
            tv.fail(ts.require("topic"),
                    std::string("a ") + what + " may not hold wildcards + or #");
        return t;
    };
    if (const Field* f = s.find("username"))
        a.username = v.str(*f);
    if (const Field* f = s.find("password")) {
        if (!a.username)
            v.fail(*f, "a password needs app.username too (MQTT 3.1.1 [MQTT-3.1.2-22])");
        a.password = v.str(*f);
    }
    if (const Field* f = s.find("will")) {
        Section ws(doc, f->value, "app.will", {"topic", "payload", "qos", "retain"});
        Values wv(doc, ws);
        WillSettings w;
        w.topic = publish_topic(ws, wv, "will topic");
        // May be empty: MQTT 3.1.1 allows a zero-length will message (3.1.3.3), and a will
        // without `payload` is written back as `payload: ''` (found by fuzzing).
        if (const Field* g = ws.find("payload"))
            w.payload = wv.scalar(*g, "a string");
        if (const Field* g = ws.find("qos"))
            w.qos = static_cast<uint32_t>(wv.integer(*g, 0, 2));
        if (const Field* g = ws.find("retain"))
            w.retain = wv.boolean(*g);
        a.will = w;
    }
    if (const Field* f = s.find("publish")) {
        Section ps(doc, f->value, "app.publish", {"topic", "interval", "size", "qos", "retain"});
        Values pv(doc, ps);
        PublishSettings p;
        p.topic = publish_topic(ps, pv, "publish topic");
        if (const Field* g = ps.find("interval"))
            p.interval = pv.duration(*g, std::chrono::milliseconds(1));
        // 256 MiB - 1 is MQTT's largest remaining length.
        if (const Field* g = ps.find("size"))
            p.size = pv.size(*g, 0, 268435455);
        if (const Field* g = ps.find("qos"))
            p.qos = static_cast<uint32_t>(pv.integer(*g, 0, 2));
        if (const Field* g = ps.find("retain"))
            p.retain = pv.boolean(*g);
        a.publish = p;
    }
    if (const Field* f = s.find("subscribe")) {
        Section ss(doc, f->value, "app.subscribe", {"topic", "qos"});
        Values sv(doc, ss);
        SubscribeSettings sub;
        sub.topic = topic(ss, sv);
        if (const Field* g = ss.find("qos"))
            sub.qos = static_cast<uint32_t>(sv.integer(*g, 0, 2));
        a.subscribe = sub;
    }
    if (const Field* f = s.find("reconnect_delay"))
        a.reconnect_delay = v.duration(*f);
    if (const Field* f = s.find("network_timeout"))
        a.network_timeout = v.duration(*f, std::chrono::milliseconds(1));
    if (const Field* f = s.find("linger")) {
        std::string t = v.scalar(*f, "off or a number of seconds");
        if (t == "off" || t == "false" || t == "Off" || t == "no") {
            a.linger.reset();
        } else {
            SimDuration d;
            if (all_digits(t) && t.size() < 12) {
                d = std::chrono::seconds(std::stoll(t));
            } else {
                auto r = parse_duration(t);
                if (auto* e = std::get_if<std::string>(&r))
                    v.fail(*f, "expected off, a number of seconds or a duration: " + *e);
                d = std::get<SimDuration>(r);
            }
            if (d % std::chrono::seconds(1) != SimDuration{0})
                v.fail(*f, "SO_LINGER takes whole seconds, got " + format_duration(d));
            // lwIP keeps the linger time in an s16 (netconn.linger).
            if (d > std::chrono::seconds(32767))
                v.fail(*f, "must be at most 32767s (lwIP's limit)");
            a.linger = d;
        }
    }
    if (const Field* f = s.find("close_notify"))
        a.close_notify = v.boolean(*f);
    // esp-mqtt takes int sizes; 1 MiB is far beyond any device heap.
    if (const Field* f = s.find("buffer_size"))
        a.buffer_size = v.size(*f, 1, 1 << 20);
    if (const Field* f = s.find("out_buffer_size"))
        a.out_buffer_size = v.size(*f, 0, 1 << 20);
    if (const Field* f = s.find("actions")) {
        if (a.program && f->value.IsSequence() && f->value.size() > 0)
            doc.fail_key(*f, "app.actions drive the built-in MQTT client, which does not run with "
                             "app.program (a program makes its own calls; docs/programs.md)");
        a.actions = read_app_actions(doc, v, *f, scenario_duration);
    }
}

// A 32-bit device addresses 4 GiB in all; its heap gets at most a quarter (an ESP32 has MiBs).
uint64_t max_heap_budget(Abi abi) {
    return abi == Abi::kIlp32 ? uint64_t{1} << 30 : uint64_t{1} << 40;
}

// `abi`: the esp-idf-v4.4 profile is a 32-bit device unless the scenario asks for the host's
// sizes; the upstream profile has no device behind it, and only the host build.
void read_abi(const Doc& doc, const Section& top, const Values& v, Scenario& sc) {
    const Field* f = top.find("abi");
    if (f == nullptr) {
        sc.abi = sc.profile == Profile::kEspIdfV44 ? Abi::kIlp32 : Abi::kHost;
        return;
    }
    sc.abi = v.choice(*f, Abi::kHost);
    if (sc.abi == Abi::kIlp32 && sc.profile != Profile::kEspIdfV44)
        doc.fail(f->value, "abi: ilp32 is built for the esp-idf-v4.4 profile only (profile is " +
                               std::string(to_string(sc.profile)) + "); use abi: host");
}

// `h.allocator` holds the profile's default on entry. `block_overhead` is the user's own flat
// cost, so it replaces the default allocator's; poisoning and task tracking only exist in
// ESP-IDF's heap, and task tracking needs poisoning there (Kconfig HEAP_TASK_TRACKING).
void read_heap(const Doc& doc, const YAML::Node& n, uint64_t max_budget, HeapSettings& h) {
    Section s(doc, n, "heap",
              {"budget", "allocator", "block_overhead", "poisoning", "task_tracking"});
    Values v(doc, s);
    if (const Field* f = s.find("budget"))
        h.budget = v.size(*f, 1024, max_budget);
    const Field* allocator = s.find("allocator");
    if (allocator != nullptr)
        h.allocator = v.choice(*allocator, HeapAllocator::kNone);
    if (const Field* f = s.find("block_overhead")) {
        if (allocator != nullptr && h.allocator != HeapAllocator::kNone)
            v.fail(*f, std::string("only with allocator none (allocator ") +
                           to_string(h.allocator) + " charges its own per-block cost)");
        h.allocator = HeapAllocator::kNone;
        h.block_overhead = v.size(*f, 0, 1024);
    }
    if (const Field* f = s.find("poisoning")) {
        h.poisoning = v.choice(*f, HeapPoisoning::kComprehensive);
        if (h.allocator != HeapAllocator::kEspIdfV44 && h.poisoning != HeapPoisoning::kNone)
            v.fail(*f, "only with allocator esp-idf-v4.4 (heap poisoning is ESP-IDF's)");
    }
    if (const Field* f = s.find("task_tracking")) {
        h.task_tracking = v.boolean(*f);
        if (h.task_tracking && h.poisoning == HeapPoisoning::kNone)
            v.fail(*f, "needs poisoning light or comprehensive (ESP-IDF keeps the task in the "
                       "poisoning header)");
    }
}

void read_lwip(const Doc& doc, const YAML::Node& n, LwipOverrides& l) {
    Section s(doc, n, "lwip",
              {"tcp_maxrtx", "tcp_synmaxrtx", "tcp_rto_initial", "tcp_msl", "tcp_fin_wait_timeout",
               "so_linger_available", "tcp_pcb_cap", "keepalive"});
    Values v(doc, s);
    // lwIP's init.c: TCP_MAXRTX and TCP_SYNMAXRTX must be <= 12 (the tcp_backoff table).
    if (const Field* f = s.find("tcp_maxrtx"))
        l.tcp_maxrtx = static_cast<uint32_t>(v.integer(*f, 1, 12));
    if (const Field* f = s.find("tcp_synmaxrtx"))
        l.tcp_synmaxrtx = static_cast<uint32_t>(v.integer(*f, 1, 12));
    if (const Field* f = s.find("tcp_pcb_cap"))
        l.tcp_pcb_cap = static_cast<uint32_t>(v.integer(*f, 0, 255));
    // RTO is kept in slow-timer ticks of 500 ms in an s16.
    if (const Field* f = s.find("tcp_rto_initial"))
        l.tcp_rto_initial = v.duration(*f, std::chrono::milliseconds(500), std::chrono::hours(4));
    if (const Field* f = s.find("tcp_msl"))
        l.tcp_msl = v.duration(*f, std::chrono::milliseconds(1), std::chrono::hours(1));
    if (const Field* f = s.find("tcp_fin_wait_timeout"))
        l.tcp_fin_wait_timeout =
            v.duration(*f, std::chrono::milliseconds(1), std::chrono::hours(24));
    if (const Field* f = s.find("so_linger_available"))
        l.so_linger_available = v.boolean(*f);
    if (const Field* f = s.find("keepalive")) {
        Section ks(doc, f->value, "lwip.keepalive", {"enabled", "idle", "intvl", "cnt"});
        Values kv(doc, ks);
        if (const Field* g = ks.find("enabled"))
            l.keepalive.enabled = kv.boolean(*g);
        if (const Field* g = ks.find("idle"))
            l.keepalive.idle = kv.duration(*g, std::chrono::seconds(1));
        if (const Field* g = ks.find("intvl"))
            l.keepalive.intvl = kv.duration(*g, std::chrono::seconds(1));
        if (const Field* g = ks.find("cnt"))
            l.keepalive.cnt = static_cast<uint32_t>(kv.integer(*g, 1, 255));
    }
}

std::vector<Expectation> read_expectations(const Doc& doc, const YAML::Node& n,
                                           const std::vector<RawVariant>& variants) {
    std::vector<Expectation> out;
    if (!n.IsDefined() || n.IsNull())
        return out;
    if (!n.IsSequence())
        doc.fail(n, std::string("expectations: expected a list, got ") + kind_name(n));
    std::vector<std::string_view> metric_names;
    for (const MetricInfo& m : known_metrics())
        metric_names.push_back(m.name);
    for (size_t i = 0; i < n.size(); ++i) {
        std::string path = "expectations[" + std::to_string(i) + "]";
        if (!n[i].IsMap())
            doc.fail(n[i], path + " must be a map with metric, op, value");
        Section s(doc, n[i], path, {"metric", "op", "value", "variants"});
        Values v(doc, s);
        Expectation e;
        const Field& mf = s.require("metric");
        e.metric = v.str(mf);
        const MetricInfo* info = find_metric(e.metric);
        if (!info)
            v.fail(mf, "unknown metric '" + e.metric + "'" + suggestion(e.metric, metric_names) +
                           "; known metrics are listed in docs/scenarios.md");
        e.op = v.choice(s.require("op"), CompareOp::kNotEqual);
        const Field& vf = s.require("value");
        std::string text = v.scalar(vf, "a number");
        double num = 0;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), num);
        bool plain = ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(num);
        if (!plain) {
            if (info->unit == MetricUnit::kBytes) {
                num = static_cast<double>(v.size(vf, 0, UINT64_MAX));
            } else if (info->unit == MetricUnit::kSeconds) {
                num = std::chrono::duration<double>(v.duration(vf)).count();
            } else {
                v.fail(vf, "expected a number (" + e.metric + " is a count), got '" + text + "'");
            }
        }
        e.value = num;
        if (const Field* f = s.find("variants")) {
            if (!f->value.IsSequence())
                v.fail(*f, "expected a list of variant names");
            for (size_t j = 0; j < f->value.size(); ++j) {
                const YAML::Node& vn = f->value[j];
                if (!vn.IsScalar())
                    doc.fail(vn, path + ".variants: expected a variant name");
                std::string name = vn.Scalar();
                std::vector<std::string_view> known{"base"};
                for (const RawVariant& rv : variants)
                    known.push_back(rv.name);
                if (std::find(known.begin(), known.end(), name) == known.end())
                    doc.fail(vn, path + ".variants: unknown variant '" + name + "'" +
                                     suggestion(name, known) + " (have: " + join(known) + ")");
                e.variants.push_back(name);
            }
        }
        out.push_back(std::move(e));
    }
    return out;
}

Scenario resolve_once(std::string_view text, const std::filesystem::path& file,
                      std::string_view variant, std::span<const std::string> set_overrides) {
    Doc doc(file.string());
    if (text.size() > kMaxFileBytes)
        throw ScenarioError(doc.file(), 0, 0, "file is larger than 1 MiB; not a scenario");
    if (size_t bad = invalid_utf8_at(text); bad != std::string_view::npos) {
        std::string_view before = text.substr(0, bad);
        int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
        size_t nl = before.rfind('\n');
        int col = static_cast<int>(nl == std::string_view::npos ? bad : bad - nl - 1) + 1;
        throw ScenarioError(doc.file(), line, col, "invalid UTF-8 byte");
    }
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        SyntaxAdvice advice = yaml_syntax_advice(text, e.mark, e.msg);
        throw ScenarioError(doc.file(), e.mark.line + 1, advice.column + 1,
                            "YAML syntax: " + advice.message);
    }
    if (!root.IsDefined() || root.IsNull())
        throw ScenarioError(doc.file(), 0, 0, "the scenario is empty (need at least 'duration')");
    if (!root.IsMap())
        doc.fail(root, std::string("the top level must be a map of keys, got ") + kind_name(root));

    static constexpr std::string_view kTop[] = {
        "description", "seed",     "duration", "time",         "profile",      "abi",
        "lwip",        "heap",     "link",     "broker",       "app",
        "faults",      "sampling", "variants", "expectations", "https_server"};
    std::vector<RawVariant> variants;
    {
        Section top(doc, root, "", kTop);
        variants = read_variants(doc, top);
    }

    try {
        if (!variant.empty() && variant != "base") {
            auto it = std::find_if(variants.begin(), variants.end(),
                                   [&](const RawVariant& v) { return v.name == variant; });
            if (it == variants.end()) {
                std::vector<std::string_view> names;
                for (const RawVariant& v : variants)
                    names.push_back(v.name);
                throw ScenarioError(
                    doc.file(), 0, 0,
                    "unknown variant '" + std::string(variant) + "'" + suggestion(variant, names) +
                        " (variants: " + (names.empty() ? std::string("none") : join(names)) + ")");
            }
            for (const Field& f : it->set) {
                YAML::Mark m = f.key_node.Mark();
                size_t origin = doc.add_origin(Origin{{}, m.line + 1, m.column + 1});
                apply_override(doc, root, f.key, f.value, origin, f.key_node);
            }
        }
        for (const std::string& set : set_overrides) {
            // Errors in the key path point at column 1, errors in the value at the value.
            size_t key_origin = doc.add_origin(Origin{set, 0, 1});
            YAML::Node blame(YAML::NodeType::Null);
            Doc::tag_tree(blame, key_origin);
            size_t eq = set.find('=');
            if (eq == std::string::npos || eq == 0)
                doc.fail(blame, "expected key.path=value");
            const int value_column = static_cast<int>(eq) + 2;
            size_t origin = doc.add_origin(Origin{set, 0, value_column});
            YAML::Node value;
            std::string value_text = set.substr(eq + 1);
            if (value_text.empty())
                doc.fail(blame, "missing value after '='");
            if (size_t bad = invalid_utf8_at(set); bad != std::string_view::npos)
                throw ScenarioError(doc.file(), 0, static_cast<int>(bad) + 1, "invalid UTF-8", set);
            try {
                value = YAML::Load(value_text);
            } catch (const YAML::Exception& e) {
                // Advice is given on "key: value", the form the user would write in a file.
                const std::string key_text = set.substr(0, eq) + ": ";
                YAML::Mark m = e.mark;
                if (m.line == 0)
                    m.column += static_cast<int>(key_text.size());
                SyntaxAdvice advice = yaml_syntax_advice(key_text + value_text, m, e.msg);
                int column = e.mark.line != 0
                                 ? value_column
                                 : value_column + advice.column - static_cast<int>(key_text.size());
                throw ScenarioError(doc.file(), 0, column,
                                    "value is not valid YAML: " + advice.message, set);
            }
            Doc::tag_tree(value, origin);
            apply_override(doc, root, set.substr(0, eq), value, origin, blame);
        }
    } catch (const YAML::Exception& e) {
        // yaml-cpp refuses some grafts (e.g. onto an alias); report rather than crash.
        throw ScenarioError(doc.file(), 0, 0, std::string("cannot apply override: ") + e.what());
    }

    Scenario sc;
    sc.name = file.stem().string();
    sc.source_path = file.string();
    sc.source_text = std::string(text);
    sc.applied_variant = variant == "base" ? std::string() : std::string(variant);
    sc.set_overrides.assign(set_overrides.begin(), set_overrides.end());
    std::filesystem::path base_dir = file.parent_path();

    Section top(doc, root, "", kTop);
    Values v(doc, top);
    if (const Field* f = top.find("description"))
        sc.description = v.scalar(*f, "a string");
    if (const Field* f = top.find("seed"))
        sc.seed = v.integer(*f, 0, UINT64_MAX);
    sc.duration = v.duration(top.require("duration"), std::chrono::milliseconds(1),
                             std::chrono::hours(24 * 365));
    if (const Field* f = top.find("profile"))
        sc.profile = v.choice(*f, Profile::kUpstream213);
    read_abi(doc, top, v, sc);
    if (const Field* f = top.find("time")) {
        Section s(doc, f->value, "time", {"mode", "host_grace", "broker_clock"});
        Values tv(doc, s);
        if (const Field* g = s.find("mode"))
            sc.time.mode = tv.choice(*g, TimeMode::kRealtime);
        if (const Field* g = s.find("broker_clock"))
            sc.time.broker_clock = tv.choice(*g, BrokerClock::kWall);
        if (const Field* g = s.find("host_grace"))
            sc.time.host_grace = tv.duration(*g, SimDuration{0}, std::chrono::seconds(10));
    }
    if (const Field* f = top.find("lwip"))
        read_lwip(doc, f->value, sc.lwip);
    sc.heap.allocator =
        sc.profile == Profile::kEspIdfV44 ? HeapAllocator::kEspIdfV44 : HeapAllocator::kNone;
    if (const Field* f = top.find("heap"))
        read_heap(doc, f->value, max_heap_budget(sc.abi), sc.heap);
    if (const Field* f = top.find("link")) {
        Section s(doc, f->value, "link", {"kind", "latency", "rate", "queue_frames", "capture"});
        Values lv(doc, s);
        if (const Field* g = s.find("kind"))
            sc.link.kind = lv.choice(*g, LinkKind::kTap);
        if (const Field* g = s.find("latency"))
            sc.link.latency = lv.duration(*g, SimDuration{0}, std::chrono::minutes(1));
        if (const Field* g = s.find("rate"))
            sc.link.rate = lv.rate(*g);
        if (const Field* g = s.find("queue_frames"))
            sc.link.queue_frames = static_cast<uint32_t>(lv.integer(*g, 1, 1000000));
        if (const Field* g = s.find("capture"))
            sc.link.capture = lv.boolean(*g);
    }
    if (const Field* f = top.find("broker"))
        read_broker(doc, f->value, sc.broker, base_dir);
    if (const Field* f = top.find("app"))
        read_app(doc, f->value, sc.app, base_dir, sc.duration);
    if (const Field* f = top.find("https_server"))
        sc.https_server = read_https_server(doc, *f, sc);
    if (const Field* f = top.find("faults"); f && !f->value.IsNull()) {
        if (!f->value.IsSequence())
            v.fail(*f, std::string("expected a list of faults, got ") + kind_name(f->value));
        for (size_t i = 0; i < f->value.size(); ++i) {
            FaultSpec fs = read_fault(doc, f->value[i], "faults[" + std::to_string(i) + "]", i,
                                      sc.duration, sc.app.program.has_value());
            for (const FaultSpec& other : sc.faults)
                if (other.name == fs.name)
                    doc.fail(f->value[i], "duplicate fault name '" + fs.name + "'");
            // Only a broker lwipsim started can be stopped, restarted or paused by it.
            if (is_broker_fault(fs.type) && sc.broker.mode != BrokerMode::kManaged)
                doc.fail(f->value[i]["type"],
                         "faults[" + std::to_string(i) + "].type: " + to_string(fs.type) +
                             " needs broker.mode managed (lwipsim cannot stop, restart or "
                             "pause an external broker)");
            sc.faults.push_back(std::move(fs));
        }
    }
    // The default period (1s) never exceeds a shorter run: the range below applies to the
    // written-back scenario too (the fuzzer's round trip found a 200ms run refusing its own
    // resolved heap_interval: 1s).
    sc.sampling.heap_interval = std::min(sc.sampling.heap_interval, sc.duration);
    if (const Field* f = top.find("sampling")) {
        Section s(doc, f->value, "sampling", {"heap_interval"});
        Values sv(doc, s);
        if (const Field* g = s.find("heap_interval"))
            sc.sampling.heap_interval = sv.duration(*g, std::chrono::milliseconds(1), sc.duration);
    }
    for (const RawVariant& rv : variants) {
        Variant out;
        out.name = rv.name;
        for (const Field& f : rv.set)
            out.set.emplace_back(f.key, yaml_text(f.value));
        sc.variants.push_back(std::move(out));
    }
    // Descriptions are read from the tree (the overrides never touch `variants`).
    if (const Field* f = top.find("variants"); f && f->value.IsSequence()) {
        for (size_t i = 0; i < f->value.size() && i < sc.variants.size(); ++i) {
            YAML::Node d = f->value[i]["description"];
            if (d && d.IsScalar() && invalid_utf8_at(d.Scalar()) != std::string_view::npos)
                doc.fail(d, kNotUtf8);
            if (d && d.IsScalar())
                sc.variants[i].description = d.Scalar();
        }
    }
    YAML::Node exp;
    if (const Field* f = top.find("expectations"))
        exp = f->value;
    sc.expectations = read_expectations(doc, exp, variants);
    return sc;
}

// An error at a node of the file can still be caused by a --set: `--set faults.x.type=reset`
// makes the file's `for:` of that fault wrong. Such an error names the --set, and the file
// position as what it conflicts with. Found by re-resolving with fewer overrides, which costs
// nothing on the success path.
Scenario resolve(std::string_view text, const std::filesystem::path& file, std::string_view variant,
                 std::span<const std::string> set_overrides) {
    try {
        return resolve_once(text, file, variant, set_overrides);
    } catch (const ScenarioError& e) {
        if (!e.set_override().empty() || set_overrides.empty())
            throw;
        for (size_t n = 0; n <= set_overrides.size(); ++n) {
            try {
                resolve_once(text, file, variant, set_overrides.first(n));
            } catch (const ScenarioError&) {
                if (n == 0)
                    throw e; // the file is wrong on its own
                throw ScenarioError(e.file(), e.line(), e.column(), e.message(),
                                    set_overrides[n - 1]);
            }
        }
        throw;
    }
}

} // namespace

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

Scenario load_scenario_text(std::string_view yaml, const std::filesystem::path& file,
                            std::span<const std::string> set_overrides) {
    Scenario base = resolve(yaml, file, {}, set_overrides);
    for (const Variant& v : base.variants) {
        try {
            resolve(yaml, file, v.name, set_overrides);
        } catch (const ScenarioError& e) {
            // The base resolved, so the variant's overrides made this wrong; the position may
            // be a key of the file the variant conflicts with: name the variant.
            throw ScenarioError(e.file(), e.line(), e.column(),
                                "variant '" + v.name + "': " + e.message(), e.set_override());
        }
    }
    return base;
}

Scenario load_scenario(const std::filesystem::path& file,
                       std::span<const std::string> set_overrides) {
    if (auto why = unreadable_file(file))
        throw ScenarioError(file.string(), 0, 0, "cannot read the scenario file: " + *why);
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw ScenarioError(file.string(), 0, 0, "cannot open the scenario file");
    std::string text;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        text.append(buf, static_cast<size_t>(in.gcount()));
        if (text.size() > kMaxFileBytes)
            throw ScenarioError(file.string(), 0, 0, "file is larger than 1 MiB; not a scenario");
    }
    if (in.bad())
        throw ScenarioError(file.string(), 0, 0, "read error");
    return load_scenario_text(text, file, set_overrides);
}

std::vector<std::string> variant_names(const Scenario& base) {
    std::vector<std::string> out;
    for (const Variant& v : base.variants)
        out.push_back(v.name);
    return out;
}

Scenario resolve_variant(const Scenario& base, std::string_view name) {
    return resolve(base.source_text, base.source_path, name, base.set_overrides);
}

} // namespace lwipsim::scenario
