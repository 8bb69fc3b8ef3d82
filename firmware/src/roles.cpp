#include "yardwatch/firmware/roles.h"

#include <array>

namespace yardwatch::firmware {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kDirector:
      return "director";
    case Role::kViewer:
      return "viewer";
    case Role::kPrivacyOfficer:
      return "privacy_officer";
  }
  return "viewer";
}

std::optional<Role> parse_role(std::string_view name) {
  for (Role role : {Role::kAdmin, Role::kDirector, Role::kViewer, Role::kPrivacyOfficer}) {
    if (role_name(role) == name) return role;
  }
  return std::nullopt;
}

std::string_view permission_name(Permission permission) {
  switch (permission) {
    case Permission::kManageCameras:
      return "manage_cameras";
    case Permission::kManageAccounts:
      return "manage_accounts";
    case Permission::kLiveView:
      return "live_view";
    case Permission::kViewRecorded:
      return "view_recorded";
    case Permission::kPlaceHold:
      return "place_hold";
    case Permission::kRequestHold:
      return "request_hold";
    case Permission::kReleaseHold:
      return "release_hold";
    case Permission::kPoliceExport:
      return "police_export";
    case Permission::kManageSubjectRequests:
      return "manage_subject_requests";
    case Permission::kReadSubjectRequests:
      return "read_subject_requests";
    case Permission::kReadAuditAll:
      return "read_audit_all";
    case Permission::kReadAuditSystem:
      return "read_audit_system";
    case Permission::kReadAuditOwn:
      return "read_audit_own";
    case Permission::kManageBreaches:
      return "manage_breaches";
    case Permission::kReadBreaches:
      return "read_breaches";
    case Permission::kReadComplianceReports:
      return "read_compliance_reports";
    case Permission::kManageComplianceRecords:
      return "manage_compliance_records";
  }
  return "unknown";
}

bool role_allows(Role role, Permission permission) {
  // DESIGN §6, row by row.
  switch (permission) {
    case Permission::kManageCameras:
    case Permission::kManageAccounts:
      return role == Role::kAdmin;
    case Permission::kLiveView:
      return role == Role::kAdmin || role == Role::kDirector || role == Role::kViewer;
    case Permission::kViewRecorded:
      return role == Role::kDirector || role == Role::kViewer;
    case Permission::kPlaceHold:
      return role == Role::kDirector;
    case Permission::kRequestHold:
      return role == Role::kDirector || role == Role::kViewer;
    case Permission::kReleaseHold:
      return role == Role::kDirector;
    case Permission::kPoliceExport:
      return role == Role::kDirector;
    case Permission::kManageSubjectRequests:
      return role == Role::kDirector;
    case Permission::kReadSubjectRequests:
      return role == Role::kDirector || role == Role::kPrivacyOfficer;
    case Permission::kReadAuditAll:
      return role == Role::kDirector || role == Role::kPrivacyOfficer;
    case Permission::kReadAuditSystem:
      return role == Role::kAdmin || role == Role::kDirector || role == Role::kPrivacyOfficer;
    case Permission::kReadAuditOwn:
      return true;
    // The director decides for the school (the controller) whether a breach is reported to the
    // Autoriteit Persoonsgegevens; the privacy officer (FG) advises and reads, never decides.
    // Admins detect incidents but read no register: entries name people and addresses.
    case Permission::kManageBreaches:
      return role == Role::kDirector;
    case Permission::kReadBreaches:
      return role == Role::kDirector || role == Role::kPrivacyOfficer;
    case Permission::kReadComplianceReports:
      return role == Role::kDirector || role == Role::kPrivacyOfficer;
    case Permission::kManageComplianceRecords:
      return role == Role::kDirector;
  }
  return false;
}

bool limited_to_assigned_cameras(Role role, Permission permission) {
  return role == Role::kViewer &&
         (permission == Permission::kLiveView || permission == Permission::kViewRecorded ||
          permission == Permission::kRequestHold);
}

}  // namespace yardwatch::firmware
