#include "bundle_check.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <vector>

#include "yardwatch/firmware/audit_format.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/bundle_format.h"

namespace yardwatch::verify {

namespace {

namespace fs = std::filesystem;
namespace format = recorder::bundle_format;

constexpr int kExitVerified = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr size_t kReadChunk = size_t{1} << 20;

// A file descriptor closed on scope exit (the verifier links no hal beyond time formatting).
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// Reads exactly `size` bytes unless the file ends first; returns how many were read, or -1.
ssize_t read_full(int fd, uint8_t* out, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t got = ::read(fd, out + done, size - done);
    if (got < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return static_cast<ssize_t>(done);
}

bool write_full(int fd, const uint8_t* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t written = ::write(fd, data + done, size - done);
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(written);
  }
  return true;
}

struct FileDigest {
  bool readable = false;
  uint64_t bytes = 0;
  std::string sha256;
};

FileDigest digest_file(const fs::path& path) {
  FileDigest digest;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return digest;
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::vector<uint8_t> buffer(kReadChunk);
  while (true) {
    const ssize_t got = read_full(fd.get(), buffer.data(), buffer.size());
    if (got < 0) return digest;
    if (got == 0) break;
    crypto_hash_sha256_update(&state, buffer.data(), static_cast<size_t>(got));
    digest.bytes += static_cast<uint64_t>(got);
  }
  std::array<uint8_t, 32> out{};
  crypto_hash_sha256_final(&state, out.data());
  digest.readable = true;
  digest.sha256 = format::to_hex(out);
  return digest;
}

std::optional<std::string> read_small_file(const fs::path& path, size_t limit) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  std::string text;
  std::vector<uint8_t> buffer(64 * 1024);
  while (true) {
    const ssize_t got = read_full(fd.get(), buffer.data(), buffer.size());
    if (got < 0) return std::nullopt;
    if (got == 0) break;
    text.append(reinterpret_cast<const char*>(buffer.data()), static_cast<size_t>(got));
    if (text.size() > limit) return text;  // the caller reports "too large"
  }
  return text;
}

std::string duration_text(int64_t us) {
  const int64_t seconds = us / 1'000'000;
  char text[32];
  std::snprintf(text, sizeof text, "%lld:%02lld:%02lld.%03lld",
                static_cast<long long>(seconds / 3600), static_cast<long long>(seconds / 60 % 60),
                static_cast<long long>(seconds % 60), static_cast<long long>(us / 1000 % 1000));
  return text;
}

std::string iso(int64_t us) { return hal::format_iso8601_utc(us); }

class Report {
 public:
  void fail(const std::string& file, const std::string& problem) {
    std::printf("FAILED %s: %s\n", file.c_str(), problem.c_str());
    ++failures_;
  }
  [[nodiscard]] int failures() const { return failures_; }

 private:
  int failures_ = 0;
};

// Decrypts one footage file, checking the header, every message and the MP4's size and SHA-256;
// writes the MP4 to `extract_to` when given (removed again if anything fails).
void decrypt_and_check(const fs::path& path, const format::FileEntry& entry,
                       const format::Manifest& manifest, const format::BundleKeys& keys,
                       const std::optional<fs::path>& extract_to, Report& report) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    report.fail(entry.name, "cannot be opened");
    return;
  }
  std::vector<uint8_t> header(format::kFileHeaderBytes);
  if (read_full(fd.get(), header.data(), header.size()) != static_cast<ssize_t>(header.size())) {
    report.fail(entry.name, "is shorter than its header (truncated)");
    return;
  }
  auto decryptor = format::FileDecryptor::start(
      keys, header, *format::parse_export_id(manifest.export_id), entry.index);
  if (!decryptor.ok()) {
    report.fail(entry.name, decryptor.error().message);
    return;
  }
  if (decryptor.value()->chunk_bytes() != manifest.chunk_bytes) {
    report.fail(entry.name, "has another chunk size than the manifest states");
    return;
  }
  Fd out(extract_to ? ::open(extract_to->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)
                    : -1);
  if (extract_to) {
    if (!out.valid()) {
      report.fail(entry.name, "cannot create " + extract_to->string() + " (exists already?)");
      return;
    }
  }
  auto discard = [&] {
    if (extract_to) {
      ::close(out.release());
      ::unlink(extract_to->c_str());
    }
  };
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  uint64_t remaining = entry.encrypted_bytes - format::kFileHeaderBytes;
  uint64_t mp4_bytes = 0;
  uint64_t message_index = 0;
  std::vector<uint8_t> message;
  std::vector<uint8_t> plain;
  bool final = false;
  while (remaining > 0) {
    const uint64_t size = decryptor.value()->next_message_bytes(remaining);
    message.resize(size);
    if (read_full(fd.get(), message.data(), message.size()) != static_cast<ssize_t>(size)) {
      report.fail(entry.name, "is shorter than the manifest says (truncated)");
      discard();
      return;
    }
    auto pulled = decryptor.value()->pull(message, plain);
    if (!pulled.ok()) {
      report.fail(entry.name, "message " + std::to_string(message_index) + " at byte offset " +
                                  std::to_string(entry.encrypted_bytes - remaining) + " " +
                                  pulled.error().message);
      discard();
      return;
    }
    crypto_hash_sha256_update(&state, plain.data(), plain.size());
    mp4_bytes += plain.size();
    if (extract_to && !write_full(out.get(), plain.data(), plain.size())) {
      report.fail(entry.name, "could not write " + extract_to->string());
      discard();
      return;
    }
    remaining -= size;
    ++message_index;
    final = pulled.value();
    if (final && remaining != 0) {
      report.fail(entry.name, "has data after its FINAL message");
      discard();
      return;
    }
  }
  std::array<uint8_t, 32> digest{};
  crypto_hash_sha256_final(&state, digest.data());
  if (!final) {
    report.fail(entry.name, "ends without its FINAL message (truncated)");
    discard();
    return;
  }
  if (mp4_bytes != entry.mp4_bytes || format::to_hex(digest) != entry.mp4_sha256) {
    report.fail(entry.name, "decrypts to an MP4 whose size or SHA-256 is not the signed one");
    discard();
    return;
  }
  if (extract_to && ::fsync(out.get()) != 0) {
    report.fail(entry.name, "could not sync " + extract_to->string());
    discard();
  }
}

}  // namespace

int run_bundle_check(const BundleCheckOptions& options) {
  if (sodium_init() < 0) {
    std::fprintf(stderr, "yardwatch-verify: libsodium failed to initialise\n");
    return kExitUsage;
  }
  const fs::path& dir = options.bundle_dir;
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    std::fprintf(stderr, "yardwatch-verify: %s is not a directory\n", dir.c_str());
    return kExitUsage;
  }
  std::optional<std::string> expected;
  if (options.expect_fingerprint) {
    expected = firmware::audit_format::normalize_fingerprint(*options.expect_fingerprint);
    if (!expected || expected->size() != 32) {
      std::fprintf(stderr,
                   "yardwatch-verify: --expect-fingerprint takes 32 hexadecimal digits (spaces "
                   "allowed), as printed on the handover form\n");
      return kExitUsage;
    }
  }
  std::optional<std::string> passphrase;
  if (options.passphrase_file) {
    auto text = read_small_file(*options.passphrase_file, format::kMaxPassphraseBytes + 2);
    if (!text) {
      std::fprintf(stderr, "yardwatch-verify: cannot read %s\n", options.passphrase_file->c_str());
      return kExitUsage;
    }
    passphrase = format::passphrase_from_file_text(*text);
    sodium_memzero(text->data(), text->size());
  }
  if (options.extract_dir && !passphrase) {
    std::fprintf(stderr, "yardwatch-verify: --extract needs --passphrase-file\n");
    return kExitUsage;
  }

  std::printf("export bundle: %s\n", dir.c_str());
  Report report;
  auto stop = [&] {
    std::printf("\nRESULT: FAILED. Do not rely on this bundle.\n");
    return kExitFailed;
  };
  // 1. The manifest and its signature.
  const fs::path manifest_path = dir / format::kManifestName;
  const fs::path signature_path = dir / format::kSignatureName;
  auto manifest_text = read_small_file(manifest_path, format::kMaxManifestBytes);
  if (!manifest_text) {
    report.fail("manifest.json", "is missing or unreadable: this is not a complete bundle");
    return stop();
  }
  auto signature = read_small_file(signature_path, format::kSignatureBytes + 1);
  if (!signature) {
    report.fail("manifest.sig",
                "is missing: the bundle is incomplete (the export did not finish) or the "
                "signature was removed");
    return stop();
  }
  auto parsed = format::parse_manifest(*manifest_text);
  if (!parsed.ok()) {
    report.fail("manifest.json", parsed.error().message);
    return stop();
  }
  const format::Manifest& m = parsed.value();
  const std::vector<uint8_t> public_key = *format::from_hex(m.device_public_key);
  const std::span<const uint8_t> signature_bytes(
      reinterpret_cast<const uint8_t*>(signature->data()), signature->size());
  if (!format::manifest_signature_valid(*manifest_text, signature_bytes, public_key)) {
    report.fail("manifest.json / manifest.sig",
                "the signature does not match the manifest: manifest.json was changed or "
                "manifest.sig is damaged or belongs to another manifest. Nothing in this bundle "
                "can be trusted.");
    return stop();
  }
  std::printf("signature: valid Ed25519 signature over manifest.json by device key %s\n",
              m.device_fingerprint.c_str());
  std::printf("device (as the manifest states): %s, id %s\n", m.device_name.c_str(),
              m.device_id.c_str());
  std::printf("export %s, created %s (device clock %s)\n", m.export_id.c_str(),
              iso(m.created_utc_us).c_str(), m.clock_at_export.c_str());
  const bool subject = m.kind == format::BundleKind::kSubjectAccess;
  if (subject) {
    std::printf(
        "kind: SUBJECT ACCESS EXPORT (inzage-export) for request %s — NOT a police export: "
        "footage for the data subject with other people blurred\n",
        m.request_reference.c_str());
    std::printf("request %s; legal basis: %s\nrecipient: %s\n", m.request_reference.c_str(),
                m.legal_basis.c_str(), m.recipient.c_str());
  } else {
    std::printf("kind: police export (evidence bundle)\n");
    std::printf("case %s; legal basis: %s\nrecipient: %s\n", m.case_reference.c_str(),
                m.legal_basis.c_str(), m.recipient.c_str());
  }
  std::printf("requested by %s (%s); approved by %s (%s)\n", m.requested_by.name.c_str(),
              m.requested_by.role.c_str(), m.approved_by.name.c_str(), m.approved_by.role.c_str());
  std::printf("requested range: %s – %s\n", iso(m.from_utc_us).c_str(), iso(m.to_utc_us).c_str());
  bool fingerprint_ok = true;
  if (expected) {
    const std::string actual = *firmware::audit_format::normalize_fingerprint(m.device_fingerprint);
    if (actual != *expected) {
      report.fail("manifest.sig", "signed by key " + m.device_fingerprint +
                                      ", not by the expected " + *options.expect_fingerprint);
      fingerprint_ok = false;
    }
  }

  // 2. Exactly the listed files, each with its size and SHA-256.
  std::set<std::string> listed = {std::string(format::kManifestName),
                                  std::string(format::kSignatureName)};
  for (const auto& file : m.files) listed.insert(file.name);
  for (const auto& file : m.support_files) listed.insert(file.name);
  std::set<std::string> present;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    present.insert(entry.path().filename().string());
  }
  for (const auto& name : present) {
    if (listed.count(name) == 0) {
      report.fail(name, "is not part of this bundle (added after the export?)");
    }
  }
  auto check_stored = [&](const std::string& name, uint64_t bytes, const std::string& sha256) {
    if (present.count(name) == 0) {
      report.fail(name, "is missing");
      return false;
    }
    const FileDigest digest = digest_file(dir / name);
    if (!digest.readable) {
      report.fail(name, "cannot be read");
      return false;
    }
    if (digest.bytes != bytes) {
      report.fail(name, "is " + std::to_string(digest.bytes) + " bytes, the manifest says " +
                            std::to_string(bytes) + " (truncated or extended)");
      return false;
    }
    if (digest.sha256 != sha256) {
      report.fail(name, "has a SHA-256 that does not match the manifest (changed or replaced)");
      return false;
    }
    return true;
  };
  std::vector<bool> stored_ok(m.files.size(), false);
  for (size_t i = 0; i < m.files.size(); ++i) {
    stored_ok[i] =
        check_stored(m.files[i].name, m.files[i].encrypted_bytes, m.files[i].encrypted_sha256);
  }
  for (const auto& file : m.support_files) check_stored(file.name, file.bytes, file.sha256);

  // 3. Decryption, with the passphrase.
  bool decrypted = false;
  if (passphrase) {
    auto keys = format::derive_keys(*passphrase, format::kdf_params(m));
    sodium_memzero(passphrase->data(), passphrase->size());
    if (!keys.ok()) {
      report.fail("manifest.json", keys.error().message);
    } else if (format::to_hex(format::key_check(keys.value())) != m.key_check) {
      report.fail("passphrase",
                  "wrong passphrase: it does not produce this bundle's key (check for typing "
                  "errors; the passphrase was handed over separately from the stick)");
    } else {
      if (options.extract_dir) fs::create_directories(*options.extract_dir, error);
      for (size_t i = 0; i < m.files.size(); ++i) {
        if (!stored_ok[i]) continue;
        std::optional<fs::path> extract_to;
        if (options.extract_dir) {
          std::string name = m.files[i].name;
          name.resize(name.size() - std::string_view(".enc").size());
          extract_to = *options.extract_dir / name;
        }
        decrypt_and_check(dir / m.files[i].name, m.files[i], m, keys.value(), extract_to, report);
      }
      decrypted = true;
    }
  }

  // 4. What the bundle holds, and what all this proves.
  std::printf("\n%zu footage file%s:\n", m.files.size(), m.files.size() == 1 ? "" : "s");
  for (const auto& file : m.files) {
    std::printf("  %s\n    camera %s (zone %s%s%s), %s – %s, duration %s\n", file.name.c_str(),
                file.camera.c_str(), file.zone.c_str(), file.location.empty() ? "" : ", ",
                file.location.c_str(), iso(file.start_utc_us).c_str(), iso(file.end_utc_us).c_str(),
                duration_text(file.duration_us).c_str());
    std::printf("    %s %ux%u, %llu frames, time source at recording: %s\n", file.codec.c_str(),
                file.width, file.height, static_cast<unsigned long long>(file.frames),
                file.time_source.c_str());
    std::printf("    SHA-256 of the MP4: %s\n", file.mp4_sha256.c_str());
    for (const auto& source : file.source_segments) {
      std::printf("    from segment %lld (%s – %s), recorded SHA-256 %s\n",
                  static_cast<long long>(source.id), iso(source.start_utc_us).c_str(),
                  iso(source.end_utc_us).c_str(), source.sha256.c_str());
    }
  }
  for (const auto& camera : m.cameras) {
    for (const auto& gap : camera.gaps) {
      std::printf("  gap: camera %s has no footage %s – %s\n", camera.name.c_str(),
                  iso(gap.from_utc_us).c_str(), iso(gap.to_utc_us).c_str());
    }
  }

  if (report.failures() > 0) {
    std::printf("\nRESULT: FAILED (%d problem%s above). Do not rely on this bundle.\n",
                report.failures(), report.failures() == 1 ? "" : "s");
    return kExitFailed;
  }
  std::printf("\nPROVEN:\n");
  std::printf("  - manifest.json is exactly what the holder of device key %s signed.\n",
              m.device_fingerprint.c_str());
  std::printf(
      "  - every file listed in it is present and unchanged (size and SHA-256), and "
      "nothing else is in the folder.\n");
  if (decrypted) {
    std::printf(
        "  - every footage file decrypts with the passphrase and authenticates, and each "
        "MP4 has the signed SHA-256%s.\n",
        options.extract_dir ? " (extracted to " : "");
    if (options.extract_dir) std::printf("    %s)\n", options.extract_dir->c_str());
  }
  std::printf("  - the time ranges above are the ones the device stated when it signed.\n");
  std::printf("NOT PROVEN by this check:\n");
  if (expected && fingerprint_ok) {
    std::printf(
        "  - (the key matches the expected fingerprint you gave: it is the device's key "
        "if that fingerprint came from the handover form.)\n");
  } else {
    std::printf(
        "  - that the signing key is this device's: only if %s matches the fingerprint "
        "on the paper handover form (or pass --expect-fingerprint).\n",
        m.device_fingerprint.c_str());
  }
  if (!decrypted) {
    std::printf(
        "  - the content of the footage: give --passphrase-file to decrypt and check "
        "each MP4.\n");
  }
  std::printf(
      "  - that the device's clock was right (time source state at recording is listed "
      "per file), or that the footage shows everything that happened (gaps are listed).\n");
  std::printf(
      "  - the recorded SHA-256 of each source segment is the device's own signed "
      "statement; it can be re-checked on the device itself (yardwatch catalog check).\n");
  if (subject) {
    std::printf("\nRESULT: OK (subject access export for request %s)\n",
                m.request_reference.c_str());
  } else {
    std::printf("\nRESULT: OK\n");
  }
  return kExitVerified;
}

}  // namespace yardwatch::verify
