#pragma once

// Roles and what each may do: the role matrix of DESIGN §6, in one table. Every firmware service
// asks `role_allows` before it acts; the web router and the CLI never decide on their own.

#include <optional>
#include <string>
#include <string_view>

namespace yardwatch::firmware {

enum class Role { kAdmin, kDirector, kViewer, kPrivacyOfficer };

std::string_view role_name(Role role);
std::optional<Role> parse_role(std::string_view name);

enum class Permission {
  kManageCameras,  // cameras, system, updates
  kManageAccounts,
  kLiveView,      // admin: setup preview only; viewer: assigned cameras
  kViewRecorded,  // a purpose is required; viewer: assigned cameras
  kPlaceHold,
  kRequestHold,
  kReleaseHold,
  kPoliceExport,
  kManageSubjectRequests,
  kReadSubjectRequests,
  kReadAuditAll,
  kReadAuditSystem,  // admin: system events only
  kReadAuditOwn,     // viewer: own entries only
  // The privacy desk (issue #8): the breach register (R8), the kwaliteitskaart and the access
  // review (R9, "compliance reports" in DESIGN §6), the DPIA date (R10) and camera
  // descriptions for the kwaliteitskaart.
  kManageBreaches,           // register incidents by hand, decide report / not report
  kReadBreaches,             // read the breach register
  kReadComplianceReports,    // kwaliteitskaart, access review, DPIA state
  kManageComplianceRecords,  // DPIA date, camera purpose / placement / still for the card
};

std::string_view permission_name(Permission permission);

bool role_allows(Role role, Permission permission);

// Whether the permission, for this role, is limited to the cameras assigned to the account.
bool limited_to_assigned_cameras(Role role, Permission permission);

}  // namespace yardwatch::firmware
