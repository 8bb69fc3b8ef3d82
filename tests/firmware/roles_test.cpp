// The role matrix of DESIGN §6 as a table: every permission × every role × (own camera, other
// camera) through the one gate every service uses, each denial audited.

#include <catch2/catch.hpp>

#include "test_support.h"
#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/audit.h"

using namespace yardwatch;
using namespace yardwatch::firmware;
using yardwatch::testing::TempDir;

namespace {

enum Access { kNo, kYes, kOwnOnly };

struct Row {
  Permission permission;
  Access admin, director, viewer, privacy_officer;
};

// DESIGN §6, transcribed row by row (independently of roles.cpp).
const std::vector<Row> kMatrix = {
    {Permission::kManageCameras, kYes, kNo, kNo, kNo},
    {Permission::kManageAccounts, kYes, kNo, kNo, kNo},
    {Permission::kLiveView, kYes, kYes, kOwnOnly, kNo},  // admin: setup preview only
    {Permission::kViewRecorded, kNo, kYes, kOwnOnly, kNo},
    {Permission::kPlaceHold, kNo, kYes, kNo, kNo},
    {Permission::kRequestHold, kNo, kYes, kOwnOnly, kNo},
    {Permission::kReleaseHold, kNo, kYes, kNo, kNo},
    {Permission::kPoliceExport, kNo, kYes, kNo, kNo},
    {Permission::kManageSubjectRequests, kNo, kYes, kNo, kNo},
    {Permission::kReadSubjectRequests, kNo, kYes, kNo, kYes},
    {Permission::kReadAuditAll, kNo, kYes, kNo, kYes},
    {Permission::kReadAuditSystem, kYes, kYes, kNo, kYes},
    {Permission::kReadAuditOwn, kYes, kYes, kYes, kYes},
    // "audit journal, compliance reports" and the breach register (R8, R9, R10).
    {Permission::kManageBreaches, kNo, kYes, kNo, kNo},
    {Permission::kReadBreaches, kNo, kYes, kNo, kYes},
    {Permission::kReadComplianceReports, kNo, kYes, kNo, kYes},
    {Permission::kManageComplianceRecords, kNo, kYes, kNo, kNo},
};

}  // namespace

TEST_CASE("R4: the role matrix — every permission, role and camera, denials audited",
          "[firmware][roles][R4][R6]") {
  TempDir dir;
  auto appliance = Appliance::init({dir / "data", dir / "keys", "host-sim"});
  REQUIRE(appliance.ok());
  auto& catalog = appliance.value()->catalog();
  recorder::CameraSpec spec;
  spec.url = "rtsp://127.0.0.1:1/x";
  spec.zone = "schoolyard";
  spec.name = "own";
  const int64_t own = catalog.add_camera(spec, 0).value().id;
  spec.name = "other";
  const int64_t other = catalog.add_camera(spec, 0).value().id;
  AuditJournal audit(catalog, appliance.value()->clock(), appliance.value()->keys());

  for (const auto& row : kMatrix) {
    for (Role role : {Role::kAdmin, Role::kDirector, Role::kViewer, Role::kPrivacyOfficer}) {
      const Access access = role == Role::kAdmin      ? row.admin
                            : role == Role::kDirector ? row.director
                            : role == Role::kViewer   ? row.viewer
                                                      : row.privacy_officer;
      Principal principal;
      principal.account_id = 100 + static_cast<int>(role);
      principal.name = std::string(role_name(role)) + "-person";
      principal.role = role;
      principal.camera_ids = {own};
      principal.client_address = "192.0.2.7";
      for (int64_t camera : {own, other}) {
        const bool expected = access == kYes || (access == kOwnOnly && camera == own);
        INFO(permission_name(row.permission) << " as " << role_name(role) << " on "
                                             << (camera == own ? "own" : "other") << " camera");
        const auto before = audit.list({}).value().size();
        AuditEvent attempted;
        attempted.action = std::string(permission_name(row.permission));
        attempted.object_type = "camera";
        attempted.object_id = std::to_string(camera);
        auto result = authorize(audit, principal, row.permission, camera, attempted);
        CHECK(result.ok() == expected);
        const auto entries = audit.list({}).value();
        if (expected) {
          CHECK(entries.size() == before);
        } else {
          CHECK(result.error().kind == ErrorKind::kPermissionDenied);
          REQUIRE(entries.size() == before + 1);
          const auto& last = entries.back();
          CHECK_FALSE(last.event.allowed);
          CHECK(last.actor.name == principal.name);
          CHECK(last.actor.role == std::string(role_name(role)));
          CHECK(last.event.action == std::string(permission_name(row.permission)));
          CHECK(last.actor.client_address == "192.0.2.7");
          CHECK_FALSE(last.event.reason.empty());
        }
      }
    }
  }
  CHECK(audit.verify().value().ok);
}

TEST_CASE("R4: a temporary password or a missing second factor blocks everything",
          "[firmware][roles][R4]") {
  TempDir dir;
  auto appliance = Appliance::init({dir / "data", dir / "keys", "host-sim"});
  REQUIRE(appliance.ok());
  AuditJournal audit(appliance.value()->catalog(), appliance.value()->clock(),
                     appliance.value()->keys());
  Principal director;
  director.account_id = 1;
  director.name = "directeur";
  director.role = Role::kDirector;
  director.must_change_password = true;
  AuditEvent attempted;
  attempted.action = "view_recorded";
  CHECK_FALSE(authorize(audit, director, Permission::kViewRecorded, 1, attempted).ok());
  director.must_change_password = false;
  director.needs_totp_enrolment = true;
  CHECK_FALSE(authorize(audit, director, Permission::kViewRecorded, 1, attempted).ok());
  director.needs_totp_enrolment = false;
  CHECK(authorize(audit, director, Permission::kViewRecorded, 1, attempted).ok());
}

TEST_CASE("password policy: 12–128 characters, not containing the name", "[firmware][accounts]") {
  CHECK(check_password_policy("jansen", "correct horse battery").ok());
  CHECK_FALSE(check_password_policy("jansen", "short").ok());
  CHECK_FALSE(check_password_policy("jansen", std::string(129, 'x')).ok());
  CHECK(check_password_policy("jansen", std::string(128, 'x')).ok());
  CHECK_FALSE(check_password_policy("jansen", "my-JANSEN-password").ok());
}
