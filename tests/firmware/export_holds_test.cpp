// A police export and retention (issues #4 and #5): restricted footage is never exported (R7),
// and what is exported is held in the same transaction, so it cannot age out while the case
// runs (R2) — on a real appliance with real H.264 segments.

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "../recorder/recorded_footage.h"
#include "test_support.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/firmware/settings.h"
#include "yardwatch/hal/removable_media.h"

namespace yardwatch::firmware {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::TempDir;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kDay = 24 * 3600 * kSecond;

}  // namespace

TEST_CASE("R5 R7: an export refuses restricted footage, and holds what it exports until released",
          "[exports][holds][R5][R7][R2]") {
  TempDir dir{"yw-export-holds"};
  auto appliance = Appliance::init({dir / "data", dir / "keys", "host-sim"});
  REQUIRE(appliance.ok());
  auto& a = *appliance.value();
  Services services(a);
  const std::vector<uint8_t> page = {'<', 'h', 't', 'm', 'l', '>'};
  services.exports.set_verify_page(page);
  REQUIRE(
      set_setting(a.catalog(), services.audit, Actor::console(), "policy.require_totp", "0").ok());
  REQUIRE(
      services.accounts
          .add_account(Actor::console(), "directeur", Role::kDirector, {}, "tijdelijk-wachtwoord-1")
          .ok());
  REQUIRE(services.accounts
              .change_password({"directeur", "tijdelijk-wachtwoord-1", "", "console"},
                               "blijvend-wachtwoord-1")
              .ok());
  auto director =
      services.accounts.authenticate({"directeur", "blijvend-wachtwoord-1", "", "console"});
  REQUIRE(director.ok());

  // Footage from 40 days ago: past its retention, so only a hold keeps it.
  const int64_t now = a.clock().now_utc_us();
  const int64_t t0 = now - 40 * kDay;
  recorder::test::FootageStore store(a.catalog(), a.storage(), a.keys());
  const auto stream = recorder::test::encode_stream(recorder::VideoCodec::kH264, 50, 25, 160, 120);
  const auto camera = store.add_camera("schoolplein");
  const auto row = store.write_segment(camera, stream, 0, 50, t0);

  const fs::path stick = dir / "stick";
  fs::create_directories(stick);
  hal::DirectoryMedia media(stick, "stick");
  auto request = [&](const std::string& directory) {
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
    r.kdf_memlimit = recorder::bundle_format::kMinMemLimit;
    return r;
  };

  // Restricted on a data subject's request: the export is refused, audited, and holds nothing.
  for (const char* reference : {"AVG-2026-9", "AVG-2026-9-decision"}) {
    NewSubjectRequest subject_request;
    subject_request.reference = reference;
    subject_request.kind = RequestKind::kRestriction;
    subject_request.requester_name = "a parent";
    subject_request.received_utc_us = now;
    REQUIRE(services.requests.add(director.value(), subject_request).ok());
  }
  auto restriction = services.subject_footage.restrict_range(
      director.value(), "schoolplein", t0 + kSecond, t0 + 3 * kSecond, "AVG-2026-9");
  REQUIRE(restriction.ok());
  auto refused = services.exports.create_export(director.value(), request("refused"), media);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kFailedPrecondition);
  CHECK(refused.error().message.find("restricted") != std::string::npos);
  CHECK(refused.error().message.find("AVG-2026-9") != std::string::npos);
  CHECK_FALSE(fs::exists(stick / "refused"));
  CHECK(services.holds.list(director.value()).value().empty());
  AuditFilter exports_only;
  exports_only.action = "police_export";
  auto entries = services.audit.list(exports_only).value();
  REQUIRE(entries.size() == 1);
  CHECK_FALSE(entries[0].event.allowed);
  CHECK(entries[0].event.reason.find("restricted") != std::string::npos);

  // Lifted: the export goes ahead and its range is held by the director, under the case.
  REQUIRE(
      services.subject_footage.lift(director.value(), restriction.value().id, "AVG-2026-9-decision")
          .ok());
  auto exported = services.exports.create_export(director.value(), request("bundle"), media);
  INFO((exported.ok() ? "" : exported.error().message));
  REQUIRE(exported.ok());
  auto holds = services.holds.list(director.value());
  REQUIRE(holds.value().size() == 1);
  const Hold& hold = holds.value()[0];
  CHECK(hold.state == HoldState::kActive);
  CHECK(hold.reason == "police export");
  CHECK(hold.case_reference == "PL0900-2026123456");
  CHECK(hold.cameras == std::vector<std::string>{"schoolplein"});
  CHECK(hold.from_utc_us == t0);
  CHECK(hold.to_utc_us == t0 + 2 * kSecond);
  CHECK(hold.review_by_utc_us > now + 150 * kDay);
  entries = services.audit.list(exports_only).value();
  REQUIRE(entries.size() == 2);
  CHECK(json::parse(entries[1].event.details)["hold"] == hold.id);
  AuditFilter holds_only;
  holds_only.action = "hold_place";
  CHECK(services.audit.list(holds_only).value().size() == 1);

  // The sweep keeps the exported footage until the director releases the hold.
  hal::SimulatedClock synchronised(now);
  HoldService hold_service(a.catalog(), synchronised, services.audit);
  RetentionService retention(a.catalog(), a.storage(), synchronised, services.audit, hold_service);
  auto sweep = retention.sweep();
  REQUIRE(sweep.ok());
  CHECK_FALSE(sweep.value().refused);
  CHECK(a.catalog().segment(row.id).value().has_value());
  REQUIRE(hold_service.release(director.value(), hold.id, "case closed").ok());
  REQUIRE(retention.sweep().ok());
  CHECK_FALSE(a.catalog().segment(row.id).value().has_value());
  CHECK(services.audit.verify().value().ok);
}

}  // namespace yardwatch::firmware
