// The export service (R5) on a real appliance (catalog, keys, audit journal) with real encrypted
// segments: who may export, what an export needs, what it records, and how it fails.

#include "yardwatch/firmware/exports.h"

#include <sodium.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../recorder/recorded_footage.h"
#include "test_support.h"
#include "vanishing_media.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/clock_log.h"
#include "yardwatch/firmware/export_receipt.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/firmware/settings.h"

namespace yardwatch::firmware {
namespace {

namespace fs = std::filesystem;
namespace format = recorder::bundle_format;
using nlohmann::json;
using test::VanishingMedia;
using testing::TempDir;

constexpr int64_t kSecond = 1'000'000;
const std::vector<uint8_t> kPage = {'<', 'h', 't', 'm', 'l', '>'};
const std::string kPassphrase = "vier woorden als wachtwoordzin";

struct Fixture {
  TempDir dir{"yw-exports"};
  std::unique_ptr<Appliance> appliance;
  std::unique_ptr<Services> services;
  fs::path stick;
  int64_t t0 = 0;

  Fixture() {
    appliance = Appliance::init({dir / "data", dir / "keys", "host-sim"}).value();
    services = std::make_unique<Services>(*appliance);
    services->exports.set_verify_page(kPage);
    REQUIRE(set_setting(appliance->catalog(), services->audit, Actor::console(),
                        "policy.require_totp", "0")
                .ok());
    REQUIRE(set_setting(appliance->catalog(), services->audit, Actor::console(), "device.name",
                        "OBS De Regenboog")
                .ok());
    stick = dir / "stick";
    fs::create_directories(stick);
    // Two cameras, the second with a gap, recorded while the clock was synchronised (as
    // yardwatchd would have logged it; this machine's own clock state does not matter).
    t0 = appliance->clock().now_utc_us() + kSecond;
    hal::SimulatedClock synced(t0 - kSecond, hal::SyncState::kSynchronised);
    REQUIRE(record_clock_state(appliance->catalog(), synced).value());
    REQUIRE_FALSE(record_clock_state(appliance->catalog(), synced).value());  // no change
    recorder::test::FootageStore store(appliance->catalog(), appliance->storage(),
                                       appliance->keys());
    const auto stream =
        recorder::test::encode_stream(recorder::VideoCodec::kH264, 100, 25, 160, 120);
    const auto yard = store.add_camera("schoolplein");
    const auto gate = store.add_camera("poort");
    store.write_segment(yard, stream, 0, 100, t0);
    store.write_segment(gate, stream, 0, 50, t0);
    store.write_segment(gate, stream, 50, 100, t0 + 5 * kSecond);
  }

  Principal sign_in(const std::string& name, Role role) {
    // Passwords may not contain the account name.
    const std::string temporary = "tijdelijk-wachtwoord-" + std::to_string(name.size());
    const std::string password = "blijvend-wachtwoord-" + std::to_string(name.size());
    if (!services->accounts.find(name).ok()) {
      std::vector<std::string> cameras;
      if (role == Role::kViewer) cameras = {"schoolplein", "poort"};
      auto added = services->accounts.add_account(Actor::console(), name, role, cameras, temporary);
      INFO((added.ok() ? "" : added.error().message));
      REQUIRE(added.ok());
      auto changed = services->accounts.change_password({name, temporary, "", "console"}, password);
      INFO((changed.ok() ? "" : changed.error().message));
      REQUIRE(changed.ok());
    }
    auto principal = services->accounts.authenticate({name, password, "", "console"});
    REQUIRE(principal.ok());
    return principal.value();
  }

  ExportRequest request(const std::string& directory) const {
    ExportRequest r;
    r.cameras = {"schoolplein", "poort"};
    r.from_utc_us = t0;
    r.to_utc_us = t0 + 7 * kSecond;
    r.case_reference = "PL0900-2026123456";
    r.legal_basis = "vordering 126nd Sv nr. 2026/4411";
    r.recipient = "Politie Amsterdam, brigadier J. de Vries";
    r.passphrase = kPassphrase;
    r.media_id = "dir:" + stick.string();
    r.directory_name = directory;
    r.kdf_opslimit = 1;
    r.kdf_memlimit = format::kMinMemLimit;
    return r;
  }

  std::vector<AuditEntry> audit_entries(const std::string& action) {
    AuditFilter filter;
    filter.action = action;
    return services->audit.list(filter).value();
  }
};

TEST_CASE("R5: a viewer, an admin and a privacy officer cannot export, and each refusal is audited",
          "[exports]") {
  Fixture f;
  hal::DirectoryMedia media(f.stick, "stick");
  for (auto [name, role] :
       {std::pair{"kijker", Role::kViewer}, std::pair{"beheerder", Role::kAdmin},
        std::pair{"fg", Role::kPrivacyOfficer}}) {
    const Principal who = f.sign_in(name, role);
    auto result =
        f.services->exports.create_export(who, f.request(std::string("b-") + name), media);
    INFO(name);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == ErrorKind::kPermissionDenied);
    CHECK_FALSE(fs::exists(f.stick / (std::string("b-") + name)));
  }
  const auto denied = f.audit_entries("police_export");
  REQUIRE(denied.size() == 3);
  for (const auto& entry : denied) {
    CHECK_FALSE(entry.event.allowed);
    CHECK(entry.event.purpose == "vordering 126nd Sv nr. 2026/4411");
  }
  CHECK(f.services->exports.list().value().empty());
}

TEST_CASE(
    "R5: a director cannot export without a case, a legal basis, a recipient or a strong "
    "passphrase, and each refusal is audited and leaves nothing on the medium",
    "[exports]") {
  Fixture f;
  hal::DirectoryMedia media(f.stick, "stick");
  const Principal director = f.sign_in("directeur", Role::kDirector);
  struct Case {
    std::string what;
    std::function<void(ExportRequest&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"no case", [](ExportRequest& r) { r.case_reference.clear(); }, "case reference"},
      {"no legal basis", [](ExportRequest& r) { r.legal_basis.clear(); }, "legal basis"},
      {"a legal basis of one word", [](ExportRequest& r) { r.legal_basis = "ja"; }, "legal basis"},
      {"no recipient", [](ExportRequest& r) { r.recipient.clear(); }, "recipient"},
      {"a short passphrase", [](ExportRequest& r) { r.passphrase = "geheim"; }, "passphrase"},
      {"a line break in the case", [](ExportRequest& r) { r.case_reference = "PL\n0900"; },
       "control characters"},
      {"an unknown camera", [](ExportRequest& r) { r.cameras = {"klaslokaal"}; }, "klaslokaal"},
  };
  for (const auto& c : cases) {
    ExportRequest r = f.request("bundle");
    c.change(r);
    auto result = f.services->exports.create_export(director, r, media);
    INFO(c.what);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().message.find(c.message) != std::string::npos);
    CHECK_FALSE(fs::exists(f.stick / "bundle"));
  }
  const auto refused = f.audit_entries("police_export");
  REQUIRE(refused.size() == cases.size());
  for (const auto& entry : refused) {
    CHECK_FALSE(entry.event.allowed);
    CHECK_FALSE(entry.event.reason.empty());
    CHECK(entry.actor.name == "directeur");
  }
}

TEST_CASE("R5: a director's export is complete, recorded and audited with its manifest hash",
          "[exports]") {
  Fixture f;
  hal::DirectoryMedia media(f.stick, "stick");
  const Principal director = f.sign_in("directeur", Role::kDirector);
  auto outcome = f.services->exports.create_export(director, f.request("bundle"), media);
  INFO((outcome.ok() ? "" : outcome.error().message));
  REQUIRE(outcome.ok());
  const fs::path bundle = f.stick / "bundle";
  REQUIRE(fs::exists(bundle / "manifest.sig"));
  const auto& m = outcome.value().manifest;
  CHECK(m.device_name == "OBS De Regenboog");
  CHECK(m.approved_by.name == "directeur");
  CHECK(m.approved_by.role == "director");
  CHECK(m.requested_by.name == "Politie Amsterdam, brigadier J. de Vries");
  CHECK(m.files.size() == 3);
  for (const auto& file : m.files) CHECK(file.time_source == "synchronised");
  REQUIRE(m.cameras.size() == 2);
  CHECK(m.cameras[1].gaps.size() == 1);

  // The record keeps the exact manifest; its hash is the one of the file on the medium.
  const ExportRecord& record = outcome.value().record;
  CHECK(record.state == "complete");
  std::ifstream in(bundle / "manifest.json", std::ios::binary);
  const std::string on_medium((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
  CHECK(record.manifest == on_medium);
  std::array<uint8_t, 32> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const uint8_t*>(on_medium.data()),
                     on_medium.size());
  CHECK(record.manifest_sha256 == format::to_hex(digest));

  // Audited: who, what, why, to whom, the bundle id and its manifest hash.
  const auto started = f.audit_entries("police_export");
  REQUIRE(started.size() == 1);
  CHECK(started[0].event.allowed);
  CHECK(started[0].actor.name == "directeur");
  CHECK(started[0].event.object_id == m.export_id);
  CHECK(started[0].event.purpose == "vordering 126nd Sv nr. 2026/4411");
  CHECK(started[0].event.camera == "schoolplein,poort");
  CHECK(started[0].event.range_from_utc_us == f.t0);
  const json started_details = json::parse(started[0].event.details);
  CHECK(started_details["case"] == "PL0900-2026123456");
  CHECK(started_details["recipient"] == "Politie Amsterdam, brigadier J. de Vries");
  const auto completed = f.audit_entries("police_export_complete");
  REQUIRE(completed.size() == 1);
  const json details = json::parse(completed[0].event.details);
  CHECK(details["manifest_sha256"] == record.manifest_sha256);
  CHECK(details["files"].size() == 3);
  CHECK(completed[0].event.object_id == m.export_id);

  // The receipt can be printed again, by a director, audited.
  auto again = f.services->exports.receipt(director, m.export_id);
  REQUIRE(again.ok());
  CHECK(again.value().manifest == on_medium);
  const Principal viewer = f.sign_in("kijker", Role::kViewer);
  CHECK(f.services->exports.receipt(viewer, m.export_id).error().kind ==
        ErrorKind::kPermissionDenied);
  CHECK(f.audit_entries("police_export_receipt").size() == 2);
}

TEST_CASE("R5: the handover receipt as PDF carries the export id, case, files and fingerprint",
          "[exports]") {
  Fixture f;
  hal::DirectoryMedia media(f.stick, "stick");
  const Principal director = f.sign_in("directeur", Role::kDirector);
  auto outcome = f.services->exports.create_export(director, f.request("bundle"), media);
  REQUIRE(outcome.ok());
  const auto& m = outcome.value().manifest;
  const fs::path pdf = f.dir / "receipt.pdf";
  REQUIRE(write_receipt(pdf, m, outcome.value().record.manifest_sha256).ok());
  auto text = testing::run_command({"/usr/bin/pdftotext", "-layout", pdf.string(), "-"});
  INFO(text.err);
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find(m.export_id) != std::string::npos);
  CHECK(text.out.find("PL0900-2026123456") != std::string::npos);
  CHECK(text.out.find(m.device_fingerprint) != std::string::npos);
  CHECK(text.out.find(outcome.value().record.manifest_sha256) != std::string::npos);
  for (const auto& file : m.files) {
    CHECK(text.out.find(file.name) != std::string::npos);
    CHECK(text.out.find(file.mp4_sha256) != std::string::npos);
  }
  CHECK(text.out.find("received by") != std::string::npos);
  const fs::path html = f.dir / "receipt.html";
  REQUIRE(write_receipt(html, m, outcome.value().record.manifest_sha256).ok());
  std::ifstream in(html);
  const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(page.find(m.device_fingerprint) != std::string::npos);
  CHECK_FALSE(write_receipt(f.dir / "receipt.txt", m, "").ok());
}

TEST_CASE(
    "R5: a bundle directory removed during the write gives a clear error, no complete-looking "
    "bundle, and an audit entry",
    "[exports]") {
  Fixture f;
  VanishingMedia media(f.stick, 2000);
  const Principal director = f.sign_in("directeur", Role::kDirector);
  ExportRequest r = f.request("bundle");
  r.media_id = media.id();
  auto result = f.services->exports.create_export(director, r, media);
  REQUIRE_FALSE(result.ok());
  INFO(result.error().message);
  CHECK(result.error().kind == ErrorKind::kUnavailable);
  CHECK(result.error().message.find("removed") != std::string::npos);
  CHECK_FALSE(fs::exists(f.stick / "bundle" / "manifest.sig"));
  const auto records = f.services->exports.list().value();
  REQUIRE(records.size() == 1);
  CHECK(records[0].state == "failed");
  const auto failed = f.audit_entries("police_export_failed");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].event.reason.find("removed") != std::string::npos);
}

TEST_CASE("R5: footage recorded while the clock was unsynchronised says so in the manifest",
          "[exports]") {
  Fixture f;
  // yardwatchd logged that the clock lost synchronisation 3 s into the footage.
  hal::SimulatedClock lost(f.t0 + 3 * kSecond, hal::SyncState::kUnsynchronised);
  REQUIRE(record_clock_state(f.appliance->catalog(), lost).value());
  hal::DirectoryMedia media(f.stick, "stick");
  const Principal director = f.sign_in("directeur", Role::kDirector);
  auto outcome = f.services->exports.create_export(director, f.request("bundle"), media);
  REQUIRE(outcome.ok());
  const auto& files = outcome.value().manifest.files;
  REQUIRE(files.size() == 3);
  CHECK(files[0].time_source == "unsynchronised");  // 0–4 s spans the change at 3 s
  CHECK(files[1].time_source == "synchronised");    // 0–2 s
  CHECK(files[2].time_source == "unsynchronised");  // 5–7 s
  CHECK(clock_state_during(f.appliance->catalog(), f.t0 - 3600 * kSecond * 24 * 365,
                           f.t0 - 3600 * kSecond * 24 * 364)
            .value() == "unknown");
}

}  // namespace
}  // namespace yardwatch::firmware
