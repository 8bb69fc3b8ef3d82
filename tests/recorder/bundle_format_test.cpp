#include "yardwatch/recorder/bundle_format.h"

#include <sodium.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "yardwatch/hal/key_store.h"

namespace yardwatch::recorder::bundle_format {
namespace {

using nlohmann::json;

KdfParams cheap_kdf() {
  KdfParams params;
  params.opslimit = 1;
  params.memlimit = kMinMemLimit;
  return params;
}

BundleKeys keys_for(const std::string& passphrase) {
  auto keys = derive_keys(passphrase, cheap_kdf());
  REQUIRE(keys.ok());
  return std::move(keys).value();
}

std::vector<uint8_t> encrypt(const BundleKeys& keys, std::span<const uint8_t> plaintext,
                             uint32_t chunk, const ExportId& id, uint32_t index) {
  std::vector<uint8_t> out;
  FileEncryptor encryptor(keys, chunk, id, index, [&](std::span<const uint8_t> bytes) -> Status {
    out.insert(out.end(), bytes.begin(), bytes.end());
    return {};
  });
  // Fed in uneven pieces, as the writer does.
  size_t at = 0;
  size_t piece = 1;
  while (at < plaintext.size()) {
    const size_t take = std::min(piece, plaintext.size() - at);
    REQUIRE(encryptor.write(plaintext.subspan(at, take)).ok());
    at += take;
    piece = piece * 3 + 1;
  }
  REQUIRE(encryptor.finish().ok());
  return out;
}

Result<std::vector<uint8_t>> decrypt(const BundleKeys& keys, std::span<const uint8_t> file,
                                     const ExportId& id, uint32_t index) {
  if (file.size() < kFileHeaderBytes) return make_error(ErrorKind::kDataLoss, "short");
  YW_ASSIGN_OR_RETURN(auto decryptor,
                      FileDecryptor::start(keys, file.first(kFileHeaderBytes), id, index));
  std::vector<uint8_t> out;
  std::vector<uint8_t> plain;
  uint64_t at = kFileHeaderBytes;
  bool final = false;
  while (at < file.size()) {
    const uint64_t size = decryptor->next_message_bytes(file.size() - at);
    YW_ASSIGN_OR_RETURN(final, decryptor->pull(file.subspan(at, size), plain));
    out.insert(out.end(), plain.begin(), plain.end());
    at += size;
    if (final && at != file.size()) return make_error(ErrorKind::kDataLoss, "data after FINAL");
  }
  if (!final) return make_error(ErrorKind::kDataLoss, "no FINAL");
  return out;
}

TEST_CASE("encrypted footage files round-trip at every size around the chunk boundaries",
          "[bundle_format]") {
  const BundleKeys keys = keys_for("correct horse battery staple");
  const ExportId id = new_export_id();
  constexpr uint32_t kChunk = kMinChunkBytes;
  for (size_t size : {size_t{0}, size_t{1}, size_t{kChunk - 1}, size_t{kChunk}, size_t{kChunk + 1},
                      size_t{2 * kChunk}, size_t{3 * kChunk + 17}}) {
    INFO("size " << size);
    std::vector<uint8_t> plaintext(size);
    if (!plaintext.empty()) randombytes_buf(plaintext.data(), plaintext.size());
    const auto file = encrypt(keys, plaintext, kChunk, id, 7);
    CHECK(file.size() == encrypted_size(size, kChunk));
    auto back = decrypt(keys, file, id, 7);
    REQUIRE(back.ok());
    CHECK(back.value() == plaintext);
  }
}

TEST_CASE("every byte of an encrypted footage file is authenticated", "[bundle_format]") {
  const BundleKeys keys = keys_for("correct horse battery staple");
  const ExportId id = new_export_id();
  std::vector<uint8_t> plaintext(3 * kMinChunkBytes + 100);
  randombytes_buf(plaintext.data(), plaintext.size());
  const auto file = encrypt(keys, plaintext, kMinChunkBytes, id, 0);
  for (size_t position = 0; position < file.size(); position += 7) {
    auto damaged = file;
    damaged[position] ^= 0x01;
    INFO("byte " << position);
    CHECK_FALSE(decrypt(keys, damaged, id, 0).ok());
  }
  // Truncated anywhere, or extended.
  for (size_t cut :
       {size_t{0}, kFileHeaderBytes, kFileHeaderBytes + kMinChunkBytes + 17, file.size() - 1}) {
    CHECK_FALSE(decrypt(keys, std::span(file).first(cut), id, 0).ok());
  }
  auto extended = file;
  extended.push_back(0);
  CHECK_FALSE(decrypt(keys, extended, id, 0).ok());
}

TEST_CASE("an encrypted file decrypts only as its own entry of its own export", "[bundle_format]") {
  const BundleKeys keys = keys_for("correct horse battery staple");
  const ExportId id = new_export_id();
  const std::vector<uint8_t> plaintext(5000, 0x42);
  const auto file = encrypt(keys, plaintext, kMinChunkBytes, id, 2);
  // Header says entry 2: refused as entry 1, and as another export's.
  auto as_other_entry = decrypt(keys, file, id, 1);
  REQUIRE_FALSE(as_other_entry.ok());
  CHECK(as_other_entry.error().message.find("not entry 1") != std::string::npos);
  CHECK_FALSE(decrypt(keys, file, new_export_id(), 2).ok());
  // A header edited to claim entry 1 fails authentication: the manifest's index is in every
  // message's associated data.
  auto edited = file;
  edited[32] = 1;
  auto forged = decrypt(keys, edited, id, 1);
  REQUIRE_FALSE(forged.ok());
  CHECK(forged.error().message.find("failed authentication") != std::string::npos);
  // The right passphrase matters, and the key check tells a wrong one.
  const BundleKeys wrong = keys_for("correct horse battery stapel");
  CHECK_FALSE(decrypt(wrong, file, id, 2).ok());
  CHECK(key_check(wrong) != key_check(keys));
  CHECK(key_check(keys_for("correct horse battery staple")) == key_check(keys));
}

TEST_CASE("passphrases: first line of the file, 12 to 1024 bytes, Argon2id limits enforced",
          "[bundle_format]") {
  CHECK(passphrase_from_file_text("vier woorden als zin\r\nrest") == "vier woorden als zin");
  CHECK(passphrase_from_file_text("geen regeleinde") == "geen regeleinde");
  CHECK_FALSE(check_passphrase("kort").ok());
  CHECK_FALSE(check_passphrase(std::string(20, ' ')).ok());
  CHECK_FALSE(check_passphrase(std::string(1025, 'a')).ok());
  CHECK(check_passphrase("twaalf tekens").ok());
  KdfParams greedy = cheap_kdf();
  greedy.memlimit = kMaxMemLimit + 1;
  CHECK(derive_keys("correct horse battery staple", greedy).error().kind ==
        ErrorKind::kInvalidArgument);
  KdfParams slow = cheap_kdf();
  slow.opslimit = kMaxOpsLimit + 1;
  CHECK_FALSE(derive_keys("correct horse battery staple", slow).ok());
}

Manifest sample_manifest() {
  std::array<uint8_t, 32> public_key{};
  std::array<uint8_t, 64> secret_key{};
  crypto_sign_keypair(public_key.data(), secret_key.data());
  Manifest m;
  m.export_id = export_id_text(new_export_id());
  m.created_utc_us = 1'795'604'400'000'000;
  m.clock_at_export = "synchronised";
  m.device_id = "0123";
  m.device_name = "OBS De Regenboog";
  m.device_public_key = to_hex(public_key);
  m.device_fingerprint = hal::key_fingerprint(public_key);
  m.case_reference = "PL0900-1";
  m.legal_basis = "vordering nr. 1";
  m.recipient = "Politie";
  m.requested_by = {"Politie", "requesting authority"};
  m.approved_by = {"directeur", "director"};
  m.from_utc_us = m.created_utc_us - 3'600'000'000;
  m.to_utc_us = m.created_utc_us - 1'800'000'000;
  m.chunk_bytes = kMinChunkBytes;
  m.kdf_salt = std::string(32, 'a');
  m.kdf_opslimit = 1;
  m.kdf_memlimit = kMinMemLimit;
  m.key_check = std::string(64, 'b');
  FileEntry file;
  file.index = 0;
  file.name = "001_poort_20261125T100000Z.mp4.enc";
  file.camera = "poort";
  file.start_utc_us = m.from_utc_us;
  file.end_utc_us = m.from_utc_us + 4'000'123;
  file.duration_us = 4'000'000;
  file.codec = "h264";
  file.width = 1280;
  file.height = 720;
  file.frames = 100;
  file.time_source = "synchronised";
  file.mp4_bytes = 10'000;
  file.mp4_sha256 = std::string(64, 'c');
  file.encrypted_bytes = encrypted_size(file.mp4_bytes, m.chunk_bytes);
  file.encrypted_sha256 = std::string(64, 'd');
  file.source_segments.push_back(
      {17, file.start_utc_us, file.end_utc_us, std::string(64, 'e'), "synchronised"});
  m.files.push_back(file);
  m.cameras.push_back({"poort", "entrance", "hoofdingang", {0}, {{file.end_utc_us, m.to_utc_us}}});
  m.support_files.push_back({"README.txt", 10, std::string(64, 'f')});
  return m;
}

TEST_CASE("the manifest serialises and parses back to the same values", "[bundle_format]") {
  const Manifest m = sample_manifest();
  const std::string text = serialize_manifest(m);
  auto parsed = parse_manifest(text);
  INFO((parsed.ok() ? "" : parsed.error().message));
  REQUIRE(parsed.ok());
  CHECK(serialize_manifest(parsed.value()) == text);
  CHECK(text.find("\"end\": \"2026-11-25T10:00:04.000123Z\"") != std::string::npos);
}

TEST_CASE("the manifest parser refuses what a verifier must not trust, naming the member",
          "[bundle_format]") {
  const json good = json::parse(serialize_manifest(sample_manifest()));
  struct Case {
    std::string what;
    std::function<void(json&)> edit;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"another format", [](json& j) { j["format"] = "zip"; }, "format"},
      {"a future version", [](json& j) { j["format_version"] = 2; }, "format_version"},
      {"a time pair that disagrees", [](json& j) { j["created"] = "2026-11-25T10:00:01Z"; },
       "created"},
      {"upper-case hex", [](json& j) { j["files"][0]["mp4_sha256"] = std::string(64, 'C'); },
       "mp4_sha256"},
      {"a short hash", [](json& j) { j["files"][0]["encrypted_sha256"] = "abcd"; },
       "encrypted_sha256"},
      {"a fingerprint of another key", [](json& j) { j["device"]["fingerprint"] = "0000"; },
       "device.fingerprint"},
      {"a path in a file name", [](json& j) { j["files"][0]["name"] = "../x.mp4.enc"; }, "name"},
      {"a name listed twice",
       [](json& j) { j["support_files"][0]["name"] = j["files"][0]["name"]; }, "twice"},
      {"sizes that do not add up", [](json& j) { j["files"][0]["encrypted_bytes"] = 1; },
       "encrypted_bytes"},
      {"a greedy Argon2id", [](json& j) { j["encryption"]["kdf"]["memlimit"] = 1LL << 40; },
       "memlimit"},
      {"an index out of order", [](json& j) { j["files"][0]["index"] = 3; }, "index"},
      {"a file no camera claims", [](json& j) { j["cameras"][0]["files"] = json::array(); },
       "belongs to no camera"},
      {"an empty legal basis", [](json& j) { j["case"]["legal_basis"] = ""; }, "legal_basis"},
      {"a missing member", [](json& j) { j["case"].erase("recipient"); }, "recipient"},
      {"a number as text", [](json& j) { j["files"][0]["frames"] = "100"; }, "frames"},
      {"an unknown time source", [](json& j) { j["files"][0]["time_source"] = "gps"; },
       "time_source"},
      {"a time beyond 2^53", [](json& j) { j["range"]["to_utc_us"] = 1LL << 60; }, "to_utc_us"},
  };
  for (const auto& c : cases) {
    json edited = good;
    c.edit(edited);
    auto parsed = parse_manifest(edited.dump(2));
    INFO(c.what);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().kind == ErrorKind::kDataLoss);
    CHECK(parsed.error().message.find(c.names) != std::string::npos);
  }
  CHECK_FALSE(parse_manifest("not json").ok());
  CHECK_FALSE(parse_manifest("[]").ok());
  CHECK_FALSE(parse_manifest(std::string(kMaxManifestBytes + 1, ' ')).ok());
}

TEST_CASE(
    "R7: a subject export's manifest says its kind and request, and neither kind passes for the "
    "other",
    "[bundle_format][R7]") {
  Manifest m = sample_manifest();
  m.kind = BundleKind::kSubjectAccess;
  m.request_reference = "AVG-2026-7";
  m.case_reference = "AVG-2026-7";
  const std::string text = serialize_manifest(m);
  CHECK(text.find("\"format\": \"yardwatch-subject-bundle\"") != std::string::npos);
  CHECK(text.find("\"kind\": \"subject_access\"") != std::string::npos);
  auto parsed = parse_manifest(text);
  INFO((parsed.ok() ? "" : parsed.error().message));
  REQUIRE(parsed.ok());
  CHECK(parsed.value().kind == BundleKind::kSubjectAccess);
  CHECK(parsed.value().request_reference == "AVG-2026-7");
  CHECK(serialize_manifest(parsed.value()) == text);
  // A police manifest stays as it was: no kind, no request.
  const std::string police = serialize_manifest(sample_manifest());
  CHECK(police.find("\"kind\"") == std::string::npos);
  CHECK(parse_manifest(police).value().kind == BundleKind::kPolice);

  const json subject = json::parse(text);
  const json police_json = json::parse(police);
  struct Case {
    std::string what;
    json manifest;
    std::string names;
  };
  std::vector<Case> cases;
  json edited = police_json;
  edited["kind"] = "subject_access";
  cases.push_back({"a police bundle with a kind", edited, "kind"});
  edited = police_json;
  edited["request_reference"] = "AVG-2026-7";
  cases.push_back({"a police bundle with a request", edited, "kind"});
  edited = subject;
  edited.erase("kind");
  cases.push_back({"a subject bundle without its kind", edited, "kind"});
  edited = subject;
  edited["kind"] = "police";
  cases.push_back({"a subject bundle of another kind", edited, "kind"});
  edited = subject;
  edited["request_reference"] = "";
  cases.push_back({"a subject bundle without a request", edited, "request_reference"});
  edited = subject;
  edited["case"]["reference"] = "PL0900-1";
  cases.push_back({"a request that is not the case reference", edited, "case.reference"});
  for (const auto& c : cases) {
    auto refused = parse_manifest(c.manifest.dump(2));
    INFO(c.what);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message.find(c.names) != std::string::npos);
  }
}

TEST_CASE("export ids are version 4 UUIDs and parse back", "[bundle_format]") {
  const ExportId id = new_export_id();
  const std::string text = export_id_text(id);
  CHECK(text.size() == 36);
  CHECK(text[14] == '4');
  CHECK(parse_export_id(text) == id);
  CHECK_FALSE(parse_export_id("not-a-uuid"));
  std::string upper = text;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper != text) CHECK_FALSE(parse_export_id(upper));
}

TEST_CASE("the bundle fingerprint is the one the audit journal and status show",
          "[bundle_format]") {
  std::array<uint8_t, 32> public_key{};
  std::array<uint8_t, 64> secret_key{};
  crypto_sign_keypair(public_key.data(), secret_key.data());
  const std::string fingerprint = key_fingerprint(public_key);
  CHECK(fingerprint == hal::key_fingerprint(public_key));
  CHECK(fingerprint.size() == 39);
  const std::string manifest = "{}";
  const auto signature = sign_manifest(manifest, secret_key);
  CHECK(manifest_signature_valid(manifest, signature, public_key));
  CHECK_FALSE(manifest_signature_valid("{} ", signature, public_key));
}

}  // namespace
}  // namespace yardwatch::recorder::bundle_format
