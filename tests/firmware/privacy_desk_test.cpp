// The privacy desk (issue #8) on a real appliance (catalog, keys, audit journal, encrypted
// segments): the breach register fed by the appliance's own alarms (R8), the DPIA reminder
// (R10) and the four-eyes policy switch.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../recorder/recorded_footage.h"
#include "test_support.h"
#include "vanishing_media.h"
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
constexpr int64_t kHour = 3600 * kSecond;
constexpr int64_t kDay = 24 * kHour;
const std::vector<uint8_t> kPage = {'<', 'h', 't', 'm', 'l', '>'};

struct Fixture {
  TempDir dir{"yw-privacy-desk"};
  std::unique_ptr<Appliance> appliance;
  std::unique_ptr<Services> services;
  fs::path stick;
  int64_t t0 = 0;
  int64_t yard_id = 0;

  Fixture() {
    appliance = Appliance::init({dir / "data", dir / "keys", "host-sim"}).value();
    services = std::make_unique<Services>(*appliance);
    services->exports.set_verify_page(kPage);
    REQUIRE(set_setting(appliance->catalog(), services->audit, Actor::console(),
                        "policy.require_totp", "0")
                .ok());
    stick = dir / "stick";
    fs::create_directories(stick);
    t0 = appliance->clock().now_utc_us() + kSecond;
    hal::SimulatedClock synced(t0 - kSecond, hal::SyncState::kSynchronised);
    REQUIRE(record_clock_state(appliance->catalog(), synced).value());
    recorder::test::FootageStore store(appliance->catalog(), appliance->storage(),
                                       appliance->keys());
    const auto stream =
        recorder::test::encode_stream(recorder::VideoCodec::kH264, 50, 25, 160, 120);
    const auto yard = store.add_camera("schoolplein");
    store.write_segment(yard, stream, 0, 50, t0);
    yard_id = appliance->catalog().camera_by_name("schoolplein").value().id;
  }

  static std::string password(const std::string& name) {
    return "blijvend-wachtwoord-" + std::to_string(name.size());
  }

  Principal sign_in(const std::string& name, Role role) {
    const std::string temporary = "tijdelijk-wachtwoord-" + std::to_string(name.size());
    if (!services->accounts.find(name).ok()) {
      std::vector<std::string> cameras;
      if (role == Role::kViewer) cameras = {"schoolplein"};
      auto added = services->accounts.add_account(Actor::console(), name, role, cameras, temporary);
      INFO((added.ok() ? "" : added.error().message));
      REQUIRE(added.ok());
      REQUIRE(services->accounts.change_password({name, temporary, "", "console"}, password(name))
                  .ok());
    }
    auto principal = services->accounts.authenticate({name, password(name), "", "console"});
    REQUIRE(principal.ok());
    return principal.value();
  }

  ExportRequest request(const std::string& directory) const {
    ExportRequest r;
    r.cameras = {"schoolplein"};
    r.from_utc_us = t0;
    r.to_utc_us = t0 + 2 * kSecond;
    r.case_reference = "PL0900-2026123456";
    r.legal_basis = "vordering 126nd Sv nr. 2026/4411";
    r.recipient = "Politie Amsterdam, brigadier J. de Vries";
    r.passphrase = "vier woorden als wachtwoordzin";
    r.media_id = "dir:" + stick.string();
    r.directory_name = directory;
    r.kdf_opslimit = 1;
    r.kdf_memlimit = format::kMinMemLimit;
    return r;
  }

  std::vector<Breach> register_of(const std::string& kind) {
    auto all = services->breaches.list(nullptr);
    REQUIRE(all.ok());
    std::vector<Breach> found;
    for (auto& entry : all.value()) {
      if (entry.kind == kind) found.push_back(entry);
    }
    return found;
  }

  std::vector<AuditEntry> audit_entries(const std::string& action) {
    AuditFilter filter;
    filter.action = action;
    return services->audit.list(filter).value();
  }
};

}  // namespace

TEST_CASE("R8: a sign-in lock-out registers a breach with its 72-hour deadline", "[breaches]") {
  Fixture f;
  f.sign_in("directeur", Role::kDirector);
  CHECK(f.register_of("login_lockout").empty());
  for (int i = 0; i < kThrottleFreeFailures + 1; ++i) {
    (void)f.services->accounts.authenticate({"directeur", "fout-wachtwoord", "", "203.0.113.9"});
  }
  auto entries = f.register_of("login_lockout");
  REQUIRE(entries.size() == 1);
  const Breach& breach = entries.front();
  CHECK(breach.source == "alarm");
  CHECK(breach.deadline_utc_us == breach.detected_utc_us + 72 * kHour);
  CHECK(breach.personal_data == "no");
  CHECK(breach.encrypted_inaccessible == "not_applicable");
  CHECK(breach.description.find("203.0.113.9") != std::string::npos);
  CHECK_FALSE(breach.decision.has_value());
  // The appliance puts its own registration on record.
  CHECK(f.services->breaches.audit_new_entries().value() >= 1);
  CHECK_FALSE(f.audit_entries("breach_registered").empty());
  CHECK(f.services->breaches.audit_new_entries().value() == 0);
}

TEST_CASE("R8: a broken audit chain registers a breach when it is verified", "[breaches]") {
  Fixture f;
  f.sign_in("directeur", Role::kDirector);
  REQUIRE(f.services->audit.verify().value().ok);
  CHECK(f.register_of("audit_tamper").empty());
  {
    // Someone with the database in hand drops the guard and rewrites history.
    std::lock_guard lock(f.appliance->catalog().mutex());
    auto& db = f.appliance->catalog().database();
    REQUIRE(db.exec("DROP TRIGGER audit_no_update").ok());
    REQUIRE(db.exec("UPDATE audit SET reason = 'nothing happened' WHERE seq = 2").ok());
  }
  auto verification = f.services->audit.verify();
  REQUIRE(verification.ok());
  CHECK_FALSE(verification->ok);
  auto entries = f.register_of("audit_tamper");
  REQUIRE(entries.size() == 1);
  CHECK(entries.front().personal_data == "yes");
  CHECK(entries.front().encrypted_inaccessible == "no");
  // A second verification is the same open incident, not a new entry.
  (void)f.services->audit.verify();
  CHECK(f.register_of("audit_tamper").size() == 1);
}

TEST_CASE("R8: a police export that cannot be written registers a breach", "[breaches]") {
  Fixture f;
  const Principal director = f.sign_in("directeur", Role::kDirector);
  REQUIRE(f.register_of("export_failed").empty());
  // The stick is a file, not a directory: the bundle's directory cannot be made on it.
  fs::remove_all(f.stick);
  hal::DirectoryMedia media(f.stick, "stick");
  { std::ofstream(f.stick) << "not a directory"; }
  auto outcome = f.services->exports.create_export(director, f.request("bundle"), media);
  REQUIRE_FALSE(outcome.ok());
  // The export had started (it is recorded, its footage held): its failure is an incident.
  REQUIRE(f.audit_entries("police_export_failed").size() == 1);
  auto entries = f.register_of("export_failed");
  REQUIRE(entries.size() == 1);
  const Breach& breach = entries.front();
  CHECK(breach.source == "alarm");
  CHECK(breach.description.find("PL0900-2026123456") != std::string::npos);
  CHECK(breach.personal_data == "yes");
  CHECK(breach.encrypted_inaccessible == "partly");
  CHECK(breach.deadline_utc_us == breach.detected_utc_us + 72 * kHour);
  CHECK_FALSE(breach.decision.has_value());

  // A bundle directory that vanishes half-way through the write (a stick's mount going away) is
  // a second, separate incident.
  fs::remove(f.stick);
  fs::create_directories(f.stick);
  test::VanishingMedia vanishing(f.stick, 2000);
  ExportRequest second = f.request("bundle-2");
  second.media_id = vanishing.id();
  auto half = f.services->exports.create_export(director, second, vanishing);
  REQUIRE_FALSE(half.ok());
  CHECK(half.error().message.find("removed") != std::string::npos);
  CHECK(f.audit_entries("police_export_failed").size() == 2);
  entries = f.register_of("export_failed");
  REQUIRE(entries.size() == 2);
  CHECK(entries.front().description.find("removed") != std::string::npos);
  CHECK(entries.front().id != entries.back().id);

  // A complete export registers nothing.
  hal::DirectoryMedia good(f.stick, "stick");
  REQUIRE(f.services->exports.create_export(director, f.request("bundle-3"), good).ok());
  CHECK(f.register_of("export_failed").size() == 2);
}

TEST_CASE("R8: a removed or swapped data volume registers a breach for each outage episode",
          "[breaches]") {
  // yardwatchd's record_outage raises and clears one alarm per episode once the volume is back
  // (the loop-device fault test in tests/integration/appliance_test.cpp drives the real thing).
  Fixture f;
  auto& catalog = f.appliance->catalog();
  const int64_t start = f.appliance->clock().now_utc_us() - kHour;
  REQUIRE(catalog.raise_alarm("storage_missing", std::nullopt, "nothing is mounted at /srv", start)
              .ok());
  REQUIRE(catalog.clear_alarm("storage_missing", std::nullopt, start + kSecond).ok());
  REQUIRE(catalog
              .raise_alarm("storage_wrong_volume", std::nullopt,
                           "UUID 2222 is not the data volume 1111", start + kSecond)
              .ok());
  REQUIRE(catalog.clear_alarm("storage_wrong_volume", std::nullopt, start + 2 * kSecond).ok());
  auto missing = f.register_of("storage_missing");
  auto swapped = f.register_of("storage_wrong_volume");
  REQUIRE(missing.size() == 1);
  REQUIRE(swapped.size() == 1);
  CHECK(swapped.front().detected_utc_us == start + kSecond);
  CHECK(swapped.front().deadline_utc_us == start + kSecond + 72 * kHour);
  CHECK(swapped.front().personal_data == "yes");
  CHECK(swapped.front().encrypted_inaccessible == "partly");
  CHECK(swapped.front().description.find("2222") != std::string::npos);
  // Alarms that are not incidents (a full disk) do not enter the register.
  REQUIRE(catalog.raise_alarm("disk_full", std::nullopt, "full", start).ok());
  CHECK(f.register_of("disk_full").empty());
}

TEST_CASE("R8: directors register and decide, privacy officers only read the register",
          "[breaches]") {
  Fixture f;
  const Principal director = f.sign_in("directeur", Role::kDirector);
  const Principal officer = f.sign_in("functionaris", Role::kPrivacyOfficer);
  const Principal admin = f.sign_in("beheerder", Role::kAdmin);
  const int64_t now = f.appliance->clock().now_utc_us();
  ManualBreach lost;
  lost.detected_utc_us = now - kHour;
  lost.description = "Een USB-stick met een politie-export is kwijtgeraakt op weg naar het bureau.";
  lost.personal_data = "yes";
  lost.encrypted_inaccessible = "yes";
  CHECK(f.services->breaches.register_manual(officer, lost).error().kind ==
        ErrorKind::kPermissionDenied);
  ManualBreach future = lost;
  future.detected_utc_us = now + kDay;
  CHECK(f.services->breaches.register_manual(director, future).error().kind ==
        ErrorKind::kInvalidArgument);
  auto entry = f.services->breaches.register_manual(director, lost);
  REQUIRE(entry.ok());
  CHECK(entry->deadline_utc_us == lost.detected_utc_us + 72 * kHour);
  CHECK(entry->registered_by == "directeur");

  BreachDecision decision{"not_report",
                          "De beelden zijn versleuteld met een wachtwoordzin die niet op de "
                          "stick staat: versleuteld en ontoegankelijk.",
                          std::nullopt, ""};
  CHECK(f.services->breaches.decide(officer, entry->id, decision).error().kind ==
        ErrorKind::kPermissionDenied);
  CHECK(f.services->breaches
            .decide(director, entry->id, {"maybe", "geen idee waarom ook", std::nullopt, ""})
            .error()
            .kind == ErrorKind::kInvalidArgument);
  auto decided = f.services->breaches.decide(director, entry->id, decision);
  REQUIRE(decided.ok());
  CHECK(decided->decision == "not_report");
  CHECK(decided->decided_by == "directeur");
  CHECK(decided->reasoning == decision.reasoning);

  auto read = f.services->breaches.list(&officer);
  REQUIRE(read.ok());
  CHECK(read->size() == 1);
  CHECK(f.services->breaches.list(&admin).error().kind == ErrorKind::kPermissionDenied);
  const auto decisions = f.audit_entries("breach_decide");
  REQUIRE_FALSE(decisions.empty());
  CHECK(decisions.back().actor.name == "directeur");
  CHECK(json::parse(decisions.back().event.details)["decision"] == "not_report");
  // The register keeps every entry.
  std::lock_guard lock(f.appliance->catalog().mutex());
  CHECK_FALSE(f.appliance->catalog().database().exec("DELETE FROM breaches").ok());
}

TEST_CASE("R10: the DPIA reminder at fixed dates", "[dpia]") {
  const auto date = parse_civil_date("2024-03-15");
  REQUIRE(date);
  auto at = [&](const char* day) {
    return dpia_status_at(date, civil_date_utc_us(*parse_civil_date(day)) + 12 * kHour);
  };
  CHECK(at("2026-11-30").state == DpiaState::kCurrent);
  CHECK(at("2027-02-12").state == DpiaState::kCurrent);  // 31 days before
  CHECK(at("2027-02-14").state == DpiaState::kDueSoon);  // 29 days before
  CHECK(at("2027-02-14").days_left == 28);
  CHECK(at("2027-03-14").state == DpiaState::kDueSoon);
  CHECK(at("2027-03-15").state == DpiaState::kOverdue);
  CHECK(at("2027-03-15").due_date == "2027-03-15");
  CHECK(dpia_status_at(std::nullopt, 0).state == DpiaState::kUnknown);
  CHECK(dpia_status_at(parse_civil_date("2024-02-29"), 0).due_date == "2027-03-01");
  CHECK_FALSE(parse_civil_date("2024-02-30"));
  CHECK_FALSE(parse_civil_date("24-2-3"));
}

TEST_CASE("R10: the DPIA warning is audited once per date and state, and the date is a setting",
          "[dpia]") {
  Fixture f;
  const Principal director = f.sign_in("directeur", Role::kDirector);
  const Principal officer = f.sign_in("functionaris", Role::kPrivacyOfficer);
  hal::SimulatedClock clock(civil_date_utc_us(*parse_civil_date("2026-06-01")));
  DpiaService dpia(f.appliance->catalog(), clock, f.services->audit);
  // No date recorded: the appliance cannot show a DPIA was ever done.
  CHECK(dpia.status()->state == DpiaState::kUnknown);
  CHECK(dpia.audit_warning().value());
  CHECK_FALSE(dpia.audit_warning().value());
  CHECK(dpia.set_date(officer, "2024-03-15").error().kind == ErrorKind::kPermissionDenied);
  CHECK(dpia.set_date(director, "2027-01-01").error().kind == ErrorKind::kInvalidArgument);
  REQUIRE(dpia.set_date(director, "2024-03-15").ok());
  CHECK(dpia.status()->state == DpiaState::kCurrent);
  CHECK_FALSE(dpia.audit_warning().value());
  clock.advance_us(civil_date_utc_us(*parse_civil_date("2027-02-20")) - clock.now_utc_us());
  CHECK(dpia.status()->state == DpiaState::kDueSoon);
  CHECK(dpia.audit_warning().value());
  clock.advance_us(kDay);
  CHECK_FALSE(dpia.audit_warning().value());
  clock.advance_us(civil_date_utc_us(*parse_civil_date("2027-03-16")) - clock.now_utc_us());
  CHECK(dpia.audit_warning().value());  // now overdue: a new warning
  const auto warnings = f.audit_entries("dpia_review_due");
  REQUIRE(warnings.size() == 3);
  CHECK(json::parse(warnings.back().event.details)["state"] == "overdue");
  const auto changes = f.audit_entries("setting_change");
  bool dpia_change = false;
  for (const auto& entry : changes) {
    dpia_change = dpia_change || (entry.event.object_id == kDpiaDateSetting &&
                                  entry.event.allowed && entry.actor.name == "directeur");
  }
  CHECK(dpia_change);
}

TEST_CASE("four-eyes: with the switch on one person alone cannot open footage, two can",
          "[four_eyes]") {
  Fixture f;
  const Principal director = f.sign_in("directeur", Role::kDirector);
  const Principal viewer = f.sign_in("concierge", Role::kViewer);
  const Principal admin = f.sign_in("beheerder", Role::kAdmin);
  REQUIRE(set_setting(f.appliance->catalog(), f.services->audit, Actor::console(), kFourEyesSetting,
                      "1")
              .ok());
  const int64_t from = f.t0;
  const int64_t to = f.t0 + 2 * kSecond;
  auto alone = f.services->viewing.open_recorded(director, f.yard_id, from, to, "incident");
  REQUIRE_FALSE(alone.ok());
  CHECK(alone.error().kind == ErrorKind::kPermissionDenied);

  AuditEvent attempt;
  attempt.action = "viewing_open";
  // Not the same person, not someone who may not see footage, not a wrong password.
  CHECK_FALSE(f.services->four_eyes
                  .approve(director, {"directeur", Fixture::password("directeur"), "", ""},
                           {f.yard_id}, attempt)
                  .ok());
  CHECK_FALSE(f.services->four_eyes
                  .approve(director, {"beheerder", Fixture::password("beheerder"), "", ""},
                           {f.yard_id}, attempt)
                  .ok());
  CHECK_FALSE(
      f.services->four_eyes
          .approve(director, {"concierge", "fout-wachtwoord-1", "", ""}, {f.yard_id}, attempt)
          .ok());
  auto approval = f.services->four_eyes.approve(
      director, {"concierge", Fixture::password("concierge"), "", ""}, {f.yard_id}, attempt);
  REQUIRE(approval.ok());
  auto viewing =
      f.services->viewing.open_recorded(director, f.yard_id, from, to, "incident", &*approval);
  INFO((viewing.ok() ? "" : viewing.error().message));
  REQUIRE(viewing.ok());
  REQUIRE_FALSE(viewing->segments.empty());
  auto segment =
      f.services->viewing.read_segment(director, viewing->id, viewing->segments.front().id);
  INFO((segment.ok() ? "" : segment.error().message));
  REQUIRE(segment.ok());
  const auto views = f.audit_entries("view_recorded");
  REQUIRE_FALSE(views.empty());
  CHECK(views.back().actor.name == "directeur");
  CHECK(json::parse(views.back().event.details)["four_eyes"]["approved_by"] == "concierge");
  (void)viewer;
  (void)admin;
}

TEST_CASE("four-eyes: with the switch on a police export needs a second director or viewer",
          "[four_eyes]") {
  Fixture f;
  const Principal director = f.sign_in("directeur", Role::kDirector);
  f.sign_in("adjunct", Role::kDirector);
  REQUIRE(set_setting(f.appliance->catalog(), f.services->audit, Actor::console(), kFourEyesSetting,
                      "1")
              .ok());
  hal::DirectoryMedia media(f.stick, "stick");
  auto alone = f.services->exports.create_export(director, f.request("alone"), media);
  REQUIRE_FALSE(alone.ok());
  CHECK(alone.error().kind == ErrorKind::kPermissionDenied);
  CHECK_FALSE(fs::exists(f.stick / "alone"));

  AuditEvent attempt;
  attempt.action = "police_export";
  auto approval = f.services->four_eyes.approve(
      director, {"adjunct", Fixture::password("adjunct"), "", ""}, {f.yard_id}, attempt);
  REQUIRE(approval.ok());
  ExportRequest request = f.request("together");
  request.second_approval = &*approval;
  auto together = f.services->exports.create_export(director, request, media);
  INFO((together.ok() ? "" : together.error().message));
  REQUIRE(together.ok());
  CHECK(fs::exists(f.stick / "together" / "manifest.json"));
  bool both_named = false;
  const std::vector<AuditEntry> journal = f.services->audit.list({}).value();
  for (const auto& entry : journal) {
    if (!entry.event.allowed || entry.actor.name != "directeur") continue;
    auto details =
        json::parse(entry.event.details.empty() ? "{}" : entry.event.details, nullptr, false);
    if (details.is_object() && details.contains("four_eyes") &&
        entry.event.action.find("export") != std::string::npos) {
      both_named = details["four_eyes"]["approved_by"] == "adjunct";
    }
  }
  CHECK(both_named);
}

}  // namespace yardwatch::firmware
