#include "harness/broker/test_pki.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <vector>

#include "harness/broker/errors.h"
#include "sim/host/child_process.h"

namespace lwipsim::broker {
namespace {

namespace fs = std::filesystem;

// openssl on a loaded 2-core CI box takes tens of ms per step; the bound only catches a hang.
constexpr std::chrono::seconds kOpensslTimeout{30};

void check_dns_name(const std::string& what, const std::string& name) {
    const bool ok = !name.empty() && name.size() <= 253 &&
                    std::all_of(name.begin(), name.end(), [](unsigned char c) {
                        return std::isalnum(c) != 0 || c == '-' || c == '.';
                    });
    if (!ok) {
        // Also keeps the name from smuggling syntax into the -subj and extension arguments.
        throw BrokerError("test PKI: " + what + " '" + name +
                          "' is not a DNS name (letters, digits, '-', '.'; 1..253 chars)");
    }
}

void openssl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    const host::CommandResult result = host::run_command(argv, kOpensslTimeout);
    if (!result.success()) {
        throw BrokerError("test PKI: `" + host::describe_command(argv) + "` failed (" +
                          (result.timed_out ? std::string("timed out") : result.status.describe()) +
                          "): " + result.output);
    }
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out.flush()) {
        throw BrokerError("test PKI: cannot write " + path.string());
    }
}

void make_key(const fs::path& key, KeyType type) {
    if (type == KeyType::kRsa2048) {
        openssl({"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
                 key.string()});
        return;
    }
    openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
             key.string()});
}

// Leaf certificate signed by the CA, with extensions from a file (openssl x509 -req does not
// take -addext).
// Serials are fixed (CA 1, server 2, client 3) so certificates have the same length every run.
void make_leaf(const fs::path& folder, const std::string& stem, const std::string& common_name,
               const std::string& extensions, const TestPki& pki, int days, KeyType type,
               int serial) {
    const fs::path key = folder / (stem + ".key");
    const fs::path csr = folder / (stem + ".csr");
    const fs::path ext = folder / (stem + ".ext");
    const fs::path cert = folder / (stem + ".crt");
    make_key(key, type);
    openssl(
        {"req", "-new", "-key", key.string(), "-subj", "/CN=" + common_name, "-out", csr.string()});
    write_text(ext, extensions);
    openssl({"x509", "-req", "-in", csr.string(), "-CA", pki.ca_cert.string(), "-CAkey",
             pki.ca_key.string(), "-set_serial", std::to_string(serial), "-days", std::to_string(days), "-sha256", "-extfile", ext.string(), "-out",
             cert.string()});
}

} // namespace

TestPki generate_test_pki(const fs::path& folder, const PkiOptions& options) {
    check_dns_name("server name", options.server_name);
    if (options.make_client_cert) {
        check_dns_name("client name", options.client_name);
    }
    if (options.valid_days < 1 || options.valid_days > 3650) {
        throw BrokerError("test PKI: valid_days " + std::to_string(options.valid_days) +
                          " out of range 1..3650");
    }
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) {
        throw BrokerError("test PKI: cannot create folder " + folder.string() + ": " +
                          ec.message());
    }
    const fs::path dir = fs::absolute(folder);
    const std::string days = std::to_string(options.valid_days);

    TestPki pki;
    pki.server_name = options.server_name;
    pki.ca_key = dir / "ca.key";
    pki.ca_cert = dir / "ca.crt";
    make_key(pki.ca_key, options.key_type);
    openssl({"req", "-x509", "-new", "-key", pki.ca_key.string(), "-sha256", "-set_serial", "1",
             "-days", days, "-subj",
             "/CN=lwipsim test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
             "keyUsage=critical,keyCertSign,cRLSign", "-out", pki.ca_cert.string()});

    make_leaf(dir, "server", options.server_name,
              "basicConstraints=critical,CA:FALSE\n"
              "keyUsage=critical,digitalSignature\n"
              "extendedKeyUsage=serverAuth\n"
              "subjectAltName=DNS:" +
                  options.server_name + ",IP:127.0.0.1\n",
              pki, options.valid_days, options.key_type, 2);
    pki.server_key = dir / "server.key";
    pki.server_cert = dir / "server.crt";

    if (options.make_client_cert) {
        make_leaf(dir, "client", options.client_name,
                  "basicConstraints=critical,CA:FALSE\n"
                  "keyUsage=critical,digitalSignature\n"
                  "extendedKeyUsage=clientAuth\n",
                  pki, options.valid_days, options.key_type, 3);
        pki.client_key = dir / "client.key";
        pki.client_cert = dir / "client.crt";
    }
    return pki;
}

} // namespace lwipsim::broker
