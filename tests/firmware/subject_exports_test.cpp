// Subject access exports (R7, R11; firmware/design/subject_export.md) on a real appliance (SQLite
// catalog on disk, keys, audit journal) with real encrypted segments of a real H.264 stream:
// prepare → the review gate → release as a signed, encrypted subject bundle that the real
// yardwatch-verify accepts and labels as a subject export with the request's reference, whose
// MP4 passes ffprobe; tampering is caught; nothing in plaintext on disk; nothing of the
// detector's output kept.

#include "yardwatch/firmware/subject_exports.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <set>

#include "../recorder/recorded_footage.h"
#include "test_support.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/clock_log.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/firmware/settings.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {
namespace {

namespace fs = std::filesystem;
namespace format = recorder::bundle_format;
using nlohmann::json;
using testing::TempDir;

constexpr int64_t kSecond = 1'000'000;
const std::vector<uint8_t> kPage = {'<', 'h', 't', 'm', 'l', '>'};
const std::string kPassphrase = "vier woorden als wachtwoordzin";
const std::string kAccess = "AVG-2026-7";
const std::string kErasure = "AVG-2026-8";

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Plaintext video signatures: an MP4 box header ("ftyp", "moov", "mdat", "moof") or an H.264
// Annex B start code followed by an SPS/IDR NAL header. Encrypted files and the catalog have
// none of these (a false hit on random bytes is possible in principle; the files here are small).
bool looks_like_plain_video(const std::vector<uint8_t>& bytes) {
  const std::string text(bytes.begin(), bytes.end());
  for (const char* box : {"ftypisom", "ftypmp4", "ftypiso", "moov", "mdat", "moof"}) {
    if (text.find(box) != std::string::npos) return true;
  }
  for (const std::string& sps :
       {std::string("\x00\x00\x00\x01\x67", 5), std::string("\x00\x00\x00\x01\x65", 5)}) {
    if (text.find(sps) != std::string::npos) return true;
  }
  return false;
}

std::vector<fs::path> plain_video_files(const fs::path& root) {
  std::vector<fs::path> found;
  if (!fs::exists(root)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && looks_like_plain_video(read_bytes(entry.path()))) {
      found.push_back(entry.path());
    }
  }
  return found;
}

// TMPDIR pointed at an empty directory for the test's lifetime: GStreamer and OpenCV would put
// scratch files there.
class ScratchDir {
 public:
  explicit ScratchDir(fs::path dir) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    if (const char* old = getenv("TMPDIR")) previous_ = old;
    setenv("TMPDIR", dir_.c_str(), 1);
  }
  ~ScratchDir() {
    if (previous_) {
      setenv("TMPDIR", previous_->c_str(), 1);
    } else {
      unsetenv("TMPDIR");
    }
  }
  [[nodiscard]] const fs::path& path() const { return dir_; }

 private:
  fs::path dir_;
  std::optional<std::string> previous_;
};

testing::CommandResult verify(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {testing::binary_path("yardwatch-verify").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::run_command(argv);
}

struct Fixture {
  TempDir dir{"yw-subject-exports"};
  ScratchDir scratch{dir / "tmp"};
  std::unique_ptr<Appliance> appliance;
  std::unique_ptr<Services> services;
  fs::path stick;
  int64_t t0 = 0;
  Principal director;

  Fixture() {
    appliance = Appliance::init({dir / "data", dir / "keys", "host-sim"}).value();
    services = std::make_unique<Services>(*appliance);
    services->subject_exports.set_verify_page(kPage);
    REQUIRE(set_setting(appliance->catalog(), services->audit, Actor::console(),
                        "policy.require_totp", "0")
                .ok());
    stick = dir / "stick";
    fs::create_directories(stick);
    t0 = appliance->clock().now_utc_us() - 60 * kSecond;
    hal::SimulatedClock synced(t0 - kSecond, hal::SyncState::kSynchronised);
    REQUIRE(record_clock_state(appliance->catalog(), synced).value());
    // 4 s of a moving ball at 25 fps (motion the redaction masks), one closed segment.
    recorder::test::FootageStore store(appliance->catalog(), appliance->storage(),
                                       appliance->keys());
    const auto stream =
        recorder::test::encode_stream(recorder::VideoCodec::kH264, 100, 25, 160, 120);
    const auto yard = store.add_camera("schoolplein");
    store.write_segment(yard, stream, 0, 100, t0);
    director = sign_in("directeur", Role::kDirector);
    register_request(kAccess, RequestKind::kAccess);
    register_request(kErasure, RequestKind::kErasure);
  }

  void register_request(const std::string& reference, RequestKind kind) {
    NewSubjectRequest request;
    request.reference = reference;
    request.kind = kind;
    request.requester_name = "J. Jansen";
    request.requester_contact = "j.jansen@example.org";
    request.received_utc_us = t0;
    auto added = services->requests.add(director, request);
    INFO((added.ok() ? "" : added.error().message));
    REQUIRE(added.ok());
  }

  Principal sign_in(const std::string& name, Role role) {
    const std::string temporary = "tijdelijk-wachtwoord-" + std::to_string(name.size());
    const std::string password = "blijvend-wachtwoord-" + std::to_string(name.size());
    if (!services->accounts.find(name).ok()) {
      std::vector<std::string> cameras;
      if (role == Role::kViewer) cameras = {"schoolplein"};
      REQUIRE(
          services->accounts.add_account(Actor::console(), name, role, cameras, temporary).ok());
      REQUIRE(services->accounts.change_password({name, temporary, "", "console"}, password).ok());
    }
    auto principal = services->accounts.authenticate({name, password, "", "console"});
    REQUIRE(principal.ok());
    return principal.value();
  }

  SubjectDraftSpec spec(const std::string& reference) const {
    SubjectDraftSpec s;
    s.request_reference = reference;
    s.camera = "schoolplein";
    s.from_utc_us = t0 + kSecond;
    s.to_utc_us = t0 + 3 * kSecond;
    s.selection = recorder::RequesterSelection{t0 + kSecond, {0.1, 0.1, 0.3, 0.4}};
    return s;
  }

  SubjectReleaseSpec release_spec(const std::string& draft_id, const std::string& name) const {
    SubjectReleaseSpec r;
    r.draft_id = draft_id;
    r.passphrase = kPassphrase;
    r.media_id = "dir:" + stick.string();
    r.directory_name = name;
    r.kdf_opslimit = 1;
    r.kdf_memlimit = format::kMinMemLimit;
    return r;
  }

  // Fetches the draft and reports every frame shown.
  SubjectDraft review(const SubjectDraft& draft) {
    auto video = services->subject_exports.draft_video(director, draft.id);
    REQUIRE(video.ok());
    std::vector<uint64_t> frames(draft.frames);
    std::iota(frames.begin(), frames.end(), uint64_t{0});
    auto reviewed = services->subject_exports.confirm_review(director, draft.id, frames);
    INFO((reviewed.ok() ? "" : reviewed.error().message));
    REQUIRE(reviewed.ok());
    return reviewed.value();
  }

  std::vector<AuditEntry> audit_entries(const std::string& action) {
    AuditFilter filter;
    filter.action = action;
    return services->audit.list(filter).value();
  }

  int64_t count(const std::string& sql) {
    std::lock_guard lock(appliance->catalog().mutex());
    auto query = appliance->catalog().database().prepare(sql).value();
    REQUIRE(query.step().value());
    return query.column_int(0);
  }
};

TEST_CASE(
    "R7: a subject export is reviewed frame by frame, released as a subject bundle with the "
    "request reference, and verified",
    "[subject_exports][R7]") {
  Fixture f;
  hal::DirectoryMedia media(f.stick, "stick");

  // Only directors; the refusal is audited.
  const Principal viewer = f.sign_in("kijker", Role::kViewer);
  auto denied = f.services->subject_exports.prepare(viewer, f.spec(kAccess));
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().kind == ErrorKind::kPermissionDenied);
  CHECK_FALSE(f.audit_entries("subject_export_prepare").front().event.allowed);

  // An erasure request is not answered with an export; an unknown reference neither.
  auto wrong_kind = f.services->subject_exports.prepare(f.director, f.spec(kErasure));
  REQUIRE_FALSE(wrong_kind.ok());
  CHECK(wrong_kind.error().kind == ErrorKind::kFailedPrecondition);
  auto unknown = f.services->subject_exports.prepare(f.director, f.spec("AVG-0000"));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::kFailedPrecondition);
  // At most 15 minutes.
  auto too_long = f.spec(kAccess);
  too_long.to_utc_us = too_long.from_utc_us + kMaxSubjectExportRangeUs + 1;
  CHECK(f.services->subject_exports.prepare(f.director, too_long).error().kind ==
        ErrorKind::kInvalidArgument);

  // The still to draw on.
  auto still =
      f.services->subject_exports.frame(f.director, kAccess, "schoolplein", f.t0 + kSecond);
  REQUIRE(still.ok());
  CHECK(still.value().width == 160);
  CHECK(still.value().jpeg.size() > 100);

  auto draft = f.services->subject_exports.prepare(f.director, f.spec(kAccess));
  INFO((draft.ok() ? "" : draft.error().message));
  REQUIRE(draft.ok());
  CHECK(draft.value().frames == 50);  // 2 s at 25 fps
  CHECK(draft.value().width == 160);
  CHECK(draft.value().reviewed_utc_us == std::nullopt);

  // The review gate: no release before a complete review.
  auto early = f.services->subject_exports.release(
      f.director, f.release_spec(draft.value().id, "early"), media);
  REQUIRE_FALSE(early.ok());
  CHECK(early.error().kind == ErrorKind::kFailedPrecondition);
  CHECK_FALSE(fs::exists(f.stick / "early"));
  CHECK(f.count("SELECT COUNT(*) FROM subject_exports") == 0);
  CHECK_FALSE(f.audit_entries("subject_export").back().event.allowed);
  // Not fetched: no confirmation.
  std::vector<uint64_t> all(draft.value().frames);
  std::iota(all.begin(), all.end(), uint64_t{0});
  CHECK(
      f.services->subject_exports.confirm_review(f.director, draft.value().id, all).error().kind ==
      ErrorKind::kFailedPrecondition);
  auto video = f.services->subject_exports.draft_video(f.director, draft.value().id);
  REQUIRE(video.ok());
  CHECK(video.value().size() == draft.value().mp4_bytes);
  // One frame short, or frames out of range counted in: refused.
  std::vector<uint64_t> short_one(all.begin(), all.end() - 1);
  short_one.push_back(draft.value().frames + 7);
  auto partial =
      f.services->subject_exports.confirm_review(f.director, draft.value().id, short_one);
  REQUIRE_FALSE(partial.ok());
  CHECK(partial.error().kind == ErrorKind::kFailedPrecondition);
  CHECK_FALSE(f.services->subject_exports
                  .release(f.director, f.release_spec(draft.value().id, "partial"), media)
                  .ok());
  auto reviewed = f.services->subject_exports.confirm_review(f.director, draft.value().id, all);
  REQUIRE(reviewed.ok());
  CHECK(reviewed.value().reviewed_by == "directeur");
  // A viewer cannot release what a director reviewed.
  auto viewer_release = f.services->subject_exports.release(
      viewer, f.release_spec(draft.value().id, "viewer"), media);
  REQUIRE_FALSE(viewer_release.ok());
  CHECK(viewer_release.error().kind == ErrorKind::kPermissionDenied);

  auto released = f.services->subject_exports.release(
      f.director, f.release_spec(draft.value().id, "inzage-AVG-2026-7"), media);
  INFO((released.ok() ? "" : released.error().message));
  REQUIRE(released.ok());
  const SubjectExportRecord& record = released.value();
  CHECK(record.state == "complete");
  CHECK(record.request_reference == kAccess);
  CHECK(record.reviewed_by == "directeur");
  CHECK(record.reviewed_utc_us.has_value());
  CHECK(json::parse(record.manifest)["kind"] == "subject_access");
  // The draft is gone once released.
  CHECK(f.services->subject_exports.draft(f.director, draft.value().id).error().kind ==
        ErrorKind::kNotFound);

  // Linked to the request, audited with its reference in the same entries.
  auto request = f.services->requests.get(f.director, kAccess);
  REQUIRE(request.ok());
  REQUIRE(request.value().actions.size() == 1);
  CHECK(request.value().actions.front().kind == RequestActionKind::kSubjectExport);
  CHECK(request.value().actions.front().object_id == record.id);
  const auto complete = f.audit_entries("subject_export_complete");
  REQUIRE(complete.size() == 1);
  CHECK(json::parse(complete.front().event.details)["request"] == kAccess);
  CHECK(complete.front().event.purpose.find(kAccess) != std::string::npos);
  auto listed = f.services->subject_exports.list(f.director, kAccess);
  REQUIRE(listed.ok());
  REQUIRE(listed.value().size() == 1);
  CHECK(listed.value().front().id == record.id);

  // The real verifier: valid, and plainly a subject export of this request.
  const fs::path bundle = f.stick / "inzage-AVG-2026-7";
  const fs::path passphrase_file = f.dir / "passphrase.txt";
  std::ofstream(passphrase_file) << kPassphrase << "\n";
  const fs::path extracted = f.dir / "extracted";
  auto verified = verify({bundle.string(), "--passphrase-file", passphrase_file.string(),
                          "--extract", extracted.string()});
  INFO(verified.out << verified.err);
  CHECK(verified.exit_code == 0);
  CHECK(verified.out.find("SUBJECT ACCESS EXPORT (inzage-export) for request AVG-2026-7") !=
        std::string::npos);
  CHECK(verified.out.find("RESULT: OK (subject access export for request AVG-2026-7)") !=
        std::string::npos);
  CHECK(verified.out.find("police export (evidence bundle)") == std::string::npos);
  // The decrypted MP4 passes ffprobe: H.264, every reviewed frame.
  fs::path mp4;
  for (const auto& entry : fs::directory_iterator(extracted)) mp4 = entry.path();
  auto probe = testing::run_command({"/usr/bin/ffprobe", "-v", "error", "-count_frames",
                                     "-show_streams", "-of", "json", mp4.string()});
  REQUIRE(probe.exit_code == 0);
  const json streams = json::parse(probe.out)["streams"];
  REQUIRE(streams.size() == 1);
  CHECK(streams[0]["codec_name"] == "h264");
  CHECK(streams[0]["nb_read_frames"] == std::to_string(draft.value().frames));

  // Tampering: a changed footage file, and a manifest relabelled as a police export.
  const fs::path tampered = f.dir / "tampered";
  fs::copy(bundle, tampered);
  for (const auto& entry : fs::directory_iterator(tampered)) {
    if (entry.path().extension() == ".enc") {
      std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
      file.seekp(200);
      file.put('\x5a');
    }
  }
  auto broken = verify({tampered.string(), "--passphrase-file", passphrase_file.string()});
  CHECK(broken.exit_code == 1);
  CHECK(broken.out.find("RESULT: FAILED") != std::string::npos);
  const fs::path relabelled = f.dir / "relabelled";
  fs::copy(bundle, relabelled);
  {
    json manifest = json::parse(read_bytes(relabelled / "manifest.json"));
    manifest["format"] = "yardwatch-police-bundle";
    manifest.erase("kind");
    manifest.erase("request_reference");
    std::ofstream(relabelled / "manifest.json", std::ios::trunc) << manifest.dump(2) << "\n";
  }
  auto forged = verify({relabelled.string()});
  CHECK(forged.exit_code == 1);
  CHECK(forged.out.find("signature does not match") != std::string::npos);

  // No plaintext video anywhere on the appliance's disk or in its scratch space during the flow.
  CHECK(plain_video_files(f.dir / "data").empty());
  CHECK(plain_video_files(f.scratch.path()).empty());
  CHECK(plain_video_files(bundle).empty());
}

TEST_CASE("R7: release is refused for a request closed after preparing, and for restricted footage",
          "[subject_exports][R7]") {
  Fixture f;
  hal::DirectoryMedia media(f.stick, "stick");
  auto draft = f.services->subject_exports.prepare(f.director, f.spec(kAccess));
  REQUIRE(draft.ok());
  f.review(draft.value());
  REQUIRE(f.services->requests.close(f.director, kAccess, RequestOutcome::kWithdrawn).ok());
  auto closed =
      f.services->subject_exports.release(f.director, f.release_spec(draft.value().id, "b"), media);
  REQUIRE_FALSE(closed.ok());
  CHECK(closed.error().kind == ErrorKind::kFailedPrecondition);
  CHECK(closed.error().message.find("closed") != std::string::npos);
  CHECK_FALSE(fs::exists(f.stick / "b"));
  CHECK(f.count("SELECT COUNT(*) FROM subject_exports") == 0);
  const auto refused = f.audit_entries("subject_export");
  REQUIRE_FALSE(refused.empty());
  CHECK_FALSE(refused.back().event.allowed);
  CHECK(refused.back().event.purpose.find(kAccess) != std::string::npos);

  // Restricted footage: refused when preparing and when releasing.
  f.register_request("AVG-2026-9", RequestKind::kAccess);
  f.register_request("AVG-2026-10", RequestKind::kRestriction);
  auto second = f.services->subject_exports.prepare(f.director, f.spec("AVG-2026-9"));
  REQUIRE(second.ok());
  f.review(second.value());
  auto placed = f.services->subject_footage.restrict_range(
      f.director, "schoolplein", f.t0, f.t0 + 10 * kSecond, "AVG-2026-10", "beperking");
  INFO((placed.ok() ? "" : placed.error().message));
  REQUIRE(placed.ok());
  auto restricted = f.services->subject_exports.release(
      f.director, f.release_spec(second.value().id, "c"), media);
  REQUIRE_FALSE(restricted.ok());
  CHECK(restricted.error().kind == ErrorKind::kFailedPrecondition);
  CHECK(restricted.error().message.find("restricted") != std::string::npos);
  CHECK(f.services->subject_exports.prepare(f.director, f.spec("AVG-2026-9")).error().kind ==
        ErrorKind::kFailedPrecondition);
  CHECK_FALSE(fs::exists(f.stick / "c"));
}

// Every text of a table, to look for anything a detector could have produced.
std::string dump_database(recorder::Catalog& catalog) {
  std::lock_guard lock(catalog.mutex());
  auto& db = catalog.database();
  std::vector<std::string> tables;
  {
    auto query =
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").value();
    while (query.step().value()) tables.push_back(query.column_text(0));
  }
  std::string out;
  for (const auto& table : tables) {
    auto columns = db.prepare("SELECT COUNT(*) FROM pragma_table_info(?1)").value();
    columns.bind(1, table);
    REQUIRE(columns.step().value());
    const auto count = static_cast<int>(columns.column_int(0));
    auto query = db.prepare("SELECT * FROM \"" + table + "\"").value();
    while (query.step().value()) {
      out += table + ":";
      for (int i = 0; i < count; ++i) out += query.column_text(i) + "|";
      out += "\n";
    }
  }
  return out;
}

std::set<std::string> keys_of(const json& value, const std::string& prefix = "") {
  std::set<std::string> keys;
  if (value.is_object()) {
    for (const auto& [key, member] : value.items()) {
      keys.insert(prefix + key);
      for (const auto& inner : keys_of(member, prefix + key + ".")) keys.insert(inner);
    }
  } else if (value.is_array()) {
    for (const auto& member : value) {
      for (const auto& inner : keys_of(member, prefix + "[].")) keys.insert(inner);
    }
  }
  return keys;
}

TEST_CASE(
    "R11: a subject export keeps no detection results in the database, the manifest or on disk, "
    "and identifies nobody",
    "[subject_exports][R11]") {
  Fixture f;
  hal::DirectoryMedia media(f.stick, "stick");
  const auto tables_before = f.count("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'");
  auto spec = f.spec(kAccess);
  spec.blur_outside_selection = false;  // detections (the moving ball) decide what is blurred
  auto draft = f.services->subject_exports.prepare(f.director, spec);
  REQUIRE(draft.ok());
  f.review(draft.value());
  auto released = f.services->subject_exports.release(
      f.director, f.release_spec(draft.value().id, "r11"), media);
  REQUIRE(released.ok());

  // No new table; the subject export's row holds the request, camera, range, who and when only.
  CHECK(f.count("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'") == tables_before);
  const std::string db = dump_database(f.appliance->catalog());
  for (const char* word : {"box", "face", "detect", "bbox", "track", "cascade", "confidence",
                           "identified", "recogni"}) {
    INFO(word);
    CHECK(db.find(word) == std::string::npos);
  }
  // The audit entries of the flow carry only these fields: counts, the request, who and where.
  const std::set<std::string> allowed = {"request",           "blur_outside_selection",
                                         "selected",          "frames",
                                         "frames_shown",      "target",
                                         "reviewed_by",       "bytes",
                                         "mp4_sha256",        "manifest_sha256",
                                         "device_fingerprint"};
  for (const char* action :
       {"subject_export_prepare", "subject_export_review_view", "subject_export_review",
        "subject_export", "subject_export_complete"}) {
    for (const auto& entry : f.audit_entries(action)) {
      for (const auto& key : keys_of(json::parse(entry.event.details))) {
        INFO(action << ": " << key);
        CHECK(allowed.count(key) == 1);
      }
    }
  }
  // The manifest: exactly the police manifest's fields plus the subject export's kind and
  // reference — no field for boxes, tracks, faces or persons.
  const json manifest = json::parse(read_bytes(f.stick / "r11" / "manifest.json"));
  const std::set<std::string> top = {
      "format",    "format_version", "kind",           "request_reference",
      "export_id", "created",        "created_utc_us", "clock_at_export",
      "device",    "case",           "range",          "encryption",
      "cameras",   "files",          "support_files"};
  for (const auto& [key, value] : manifest.items()) {
    INFO(key);
    CHECK(top.count(key) == 1);
  }
  const std::string manifest_text = manifest.dump();
  for (const char* word : {"box", "face", "detect", "track", "person\"", "confidence"}) {
    INFO(word);
    CHECK(manifest_text.find(word) == std::string::npos);
  }
  // On disk: the data directory holds encrypted segments and the catalog only; the stick holds
  // exactly the bundle's files. No file of detections, no plaintext video.
  std::set<std::string> on_stick;
  for (const auto& entry : fs::directory_iterator(f.stick / "r11")) {
    on_stick.insert(entry.path().extension().string());
  }
  CHECK(on_stick == std::set<std::string>{".enc", ".json", ".sig", ".txt", ".html"});
  CHECK(plain_video_files(f.dir / "data").empty());
  CHECK(plain_video_files(f.scratch.path()).empty());
  CHECK(fs::is_empty(f.scratch.path()));
}

}  // namespace
}  // namespace yardwatch::firmware
