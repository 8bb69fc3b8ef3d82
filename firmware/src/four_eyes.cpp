#include "yardwatch/firmware/four_eyes.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "yardwatch/firmware/settings.h"

namespace yardwatch::firmware {

namespace {

using nlohmann::json;

Error refuse(AuditJournal& audit, const Principal& first, AuditEvent event,
             const std::string& why) {
  event.allowed = false;
  event.reason = "four-eyes: " + why;
  (void)audit.append(first.actor(), event);
  return make_error(ErrorKind::kPermissionDenied, "permission denied (four-eyes): " + why);
}

std::string camera_list(recorder::Catalog& catalog, const std::set<int64_t>& ids) {
  std::string names;
  for (int64_t id : ids) {
    auto camera = catalog.camera_by_id(id);
    names += (names.empty() ? "" : ", ") +
             (camera.ok() ? camera.value().spec.name : "camera " + std::to_string(id));
  }
  return names;
}

}  // namespace

void add_four_eyes_details(AuditEvent& event, const FourEyesApproval& approval) {
  json details = json::parse(event.details.empty() ? "{}" : event.details, nullptr, false);
  if (!details.is_object()) details = json::object();
  details["four_eyes"] = json{{"approved_by", approval.name()},
                              {"approved_by_role", role_name(approval.role())},
                              {"approved_at", hal::format_iso8601_utc(approval.approved_utc_us())}};
  event.details = details.dump();
}

bool four_eyes_required(recorder::Catalog& catalog) {
  auto value = get_setting(catalog, kFourEyesSetting);
  return value.ok() && value.value() == "1";
}

FourEyesService::FourEyesService(recorder::Catalog& catalog, const hal::Clock& clock,
                                 AuditJournal& audit, AccountService& accounts)
    : catalog_(catalog), clock_(clock), audit_(audit), accounts_(accounts) {}

Result<FourEyesApproval> FourEyesService::approve(const Principal& first, const Credentials& second,
                                                  const std::set<int64_t>& camera_ids,
                                                  const AuditEvent& attempted) {
  // The same person twice is refused before any password is looked at.
  if (second.name == first.name) {
    return refuse(audit_, first, attempted,
                  "the second person must be someone else than " + first.name);
  }
  Credentials credentials = second;
  if (credentials.client_address.empty()) credentials.client_address = first.client_address;
  auto person = accounts_.authenticate(credentials);
  if (!person.ok()) {
    return refuse(audit_, first, attempted,
                  "the second person could not sign in (" + person.error().message + ")");
  }
  const Principal& approver = person.value();
  if (approver.account_id == first.account_id) {
    return refuse(audit_, first, attempted, "the second person must be someone else");
  }
  if (approver.must_change_password || approver.needs_totp_enrolment) {
    return refuse(audit_, first, attempted,
                  approver.name + " must finish setting up their sign-in (password, TOTP) first");
  }
  if (!role_allows(approver.role, Permission::kViewRecorded)) {
    return refuse(audit_, first, attempted,
                  approver.name + " (" + std::string(role_name(approver.role)) +
                      ") may not see recorded footage, so may not approve");
  }
  if (limited_to_assigned_cameras(approver.role, Permission::kViewRecorded)) {
    std::set<int64_t> missing;
    std::set_difference(camera_ids.begin(), camera_ids.end(), approver.camera_ids.begin(),
                        approver.camera_ids.end(), std::inserter(missing, missing.end()));
    if (!missing.empty()) {
      // The journal names the cameras; the person is only told that the approver may not.
      AuditEvent denial = attempted;
      denial.allowed = false;
      denial.reason = "four-eyes: " + approver.name + " is not assigned camera(s) " +
                      camera_list(catalog_, missing);
      (void)audit_.append(first.actor(), denial);
      return make_error(ErrorKind::kPermissionDenied,
                        "permission denied (four-eyes): " + approver.name +
                            " may not see the footage of every camera concerned");
    }
  }
  FourEyesApproval approval;
  approval.account_id_ = approver.account_id;
  approval.name_ = approver.name;
  approval.role_ = approver.role;
  approval.approved_utc_us_ = clock_.now_utc_us();
  approval.camera_ids_ = camera_ids;
  return approval;
}

Status check_four_eyes(recorder::Catalog& catalog, AuditJournal& audit, const Principal& first,
                       const FourEyesApproval* approval, const std::set<int64_t>& camera_ids,
                       AuditEvent& event) {
  const bool required = four_eyes_required(catalog);
  if (approval == nullptr) {
    if (!required) return {};
    return refuse(audit, first, event,
                  "the four-eyes policy is on: a second authorised person (a director, or a "
                  "viewer for their own cameras) must approve with their own sign-in");
  }
  if (approval->account_id() == first.account_id) {
    return refuse(audit, first, event, "the second person must be someone else");
  }
  if (!std::includes(approval->camera_ids().begin(), approval->camera_ids().end(),
                     camera_ids.begin(), camera_ids.end())) {
    return refuse(audit, first, event,
                  "the approval of " + approval->name() + " does not cover camera(s) " +
                      camera_list(catalog, camera_ids));
  }
  add_four_eyes_details(event, *approval);
  return {};
}

}  // namespace yardwatch::firmware
