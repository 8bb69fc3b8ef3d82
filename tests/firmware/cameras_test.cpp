#include "yardwatch/firmware/cameras.h"

#include <catch2/catch.hpp>

#include "test_support.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/firmware/settings.h"

using namespace yardwatch;
using namespace yardwatch::firmware;

namespace {
recorder::CameraSpec good_camera() {
  recorder::CameraSpec spec;
  spec.name = "yard-north";
  spec.url = "rtsp://10.0.0.5/stream1";
  spec.zone = "schoolyard";
  return spec;
}
}  // namespace

TEST_CASE("R1: cameras in classrooms, toilets, changing or consultation rooms are refused",
          "[firmware][R1]") {
  for (const char* zone : {"classroom", "toilet", "changing_room", "consultation_room"}) {
    INFO(zone);
    auto spec = good_camera();
    spec.zone = zone;
    auto result = validate_camera(spec);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == ErrorKind::kPermissionDenied);
    CHECK(result.error().message.find("R1") != std::string::npos);
  }
  for (auto zone : permitted_zones()) {
    auto spec = good_camera();
    spec.zone = std::string(zone);
    CHECK(validate_camera(spec).ok());
  }
  auto unknown = good_camera();
  unknown.zone = "staff_room";
  CHECK_FALSE(validate_camera(unknown).ok());
}

TEST_CASE("R2: a camera's retention may be shorter than four weeks, never longer",
          "[firmware][R2]") {
  auto spec = good_camera();
  spec.retention_days = 7;
  CHECK(validate_camera(spec).ok());
  spec.retention_days = 28;
  CHECK(validate_camera(spec).ok());
  spec.retention_days = 29;
  auto refused = validate_camera(spec);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("R2") != std::string::npos);
  spec.retention_days = 0;
  CHECK_FALSE(validate_camera(spec).ok());
}

TEST_CASE("camera names and URLs are checked", "[firmware]") {
  auto spec = good_camera();
  spec.name = "../etc";
  CHECK_FALSE(validate_camera(spec).ok());
  spec = good_camera();
  spec.url = "http://10.0.0.5/";
  CHECK_FALSE(validate_camera(spec).ok());
  spec.url = "rtsp://10.0.0.5/a b";
  CHECK_FALSE(validate_camera(spec).ok());
  spec = good_camera();
  spec.transport = "sctp";
  CHECK_FALSE(validate_camera(spec).ok());
}

TEST_CASE("R1: a camera in a forbidden zone is refused at every door, stored nowhere, audited",
          "[firmware][R1]") {
  testing::TempDir dir("yw-r1");
  auto appliance = Appliance::init({dir / "data", dir / "keys", "host-sim"});
  REQUIRE(appliance.ok());
  Services services(*appliance.value());
  auto& catalog = appliance.value()->catalog();
  const hal::Clock& clock = appliance.value()->clock();

  // The console adds a yard camera; the same in a toilet is refused with a clear error.
  auto yard = good_camera();
  yard.location = "hek aan de Dorpsstraat";
  REQUIRE(add_camera(catalog, services.audit, clock, Actor::console(), yard).ok());
  auto toilet = good_camera();
  toilet.name = "wc-gang";
  toilet.zone = "toilet";
  auto refused = add_camera(catalog, services.audit, clock, Actor::console(), toilet);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("R1") != std::string::npos);
  CHECK_FALSE(catalog.camera_by_name("wc-gang").ok());

  // An admin signed in (the web admin's door) can neither add one nor move a camera indoors.
  const std::string temporary = "tijdelijk-wachtwoord-12";
  REQUIRE(services.accounts.add_account(Actor::console(), "ict", Role::kAdmin, {}, temporary).ok());
  REQUIRE(services.accounts.change_password({"ict", temporary, "", "console"}, "blijvend-ww-1234")
              .ok());
  REQUIRE(set_setting(catalog, services.audit, Actor::console(), "policy.require_totp", "0").ok());
  auto admin = services.accounts.authenticate({"ict", "blijvend-ww-1234", "", "192.0.2.7"});
  REQUIRE(admin.ok());
  auto classroom = good_camera();
  classroom.name = "groep-8";
  classroom.zone = "classroom";
  CHECK(services.cameras.add(admin.value(), classroom).error().kind ==
        ErrorKind::kPermissionDenied);
  const int64_t yard_id = catalog.camera_by_name("yard-north").value().id;
  auto moved = yard;
  moved.zone = "changing_room";
  CHECK_FALSE(services.cameras.edit(admin.value(), yard_id, moved).ok());
  CHECK(catalog.camera_by_name("yard-north").value().spec.zone == "schoolyard");

  // The camera list is the placement plan: name, zone and location of what films.
  auto plan = services.cameras.list(admin.value());
  REQUIRE(plan.ok());
  REQUIRE(plan.value().size() == 1);
  CHECK(plan.value().front().spec.zone == "schoolyard");
  CHECK(plan.value().front().spec.location == "hek aan de Dorpsstraat");

  // Every refusal is in the journal.
  AuditFilter filter;
  std::vector<std::string> denied;
  const auto entries = services.audit.list(filter);
  REQUIRE(entries.ok());
  for (const auto& entry : entries.value()) {
    if (!entry.event.allowed && entry.event.object_type == "camera") {
      denied.push_back(entry.event.action + " " + entry.event.object_id);
    }
  }
  CHECK(denied == std::vector<std::string>{"camera_add wc-gang", "camera_add groep-8",
                                           "camera_edit yard-north"});
}
