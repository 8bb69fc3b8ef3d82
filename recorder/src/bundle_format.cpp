// Compiled into yw_recorder and, unchanged, into the offline verifier (tools/verify): keep it to
// libsodium, nlohmann-json, hal's Result and time formatting, and the standard library.
// Byte layouts and the reasons behind them: recorder/design/bundle.md.

#include "yardwatch/recorder/bundle_format.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/key_store.h"

namespace yardwatch::recorder::bundle_format {

namespace {

using StreamState = crypto_secretstream_xchacha20poly1305_state;
using ordered_json = nlohmann::ordered_json;
using nlohmann::json;

static_assert(kSaltBytes == crypto_pwhash_SALTBYTES);
static_assert(kFileKeyBytes == crypto_secretstream_xchacha20poly1305_KEYBYTES);
static_assert(kStreamHeaderBytes == crypto_secretstream_xchacha20poly1305_HEADERBYTES);
static_assert(kMessageOverhead == crypto_secretstream_xchacha20poly1305_ABYTES);
static_assert(kPublicKeyBytes == crypto_sign_PUBLICKEYBYTES);
static_assert(kSignatureBytes == crypto_sign_BYTES);
static_assert(kFileHeaderBytes == 60);

constexpr uint8_t kTagMessage = crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
constexpr uint8_t kTagFinal = crypto_secretstream_xchacha20poly1305_TAG_FINAL;

// Header offsets.
constexpr size_t kVersionOffset = 8;
constexpr size_t kChunkOffset = 12;
constexpr size_t kExportIdOffset = 16;
constexpr size_t kIndexOffset = 32;

// 2^53 - 1: the largest integer a JavaScript verifier (verify.html) reads exactly (as a time in
// microseconds, the year 2255). Every integer of a manifest stays within it.
constexpr int64_t kMaxJsonInteger = 9007199254740991;

void ensure_sodium() {
  static const int ready = sodium_init();
  if (ready < 0) std::abort();
}

void put_u32_le(uint8_t* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

uint32_t get_u32_le(const uint8_t* in) {
  return static_cast<uint32_t>(in[0]) | (static_cast<uint32_t>(in[1]) << 8) |
         (static_cast<uint32_t>(in[2]) << 16) | (static_cast<uint32_t>(in[3]) << 24);
}

struct WipeOnExit {
  void* data;
  size_t size;
  ~WipeOnExit() { sodium_memzero(data, size); }
};

bool valid_bundle_file_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string iso(int64_t utc_us) { return hal::format_iso8601_utc(utc_us); }

// ---- Manifest reading: every accessor names the field it failed on ----

class Fields {
 public:
  Fields(const json& object, std::string path) : object_(object), path_(std::move(path)) {}

  Result<const json*> member(std::string_view key) const {
    if (!object_.is_object()) return bad(path_, "is not an object");
    auto it = object_.find(std::string(key));
    if (it == object_.end()) return bad(at(key), "is missing");
    return &*it;
  }
  Result<std::string> text(std::string_view key, size_t max_bytes = kMaxTextBytes,
                           bool allow_empty = true) const {
    YW_ASSIGN_OR_RETURN(const json* value, member(key));
    if (!value->is_string()) return bad(at(key), "is not a string");
    std::string result = value->get<std::string>();
    if (result.size() > max_bytes) return bad(at(key), "is too long");
    if (!allow_empty && result.empty()) return bad(at(key), "is empty");
    return result;
  }
  Result<int64_t> integer(std::string_view key, int64_t min, int64_t max) const {
    YW_ASSIGN_OR_RETURN(const json* value, member(key));
    if (!value->is_number_integer()) return bad(at(key), "is not an integer");
    int64_t result = 0;
    if (value->is_number_unsigned()) {
      const auto unsigned_value = value->get<uint64_t>();
      if (unsigned_value > static_cast<uint64_t>(INT64_MAX)) return bad(at(key), "is too large");
      result = static_cast<int64_t>(unsigned_value);
    } else {
      result = value->get<int64_t>();
    }
    if (result < min || result > max) return bad(at(key), "is out of range");
    return result;
  }
  Result<std::string> hex(std::string_view key, size_t bytes) const {
    YW_ASSIGN_OR_RETURN(std::string value, text(key));
    auto decoded = from_hex(value);
    if (!decoded || decoded->size() != bytes || value != to_hex(*decoded)) {
      return bad(at(key), "is not " + std::to_string(bytes * 2) + " lower-case hex digits");
    }
    return value;
  }
  // The `<key>_utc_us` integer, checked against the `<key>` ISO-8601 text beside it.
  Result<int64_t> time(std::string_view key) const {
    YW_ASSIGN_OR_RETURN(int64_t utc_us, integer(std::string(key) + "_utc_us", 0, kMaxJsonInteger));
    YW_ASSIGN_OR_RETURN(std::string text_value, text(key));
    if (text_value != iso(utc_us)) {
      return bad(at(key), "does not state the same time as " + at(std::string(key) + "_utc_us"));
    }
    return utc_us;
  }
  Result<Fields> object(std::string_view key) const {
    YW_ASSIGN_OR_RETURN(const json* value, member(key));
    if (!value->is_object()) return bad(at(key), "is not an object");
    return Fields(*value, at(key));
  }
  Result<const json*> array(std::string_view key, size_t max_items) const {
    YW_ASSIGN_OR_RETURN(const json* value, member(key));
    if (!value->is_array()) return bad(at(key), "is not an array");
    if (value->size() > max_items) return bad(at(key), "has too many items");
    return value;
  }
  [[nodiscard]] std::string at(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  static Error bad(const std::string& where, const std::string& what) {
    return make_error(ErrorKind::kDataLoss, "manifest.json: " + where + " " + what);
  }

 private:
  const json& object_;
  std::string path_;
};

Result<std::string> time_source(const Fields& fields, std::string_view key) {
  YW_ASSIGN_OR_RETURN(std::string value, fields.text(key));
  if (value != "synchronised" && value != "unsynchronised" && value != "unknown") {
    return Fields::bad(fields.at(key), "is not synchronised, unsynchronised or unknown");
  }
  return value;
}

Result<Person> read_person(const Fields& parent, std::string_view key) {
  YW_ASSIGN_OR_RETURN(Fields fields, parent.object(key));
  Person person;
  YW_ASSIGN_OR_RETURN(person.name, fields.text("name", kMaxTextBytes, false));
  YW_ASSIGN_OR_RETURN(person.role, fields.text("role", kMaxTextBytes, false));
  return person;
}

void time_pair(ordered_json& object, std::string_view key, int64_t utc_us) {
  object[std::string(key)] = iso(utc_us);
  object[std::string(key) + "_utc_us"] = utc_us;
}

}  // namespace

// ---- Keys ----

BundleKeys::BundleKeys() = default;
BundleKeys::~BundleKeys() { sodium_memzero(derived_.data(), derived_.size()); }
BundleKeys::BundleKeys(BundleKeys&& other) noexcept : derived_(other.derived_) {
  sodium_memzero(other.derived_.data(), other.derived_.size());
}
BundleKeys& BundleKeys::operator=(BundleKeys&& other) noexcept {
  if (this != &other) {
    derived_ = other.derived_;
    sodium_memzero(other.derived_.data(), other.derived_.size());
  }
  return *this;
}

std::string passphrase_from_file_text(std::string_view text) {
  const size_t newline = text.find('\n');
  std::string_view line = text.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return std::string(line);
}

Status check_passphrase(std::string_view passphrase) {
  if (passphrase.size() < kMinPassphraseBytes || passphrase.size() > kMaxPassphraseBytes) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the passphrase must be " + std::to_string(kMinPassphraseBytes) + "–" +
                          std::to_string(kMaxPassphraseBytes) +
                          " bytes long (it is the only thing protecting footage on a lost "
                          "stick); a few random words work well");
  }
  if (std::all_of(passphrase.begin(), passphrase.end(), [](char c) { return c == ' '; })) {
    return make_error(ErrorKind::kInvalidArgument, "the passphrase is only spaces");
  }
  return {};
}

Result<BundleKeys> derive_keys(std::string_view passphrase, const KdfParams& params) {
  ensure_sodium();
  if (params.opslimit < kMinOpsLimit || params.opslimit > kMaxOpsLimit ||
      params.memlimit < kMinMemLimit || params.memlimit > kMaxMemLimit) {
    return make_error(ErrorKind::kInvalidArgument, "Argon2id parameters out of range (opslimit " +
                                                       std::to_string(params.opslimit) +
                                                       ", memlimit " +
                                                       std::to_string(params.memlimit) + ")");
  }
  BundleKeys keys;
  if (crypto_pwhash(keys.derived(), kDerivedKeyBytes, passphrase.data(), passphrase.size(),
                    params.salt.data(), params.opslimit, static_cast<size_t>(params.memlimit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error(ErrorKind::kResourceExhausted, "Argon2id could not get " +
                                                         std::to_string(params.memlimit >> 20) +
                                                         " MiB of memory to derive the bundle key");
  }
  return keys;
}

Sha256 key_check(const BundleKeys& keys) {
  ensure_sodium();
  Sha256 check{};
  crypto_generichash(check.data(), check.size(),
                     reinterpret_cast<const unsigned char*>(kKeyCheckContext.data()),
                     kKeyCheckContext.size(), keys.check_key(), kFileKeyBytes);
  return check;
}

// ---- Encrypted file ----

std::array<uint8_t, kAssociatedDataBytes> associated_data(uint32_t chunk_bytes,
                                                          const ExportId& export_id,
                                                          uint32_t file_index) {
  std::array<uint8_t, kAssociatedDataBytes> ad{};
  std::copy(kFileMagic.begin(), kFileMagic.end(), ad.begin());
  put_u32_le(ad.data() + kVersionOffset, kFileFormatVersion);
  put_u32_le(ad.data() + kChunkOffset, chunk_bytes);
  std::copy(export_id.begin(), export_id.end(), ad.begin() + kExportIdOffset);
  put_u32_le(ad.data() + kIndexOffset, file_index);
  return ad;
}

std::array<uint8_t, kFileHeaderBytes> encode_file_header(const FileHeader& header) {
  std::array<uint8_t, kFileHeaderBytes> bytes{};
  const auto ad = associated_data(header.chunk_bytes, header.export_id, header.file_index);
  std::copy(ad.begin(), ad.end(), bytes.begin());
  std::copy(header.stream_header.begin(), header.stream_header.end(),
            bytes.begin() + kAssociatedDataBytes);
  return bytes;
}

Result<FileHeader> decode_file_header(std::span<const uint8_t> bytes) {
  if (bytes.size() < kFileHeaderBytes) {
    return make_error(ErrorKind::kDataLoss, "is shorter than its 60-byte header");
  }
  if (!std::equal(kFileMagic.begin(), kFileMagic.end(), bytes.begin())) {
    return make_error(ErrorKind::kDataLoss,
                      "is not a Yardwatch encrypted footage file (bad magic)");
  }
  const uint32_t version = get_u32_le(bytes.data() + kVersionOffset);
  if (version != kFileFormatVersion) {
    return make_error(ErrorKind::kDataLoss, "has file format version " + std::to_string(version) +
                                                ", expected " + std::to_string(kFileFormatVersion));
  }
  FileHeader header;
  header.chunk_bytes = get_u32_le(bytes.data() + kChunkOffset);
  if (header.chunk_bytes < kMinChunkBytes || header.chunk_bytes > kMaxChunkBytes) {
    return make_error(ErrorKind::kDataLoss,
                      "has an impossible chunk size " + std::to_string(header.chunk_bytes));
  }
  std::copy_n(bytes.begin() + kExportIdOffset, kExportIdBytes, header.export_id.begin());
  header.file_index = get_u32_le(bytes.data() + kIndexOffset);
  std::copy_n(bytes.begin() + kAssociatedDataBytes, kStreamHeaderBytes,
              header.stream_header.begin());
  return header;
}

uint64_t encrypted_size(uint64_t plaintext_bytes, uint32_t chunk_bytes) {
  // Every message but the last carries exactly chunk_bytes; the last carries 1..chunk_bytes
  // (0 only for an empty plaintext).
  const uint64_t messages =
      plaintext_bytes == 0 ? 1 : (plaintext_bytes + chunk_bytes - 1) / chunk_bytes;
  return kFileHeaderBytes + plaintext_bytes + messages * kMessageOverhead;
}

struct FileEncryptor::State {
  StreamState stream{};
  std::array<uint8_t, kAssociatedDataBytes> ad{};
  std::array<uint8_t, kFileHeaderBytes> header{};
  std::vector<uint8_t> chunk;
  std::vector<uint8_t> sealed;
  size_t fill = 0;
  Emit emit;
  bool header_sent = false;
  bool finished = false;
  ~State() { sodium_memzero(&stream, sizeof stream); }
};

FileEncryptor::FileEncryptor(const BundleKeys& keys, uint32_t chunk_bytes,
                             const ExportId& export_id, uint32_t file_index, Emit emit)
    : state_(std::make_unique<State>()) {
  ensure_sodium();
  FileHeader header;
  header.chunk_bytes = chunk_bytes;
  header.export_id = export_id;
  header.file_index = file_index;
  crypto_secretstream_xchacha20poly1305_init_push(&state_->stream, header.stream_header.data(),
                                                  keys.file_key());
  state_->header = encode_file_header(header);
  state_->ad = associated_data(chunk_bytes, export_id, file_index);
  state_->chunk.resize(chunk_bytes);
  state_->sealed.resize(chunk_bytes + kMessageOverhead);
  state_->emit = std::move(emit);
}

FileEncryptor::~FileEncryptor() = default;

Status FileEncryptor::seal(bool final) {
  State& s = *state_;
  if (!s.header_sent) {
    YW_TRY(s.emit(s.header));
    s.header_sent = true;
  }
  crypto_secretstream_xchacha20poly1305_push(&s.stream, s.sealed.data(), nullptr, s.chunk.data(),
                                             s.fill, s.ad.data(), s.ad.size(),
                                             final ? kTagFinal : kTagMessage);
  const size_t sealed_bytes = s.fill + kMessageOverhead;
  s.fill = 0;
  return s.emit({s.sealed.data(), sealed_bytes});
}

Status FileEncryptor::write(std::span<const uint8_t> plaintext) {
  State& s = *state_;
  if (s.finished) return make_error(ErrorKind::kFailedPrecondition, "file already finished");
  while (!plaintext.empty()) {
    // A full chunk is sealed only once more data arrives: the last chunk must carry the FINAL
    // tag, and until then any chunk may turn out to be the last.
    if (s.fill == s.chunk.size()) YW_TRY(seal(false));
    const size_t take = std::min(plaintext.size(), s.chunk.size() - s.fill);
    std::memcpy(s.chunk.data() + s.fill, plaintext.data(), take);
    s.fill += take;
    plaintext = plaintext.subspan(take);
  }
  return {};
}

Status FileEncryptor::finish() {
  if (state_->finished) return make_error(ErrorKind::kFailedPrecondition, "file already finished");
  state_->finished = true;
  return seal(true);
}

struct FileDecryptor::State {
  StreamState stream{};
  std::array<uint8_t, kAssociatedDataBytes> ad{};
  uint32_t chunk_bytes = 0;
  bool done = false;
  bool failed = false;
  ~State() { sodium_memzero(&stream, sizeof stream); }
};

FileDecryptor::FileDecryptor() : state_(std::make_unique<State>()) {}
FileDecryptor::~FileDecryptor() = default;

Result<std::unique_ptr<FileDecryptor>> FileDecryptor::start(const BundleKeys& keys,
                                                            std::span<const uint8_t> header_bytes,
                                                            const ExportId& export_id,
                                                            uint32_t file_index) {
  ensure_sodium();
  YW_ASSIGN_OR_RETURN(FileHeader header, decode_file_header(header_bytes));
  if (header.export_id != export_id) {
    return make_error(ErrorKind::kDataLoss,
                      "belongs to another export (" + export_id_text(header.export_id) + ")");
  }
  if (header.file_index != file_index) {
    return make_error(ErrorKind::kDataLoss, "is entry " + std::to_string(header.file_index) +
                                                " of the manifest, not entry " +
                                                std::to_string(file_index) +
                                                " (files swapped or renamed?)");
  }
  std::unique_ptr<FileDecryptor> decryptor(new FileDecryptor());
  State& s = *decryptor->state_;
  s.chunk_bytes = header.chunk_bytes;
  s.ad = associated_data(header.chunk_bytes, export_id, file_index);
  // Any 24 bytes are a valid stream header; a changed one fails the first pull.
  crypto_secretstream_xchacha20poly1305_init_pull(&s.stream, header.stream_header.data(),
                                                  keys.file_key());
  return decryptor;
}

uint32_t FileDecryptor::chunk_bytes() const { return state_->chunk_bytes; }

uint64_t FileDecryptor::next_message_bytes(uint64_t remaining) const {
  return std::min<uint64_t>(remaining, uint64_t{state_->chunk_bytes} + kMessageOverhead);
}

Result<bool> FileDecryptor::pull(std::span<const uint8_t> message,
                                 std::vector<uint8_t>& plaintext) {
  State& s = *state_;
  if (s.failed || s.done) {
    return make_error(ErrorKind::kDataLoss, s.done ? "has data after its FINAL message"
                                                   : "cannot continue after a failed message");
  }
  if (message.size() < kMessageOverhead ||
      message.size() > uint64_t{s.chunk_bytes} + kMessageOverhead) {
    s.failed = true;
    return make_error(ErrorKind::kDataLoss, "ends in a message cut short (truncated?)");
  }
  plaintext.resize(message.size() - kMessageOverhead);
  uint8_t tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(&s.stream, plaintext.data(), nullptr, &tag,
                                                 message.data(), message.size(), s.ad.data(),
                                                 s.ad.size()) != 0) {
    s.failed = true;
    plaintext.clear();
    return make_error(ErrorKind::kDataLoss,
                      "failed authentication (changed, truncated, or a wrong passphrase)");
  }
  if (tag == kTagFinal) {
    s.done = true;
    return true;
  }
  if (tag != kTagMessage || plaintext.size() != s.chunk_bytes) {
    s.failed = true;
    return make_error(ErrorKind::kDataLoss, "ends without its FINAL message (truncated?)");
  }
  return false;
}

// ---- Manifest ----

std::string serialize_manifest(const Manifest& m) {
  ordered_json out;
  const bool subject = m.kind == BundleKind::kSubjectAccess;
  out["format"] = std::string(subject ? kSubjectFormatName : kFormatName);
  out["format_version"] = m.format_version;
  if (subject) {
    out["kind"] = std::string(kSubjectAccessKind);
    out["request_reference"] = m.request_reference;
  }
  out["export_id"] = m.export_id;
  time_pair(out, "created", m.created_utc_us);
  out["clock_at_export"] = m.clock_at_export;
  out["device"] = ordered_json{{"id", m.device_id},
                               {"name", m.device_name},
                               {"public_key", m.device_public_key},
                               {"fingerprint", m.device_fingerprint}};
  out["case"] = ordered_json{
      {"reference", m.case_reference},
      {"legal_basis", m.legal_basis},
      {"recipient", m.recipient},
      {"requested_by", ordered_json{{"name", m.requested_by.name}, {"role", m.requested_by.role}}},
      {"approved_by", ordered_json{{"name", m.approved_by.name}, {"role", m.approved_by.role}}}};
  ordered_json range = ordered_json::object();
  time_pair(range, "from", m.from_utc_us);
  time_pair(range, "to", m.to_utc_us);
  out["range"] = range;
  out["encryption"] = ordered_json{{"cipher", std::string(kCipherName)},
                                   {"chunk_bytes", m.chunk_bytes},
                                   {"kdf", ordered_json{{"algorithm", std::string(kKdfName)},
                                                        {"salt", m.kdf_salt},
                                                        {"opslimit", m.kdf_opslimit},
                                                        {"memlimit", m.kdf_memlimit}}},
                                   {"key_check", m.key_check}};
  ordered_json cameras = ordered_json::array();
  for (const auto& camera : m.cameras) {
    ordered_json gaps = ordered_json::array();
    for (const auto& gap : camera.gaps) {
      ordered_json entry = ordered_json::object();
      time_pair(entry, "from", gap.from_utc_us);
      time_pair(entry, "to", gap.to_utc_us);
      gaps.push_back(entry);
    }
    cameras.push_back(ordered_json{{"name", camera.name},
                                   {"zone", camera.zone},
                                   {"location", camera.location},
                                   {"files", camera.files},
                                   {"gaps", gaps}});
  }
  out["cameras"] = cameras;
  ordered_json files = ordered_json::array();
  for (const auto& file : m.files) {
    ordered_json entry = ordered_json::object();
    entry["index"] = file.index;
    entry["name"] = file.name;
    entry["camera"] = file.camera;
    entry["zone"] = file.zone;
    entry["location"] = file.location;
    time_pair(entry, "start", file.start_utc_us);
    time_pair(entry, "end", file.end_utc_us);
    entry["duration_us"] = file.duration_us;
    entry["codec"] = file.codec;
    entry["width"] = file.width;
    entry["height"] = file.height;
    entry["frames"] = file.frames;
    entry["time_source"] = file.time_source;
    entry["mp4_bytes"] = file.mp4_bytes;
    entry["mp4_sha256"] = file.mp4_sha256;
    entry["encrypted_bytes"] = file.encrypted_bytes;
    entry["encrypted_sha256"] = file.encrypted_sha256;
    ordered_json sources = ordered_json::array();
    for (const auto& source : file.source_segments) {
      ordered_json s = ordered_json::object();
      s["id"] = source.id;
      time_pair(s, "start", source.start_utc_us);
      time_pair(s, "end", source.end_utc_us);
      s["sha256"] = source.sha256;
      s["time_source"] = source.time_source;
      sources.push_back(s);
    }
    entry["source_segments"] = sources;
    files.push_back(entry);
  }
  out["files"] = files;
  ordered_json support = ordered_json::array();
  for (const auto& file : m.support_files) {
    support.push_back(
        ordered_json{{"name", file.name}, {"bytes", file.bytes}, {"sha256", file.sha256}});
  }
  out["support_files"] = support;
  // Text fields were checked to be UTF-8 by the export service; `replace` only keeps a broken
  // caller from throwing here.
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<Manifest> parse_manifest(std::string_view text) {
  if (text.size() > kMaxManifestBytes) {
    return make_error(ErrorKind::kDataLoss, "manifest.json is larger than " +
                                                std::to_string(kMaxManifestBytes >> 20) + " MiB");
  }
  const json root = json::parse(text.begin(), text.end(), nullptr, false);
  if (root.is_discarded() || !root.is_object()) {
    return make_error(ErrorKind::kDataLoss, "manifest.json is not a JSON object");
  }
  const Fields top(root, "");
  Manifest m;
  YW_ASSIGN_OR_RETURN(std::string format, top.text("format"));
  if (format == kSubjectFormatName) {
    m.kind = BundleKind::kSubjectAccess;
    YW_ASSIGN_OR_RETURN(std::string kind, top.text("kind"));
    if (kind != kSubjectAccessKind) {
      return Fields::bad("kind", "is not " + std::string(kSubjectAccessKind));
    }
    YW_ASSIGN_OR_RETURN(m.request_reference, top.text("request_reference", kMaxTextBytes, false));
  } else if (format == kFormatName) {
    // A police bundle never carries the subject export's fields.
    if (root.contains("kind") || root.contains("request_reference")) {
      return Fields::bad("kind", "is not part of a police bundle");
    }
  } else {
    return Fields::bad(
        "format", "is not " + std::string(kFormatName) + " or " + std::string(kSubjectFormatName));
  }
  YW_ASSIGN_OR_RETURN(m.format_version, top.integer("format_version", 0, kMaxJsonInteger));
  if (m.format_version != kFormatVersion) {
    return Fields::bad("format_version", "is " + std::to_string(m.format_version) +
                                             "; this verifier reads " +
                                             std::to_string(kFormatVersion));
  }
  YW_ASSIGN_OR_RETURN(m.export_id, top.text("export_id"));
  if (!parse_export_id(m.export_id)) return Fields::bad("export_id", "is not a UUID");
  YW_ASSIGN_OR_RETURN(m.created_utc_us, top.time("created"));
  YW_ASSIGN_OR_RETURN(m.clock_at_export, time_source(top, "clock_at_export"));

  YW_ASSIGN_OR_RETURN(Fields device, top.object("device"));
  YW_ASSIGN_OR_RETURN(m.device_id, device.text("id"));
  YW_ASSIGN_OR_RETURN(m.device_name, device.text("name"));
  YW_ASSIGN_OR_RETURN(m.device_public_key, device.hex("public_key", kPublicKeyBytes));
  YW_ASSIGN_OR_RETURN(m.device_fingerprint, device.text("fingerprint"));
  if (m.device_fingerprint != key_fingerprint(*from_hex(m.device_public_key))) {
    return Fields::bad("device.fingerprint", "is not the fingerprint of device.public_key");
  }

  YW_ASSIGN_OR_RETURN(Fields case_fields, top.object("case"));
  YW_ASSIGN_OR_RETURN(m.case_reference, case_fields.text("reference", kMaxTextBytes, false));
  YW_ASSIGN_OR_RETURN(m.legal_basis, case_fields.text("legal_basis", kMaxTextBytes, false));
  YW_ASSIGN_OR_RETURN(m.recipient, case_fields.text("recipient", kMaxTextBytes, false));
  YW_ASSIGN_OR_RETURN(m.requested_by, read_person(case_fields, "requested_by"));
  YW_ASSIGN_OR_RETURN(m.approved_by, read_person(case_fields, "approved_by"));
  if (m.kind == BundleKind::kSubjectAccess && m.case_reference != m.request_reference) {
    return Fields::bad("case.reference", "is not the request_reference");
  }

  YW_ASSIGN_OR_RETURN(Fields range, top.object("range"));
  YW_ASSIGN_OR_RETURN(m.from_utc_us, range.time("from"));
  YW_ASSIGN_OR_RETURN(m.to_utc_us, range.time("to"));
  if (m.to_utc_us <= m.from_utc_us) return Fields::bad("range", "ends before it starts");

  YW_ASSIGN_OR_RETURN(Fields encryption, top.object("encryption"));
  YW_ASSIGN_OR_RETURN(std::string cipher, encryption.text("cipher"));
  if (cipher != kCipherName) {
    return Fields::bad("encryption.cipher", "is not " + std::string(kCipherName));
  }
  YW_ASSIGN_OR_RETURN(int64_t chunk,
                      encryption.integer("chunk_bytes", kMinChunkBytes, kMaxChunkBytes));
  m.chunk_bytes = static_cast<uint32_t>(chunk);
  YW_ASSIGN_OR_RETURN(Fields kdf, encryption.object("kdf"));
  YW_ASSIGN_OR_RETURN(std::string algorithm, kdf.text("algorithm"));
  if (algorithm != kKdfName) {
    return Fields::bad("encryption.kdf.algorithm", "is not " + std::string(kKdfName));
  }
  YW_ASSIGN_OR_RETURN(m.kdf_salt, kdf.hex("salt", kSaltBytes));
  YW_ASSIGN_OR_RETURN(int64_t ops, kdf.integer("opslimit", kMinOpsLimit, kMaxOpsLimit));
  YW_ASSIGN_OR_RETURN(int64_t mem, kdf.integer("memlimit", kMinMemLimit, kMaxMemLimit));
  m.kdf_opslimit = static_cast<uint64_t>(ops);
  m.kdf_memlimit = static_cast<uint64_t>(mem);
  YW_ASSIGN_OR_RETURN(m.key_check, encryption.hex("key_check", kSha256Bytes));

  std::set<std::string> names = {std::string(kManifestName), std::string(kSignatureName)};
  auto claim_name = [&](const std::string& where, const std::string& name) -> Status {
    if (!valid_bundle_file_name(name)) {
      return Fields::bad(where, "is not a plain file name ([A-Za-z0-9._-], not starting with .)");
    }
    if (!names.insert(name).second) return Fields::bad(where, "names a file listed twice");
    return {};
  };

  YW_ASSIGN_OR_RETURN(const json* files, top.array("files", kMaxFiles));
  for (size_t i = 0; i < files->size(); ++i) {
    const Fields f((*files)[i], "files[" + std::to_string(i) + "]");
    FileEntry file;
    YW_ASSIGN_OR_RETURN(int64_t index, f.integer("index", 0, INT32_MAX));
    if (static_cast<size_t>(index) != i) return Fields::bad(f.at("index"), "is out of order");
    file.index = static_cast<uint32_t>(index);
    YW_ASSIGN_OR_RETURN(file.name, f.text("name"));
    YW_TRY(claim_name(f.at("name"), file.name));
    if (!ends_with(file.name, kEncryptedSuffix)) {
      return Fields::bad(f.at("name"), "does not end in " + std::string(kEncryptedSuffix));
    }
    YW_ASSIGN_OR_RETURN(file.camera, f.text("camera", kMaxTextBytes, false));
    YW_ASSIGN_OR_RETURN(file.zone, f.text("zone"));
    YW_ASSIGN_OR_RETURN(file.location, f.text("location"));
    YW_ASSIGN_OR_RETURN(file.start_utc_us, f.time("start"));
    YW_ASSIGN_OR_RETURN(file.end_utc_us, f.time("end"));
    if (file.end_utc_us < file.start_utc_us) return Fields::bad(f.at("end"), "is before start");
    YW_ASSIGN_OR_RETURN(file.duration_us, f.integer("duration_us", 0, kMaxJsonInteger));
    YW_ASSIGN_OR_RETURN(file.codec, f.text("codec"));
    if (file.codec != "h264" && file.codec != "h265") {
      return Fields::bad(f.at("codec"), "is not h264 or h265");
    }
    YW_ASSIGN_OR_RETURN(int64_t width, f.integer("width", 0, 65535));
    YW_ASSIGN_OR_RETURN(int64_t height, f.integer("height", 0, 65535));
    file.width = static_cast<uint32_t>(width);
    file.height = static_cast<uint32_t>(height);
    YW_ASSIGN_OR_RETURN(int64_t frames, f.integer("frames", 0, kMaxJsonInteger));
    file.frames = static_cast<uint64_t>(frames);
    YW_ASSIGN_OR_RETURN(file.time_source, time_source(f, "time_source"));
    YW_ASSIGN_OR_RETURN(int64_t mp4_bytes, f.integer("mp4_bytes", 0, int64_t{1} << 50));
    file.mp4_bytes = static_cast<uint64_t>(mp4_bytes);
    YW_ASSIGN_OR_RETURN(file.mp4_sha256, f.hex("mp4_sha256", kSha256Bytes));
    YW_ASSIGN_OR_RETURN(int64_t encrypted_bytes, f.integer("encrypted_bytes", 0, kMaxJsonInteger));
    file.encrypted_bytes = static_cast<uint64_t>(encrypted_bytes);
    if (file.encrypted_bytes != encrypted_size(file.mp4_bytes, m.chunk_bytes)) {
      return Fields::bad(f.at("encrypted_bytes"), "does not match mp4_bytes and chunk_bytes");
    }
    YW_ASSIGN_OR_RETURN(file.encrypted_sha256, f.hex("encrypted_sha256", kSha256Bytes));
    YW_ASSIGN_OR_RETURN(const json* sources, f.array("source_segments", 1'000'000));
    for (size_t j = 0; j < sources->size(); ++j) {
      const Fields s((*sources)[j], f.at("source_segments[" + std::to_string(j) + "]"));
      SourceSegment source;
      YW_ASSIGN_OR_RETURN(source.id, s.integer("id", 0, kMaxJsonInteger));
      YW_ASSIGN_OR_RETURN(source.start_utc_us, s.time("start"));
      YW_ASSIGN_OR_RETURN(source.end_utc_us, s.time("end"));
      YW_ASSIGN_OR_RETURN(source.sha256, s.hex("sha256", kSha256Bytes));
      YW_ASSIGN_OR_RETURN(source.time_source, time_source(s, "time_source"));
      file.source_segments.push_back(std::move(source));
    }
    m.files.push_back(std::move(file));
  }

  YW_ASSIGN_OR_RETURN(const json* cameras, top.array("cameras", kMaxFiles));
  std::vector<bool> file_claimed(m.files.size(), false);
  for (size_t i = 0; i < cameras->size(); ++i) {
    const Fields c((*cameras)[i], "cameras[" + std::to_string(i) + "]");
    CameraEntry camera;
    YW_ASSIGN_OR_RETURN(camera.name, c.text("name", kMaxTextBytes, false));
    YW_ASSIGN_OR_RETURN(camera.zone, c.text("zone"));
    YW_ASSIGN_OR_RETURN(camera.location, c.text("location"));
    YW_ASSIGN_OR_RETURN(const json* file_list, c.array("files", kMaxFiles));
    for (const auto& index : *file_list) {
      if (!index.is_number_unsigned() || index.get<uint64_t>() >= m.files.size()) {
        return Fields::bad(c.at("files"), "lists a file that is not in files");
      }
      const auto position = index.get<size_t>();
      if (m.files[position].camera != camera.name || file_claimed[position]) {
        return Fields::bad(c.at("files"), "lists a file of another camera, or one twice");
      }
      file_claimed[position] = true;
      camera.files.push_back(static_cast<uint32_t>(position));
    }
    YW_ASSIGN_OR_RETURN(const json* gaps, c.array("gaps", 1'000'000));
    for (size_t j = 0; j < gaps->size(); ++j) {
      const Fields g((*gaps)[j], c.at("gaps[" + std::to_string(j) + "]"));
      Gap gap;
      YW_ASSIGN_OR_RETURN(gap.from_utc_us, g.time("from"));
      YW_ASSIGN_OR_RETURN(gap.to_utc_us, g.time("to"));
      camera.gaps.push_back(gap);
    }
    m.cameras.push_back(std::move(camera));
  }
  for (size_t i = 0; i < file_claimed.size(); ++i) {
    if (!file_claimed[i]) {
      return Fields::bad("files[" + std::to_string(i) + "]", "belongs to no camera in cameras");
    }
  }

  YW_ASSIGN_OR_RETURN(const json* support, top.array("support_files", 64));
  for (size_t i = 0; i < support->size(); ++i) {
    const Fields s((*support)[i], "support_files[" + std::to_string(i) + "]");
    SupportFile file;
    YW_ASSIGN_OR_RETURN(file.name, s.text("name"));
    YW_TRY(claim_name(s.at("name"), file.name));
    YW_ASSIGN_OR_RETURN(int64_t bytes, s.integer("bytes", 0, int64_t{1} << 40));
    file.bytes = static_cast<uint64_t>(bytes);
    YW_ASSIGN_OR_RETURN(file.sha256, s.hex("sha256", kSha256Bytes));
    m.support_files.push_back(std::move(file));
  }
  return m;
}

// ---- Helpers ----

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t byte : bytes) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0x0F]);
  }
  return out;
}

std::optional<std::vector<uint8_t>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int high = digit(hex[2 * i]);
    const int low = digit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(high * 16 + low);
  }
  return out;
}

std::string export_id_text(const ExportId& id) {
  const std::string hex = to_hex(id);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

ExportId new_export_id() {
  ensure_sodium();
  ExportId id{};
  randombytes_buf(id.data(), id.size());
  id[6] = static_cast<uint8_t>((id[6] & 0x0F) | 0x40);  // version 4
  id[8] = static_cast<uint8_t>((id[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return id;
}

std::optional<ExportId> parse_export_id(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string hex;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position != (text[i] == '-')) return std::nullopt;
    if (!dash_position) hex.push_back(text[i]);
  }
  auto bytes = from_hex(hex);
  if (!bytes || to_hex(*bytes) != hex) return std::nullopt;  // lower case only
  ExportId id{};
  std::copy(bytes->begin(), bytes->end(), id.begin());
  return id;
}

KdfParams kdf_params(const Manifest& manifest) {
  KdfParams params;
  auto salt = from_hex(manifest.kdf_salt);
  if (salt && salt->size() == kSaltBytes)
    std::copy(salt->begin(), salt->end(), params.salt.begin());
  params.opslimit = manifest.kdf_opslimit;
  params.memlimit = manifest.kdf_memlimit;
  return params;
}

std::array<uint8_t, kSignatureBytes> sign_manifest(std::string_view manifest_bytes,
                                                   std::span<const uint8_t> secret_key) {
  ensure_sodium();
  std::array<uint8_t, kSignatureBytes> signature{};
  if (secret_key.size() != crypto_sign_SECRETKEYBYTES) std::abort();  // a programming error
  crypto_sign_detached(signature.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(manifest_bytes.data()),
                       manifest_bytes.size(), secret_key.data());
  return signature;
}

bool manifest_signature_valid(std::string_view manifest_bytes, std::span<const uint8_t> signature,
                              std::span<const uint8_t> public_key) {
  ensure_sodium();
  if (signature.size() != kSignatureBytes || public_key.size() != kPublicKeyBytes) return false;
  return crypto_sign_verify_detached(signature.data(),
                                     reinterpret_cast<const unsigned char*>(manifest_bytes.data()),
                                     manifest_bytes.size(), public_key.data()) == 0;
}

std::string key_fingerprint(std::span<const uint8_t> public_key) {
  return hal::key_fingerprint(public_key);
}

}  // namespace yardwatch::recorder::bundle_format
