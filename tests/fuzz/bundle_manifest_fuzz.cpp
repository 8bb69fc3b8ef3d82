// The police bundle verifier (tools/verify/bundle_check.h run_bundle_check, with
// recorder/bundle_format.h parse_manifest and FileDecryptor underneath) on a bundle built from
// the input. The input is manifest.json, optionally followed by kFileSeparator and the bytes of
// the first footage file the manifest lists. The harness signs the manifest with a fixed test
// device key (a hostile bundle can be signed by any key; the public key is in the manifest), so
// inputs that keep the seed's public key get past the signature to the file checks and, with the
// fixed passphrase, to decryption. Every input also goes to parse_manifest directly: a manifest
// it accepts must serialise to text it accepts again, unchanged.
//
// Argon2id runs only for manifests that ask for a cheap one (a hostile manifest may ask for up
// to 1 GiB, which the verifier allows by design and which a fuzzer cannot afford per input).

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "bundle_check.h"
#include "fuzz_target.h"
#include "yardwatch/hal/key_store.h"
#include "yardwatch/recorder/bundle_format.h"

namespace {

namespace fs = std::filesystem;
namespace format = yardwatch::recorder::bundle_format;
using yardwatch::fuzz::Input;

constexpr std::string_view kFileSeparator = "\n--yardwatch-fuzz-footage-file--\n";
constexpr std::string_view kPassphrase = "correct horse battery staple";
constexpr std::string_view kReadme = "Police export bundle (fuzz test).\n";
constexpr uint64_t kCheapMemLimit = uint64_t{1} << 20;
constexpr uint64_t kCheapOpsLimit = 2;

struct DeviceKey {
  std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> public_key{};
  std::array<uint8_t, crypto_sign_SECRETKEYBYTES> secret_key{};
};

const DeviceKey& device_key() {
  static const DeviceKey key = [] {
    if (sodium_init() < 0) std::abort();
    DeviceKey k;
    std::array<uint8_t, crypto_sign_SEEDBYTES> seed{};
    for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i + 11);
    crypto_sign_seed_keypair(k.public_key.data(), k.secret_key.data(), seed.data());
    return k;
  }();
  return key;
}

const fs::path& work_dir() {
  static const fs::path dir =
      fs::temp_directory_path() / ("yw-fuzz-bundle-" + std::to_string(::getpid()));
  return dir;
}

struct Cleanup {
  ~Cleanup() {
    std::error_code error;
    fs::remove_all(work_dir(), error);
  }
};

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string sha256_hex(std::string_view bytes) {
  std::array<uint8_t, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size());
  return format::to_hex(digest);
}

}  // namespace

namespace {

// Builds the bundle from the input and runs the verifier on it; returns its exit status.
int verify_input(const uint8_t* data, size_t size) {
  static Cleanup cleanup;
  static const bool quiet = [] {
    // The verifier reports on stdout, once per input: keep the fuzzer's output readable.
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) {
      ::dup2(null, STDOUT_FILENO);
      ::close(null);
    }
    return true;
  }();
  (void)quiet;
  const DeviceKey& key = device_key();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find(kFileSeparator);
  const std::string_view manifest = input.substr(0, split);
  const std::string_view footage = split == std::string_view::npos
                                       ? std::string_view()
                                       : input.substr(split + kFileSeparator.size());

  auto parsed = format::parse_manifest(manifest);
  bool cheap_kdf = false;
  std::string first_file;
  if (parsed.ok()) {
    const std::string text = format::serialize_manifest(parsed.value());
    auto again = format::parse_manifest(text);
    if (!again.ok() || format::serialize_manifest(again.value()) != text) std::abort();
    const format::KdfParams kdf = format::kdf_params(parsed.value());
    cheap_kdf = kdf.opslimit <= kCheapOpsLimit && kdf.memlimit <= kCheapMemLimit;
    for (const auto& file : parsed.value().files) {
      // The verifier joins these names to the bundle directory: they must be plain names.
      if (file.name.empty() || file.name == "." || file.name == ".." ||
          file.name.find('/') != std::string::npos || file.name.find('\0') != std::string::npos) {
        std::abort();
      }
    }
    if (!parsed.value().files.empty()) first_file = parsed.value().files.front().name;
  }

  const fs::path& dir = work_dir();
  const fs::path bundle = dir / "bundle";
  std::error_code error;
  fs::remove_all(dir, error);
  fs::create_directories(bundle, error);
  if (error) std::abort();
  write_file(bundle / format::kManifestName, manifest);
  const auto signature = format::sign_manifest(manifest, key.secret_key);
  write_file(bundle / format::kSignatureName,
             {reinterpret_cast<const char*>(signature.data()), signature.size()});
  write_file(bundle / format::kReadmeName, kReadme);
  if (!first_file.empty() && split != std::string_view::npos) {
    write_file(bundle / first_file, footage);
  }
  write_file(dir / "passphrase.txt", std::string(kPassphrase) + "\n");

  yardwatch::verify::BundleCheckOptions options;
  options.bundle_dir = bundle;
  if (cheap_kdf) {
    options.passphrase_file = dir / "passphrase.txt";
    options.extract_dir = dir / "extracted";
  }
  const int status = yardwatch::verify::run_bundle_check(options);
  if (status != 0 && status != 1) std::abort();  // 2 is for unusable arguments, not bad bundles
  return status;
}

}  // namespace

namespace yardwatch::fuzz {

// A small real bundle: one footage file of three chunks, encrypted by the production
// FileEncryptor under the fixed passphrase, described by a manifest from serialize_manifest.
std::vector<Input> generated_seeds() {
  const DeviceKey& key = device_key();
  format::Manifest m;
  const format::ExportId export_id = format::new_export_id();
  m.export_id = format::export_id_text(export_id);
  m.created_utc_us = 1'795'604'400'000'000;
  m.clock_at_export = "synchronised";
  m.device_id = "0123456789abcdef0123456789abcdef";
  m.device_name = "OBS De Regenboog";
  m.device_public_key = format::to_hex(key.public_key);
  m.device_fingerprint = hal::key_fingerprint(key.public_key);
  m.case_reference = "PL0900-2026123456";
  m.legal_basis = "vordering art. 126nd Sv";
  m.recipient = "Politie";
  m.requested_by = {"Politie", "investigating authority"};
  m.approved_by = {"directeur", "director"};
  m.from_utc_us = m.created_utc_us - 3'600'000'000;
  m.to_utc_us = m.created_utc_us - 1'800'000'000;
  m.chunk_bytes = format::kMinChunkBytes;
  format::KdfParams kdf;
  for (size_t i = 0; i < kdf.salt.size(); ++i) kdf.salt[i] = static_cast<uint8_t>(i);
  kdf.opslimit = format::kMinOpsLimit;
  kdf.memlimit = format::kMinMemLimit;
  m.kdf_salt = format::to_hex(kdf.salt);
  m.kdf_opslimit = kdf.opslimit;
  m.kdf_memlimit = kdf.memlimit;
  auto keys = format::derive_keys(kPassphrase, kdf);
  if (!keys.ok()) std::abort();
  m.key_check = format::to_hex(format::key_check(keys.value()));

  std::string mp4(2 * format::kMinChunkBytes + 123, '\0');
  for (size_t i = 0; i < mp4.size(); ++i) mp4[i] = static_cast<char>((i * 131) % 251);
  std::string encrypted;
  format::FileEncryptor encryptor(keys.value(), m.chunk_bytes, export_id, 0,
                                  [&encrypted](std::span<const uint8_t> bytes) -> Status {
                                    encrypted.append(reinterpret_cast<const char*>(bytes.data()),
                                                     bytes.size());
                                    return {};
                                  });
  if (!encryptor.write({reinterpret_cast<const uint8_t*>(mp4.data()), mp4.size()}).ok() ||
      !encryptor.finish().ok()) {
    std::abort();
  }
  format::FileEntry file;
  file.index = 0;
  file.name = "001_poort_20261125T100000Z.mp4.enc";
  file.camera = "poort";
  file.zone = "entrance";
  file.location = "hoofdingang";
  file.start_utc_us = m.from_utc_us;
  file.end_utc_us = m.from_utc_us + 4'000'000;
  file.duration_us = 4'000'000;
  file.codec = "h264";
  file.width = 320;
  file.height = 180;
  file.frames = 100;
  file.time_source = "synchronised";
  file.mp4_bytes = mp4.size();
  file.mp4_sha256 = sha256_hex(mp4);
  file.encrypted_bytes = encrypted.size();
  file.encrypted_sha256 = sha256_hex(encrypted);
  file.source_segments.push_back(
      {17, file.start_utc_us, file.end_utc_us, std::string(64, 'e'), "synchronised"});
  m.files.push_back(file);
  m.cameras.push_back({"poort", "entrance", "hoofdingang", {0}, {{file.end_utc_us, m.to_utc_us}}});
  m.support_files.push_back(
      {std::string(format::kReadmeName), kReadme.size(), sha256_hex(kReadme)});

  const std::string manifest = format::serialize_manifest(m);
  std::string with_file = manifest;
  with_file += kFileSeparator;
  with_file += encrypted;
  // The seed must pass the whole verifier, decryption included, or the fuzzer starts outside.
  if (verify_input(reinterpret_cast<const uint8_t*>(with_file.data()), with_file.size()) != 0) {
    std::abort();
  }
  return {Input(manifest.begin(), manifest.end()), Input(with_file.begin(), with_file.end())};
}

}  // namespace yardwatch::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  verify_input(data, size);
  return 0;
}
