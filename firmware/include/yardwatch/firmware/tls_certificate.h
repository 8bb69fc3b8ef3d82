#pragma once

// The web admin's TLS certificate: one per device, self-signed, generated at `yardwatch init`
// (or at the first daemon start of an older data directory). The private key lives beside the
// device keys in the root-only key directory, never in the data directory. A board may install
// its own certificate and key under the same names; they are then used as they are.

#include <cstdint>
#include <filesystem>
#include <string>

#include "yardwatch/hal/result.h"

namespace yardwatch::firmware {

struct TlsFiles {
  std::filesystem::path certificate;  // PEM, <key dir>/tls.crt
  std::filesystem::path private_key;  // PEM, <key dir>/tls.key (0600)
};

TlsFiles tls_files(const std::filesystem::path& key_dir);

// Creates an ECDSA P-256 key and a self-signed X.509 certificate (SHA-256, valid from a day
// before `now_utc_us` for ten years; subject CN=Yardwatch <device id>; subjectAltName localhost,
// 127.0.0.1 and ::1) unless both files exist. Written atomically, 0600.
Status ensure_tls_certificate(const std::filesystem::path& key_dir, const std::string& device_id,
                              int64_t now_utc_us);

// The SHA-256 fingerprint of the certificate's DER encoding, as browsers and
// `openssl x509 -fingerprint -sha256` show it: "AB:CD:…" (32 upper-case hex pairs).
Result<std::string> tls_certificate_fingerprint(const std::filesystem::path& certificate);

}  // namespace yardwatch::firmware
