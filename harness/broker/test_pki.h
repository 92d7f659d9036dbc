#pragma once

#include <filesystem>
#include <string>

namespace lwipsim::broker {

// A throw-away PKI for one run: a CA, a server certificate signed by it, optionally a client
// certificate for mutual TLS. All keys are EC P-256 (what an ESP32 device typically sees, and
// fast to generate). Made with the `openssl` command line, so it needs Debian's openssl package.

inline constexpr const char* kDefaultServerName = "broker.lwipsim.test";

// Key type of every certificate. RSA 2048 (what most cloud MQTT brokers present) gives
// fixed-length signatures, so TLS record sizes repeat exactly from run to run; EC P-256 is
// smaller and faster but its DER signatures vary by a byte or two.
enum class KeyType { kEcP256, kRsa2048 };

struct PkiOptions {
    KeyType key_type = KeyType::kEcP256;
    // DNS subjectAltName (and CN) of the server certificate; IP:127.0.0.1 is always added.
    // Letters, digits, '-' and '.' only.
    std::string server_name = kDefaultServerName;
    bool make_client_cert = false;
    std::string client_name = "device.lwipsim.test"; // CN of the client certificate
    int valid_days = 30;
};

// Paths of the generated PEM files (all inside the folder given to generate_test_pki).
struct TestPki {
    std::filesystem::path ca_cert;
    std::filesystem::path ca_key;
    std::filesystem::path server_cert;
    std::filesystem::path server_key;
    std::filesystem::path client_cert; // empty unless make_client_cert
    std::filesystem::path client_key;  // empty unless make_client_cert
    std::string server_name;
};

// Generate the PKI into `folder` (created if missing; existing files of the same names are
// overwritten). Blocking; takes well under a second. Throws EnvironmentError when openssl is
// missing, BrokerError (with the openssl command and its output) when a step fails or an option
// is invalid, host::ProcessError when openssl cannot be started at all.
TestPki generate_test_pki(const std::filesystem::path& folder, const PkiOptions& options = {});

} // namespace lwipsim::broker
