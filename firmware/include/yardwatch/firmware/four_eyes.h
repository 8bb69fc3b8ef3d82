#pragma once

// Four-eyes (issue #8, policy switch `policy.four_eyes`, firmware/design/privacy_desk.md). When
// the switch is on, opening recorded footage and creating a police export need a second
// authorised person who approves within the first person's session with their own credentials
// (password, and TOTP where their role requires it). The second person must be a different
// account that may see recorded footage of every camera concerned: a director, or a viewer to
// whom all those cameras are assigned. Both names go into the audit entry of the effect
// ({"four_eyes": {"approved_by": …}} in its details); every refusal is audited.
//
// An approval can only be made here (its constructor is private), so an adapter cannot
// present one it did not get from a real second sign-in.

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

constexpr const char* kFourEyesSetting = "policy.four_eyes";

class FourEyesApproval {
 public:
  [[nodiscard]] int64_t account_id() const { return account_id_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] Role role() const { return role_; }
  [[nodiscard]] int64_t approved_utc_us() const { return approved_utc_us_; }
  // The cameras this approval covers (those the second person was checked for).
  [[nodiscard]] const std::set<int64_t>& camera_ids() const { return camera_ids_; }

 private:
  friend class FourEyesService;
  FourEyesApproval() = default;
  int64_t account_id_ = 0;
  std::string name_;
  Role role_ = Role::kViewer;
  int64_t approved_utc_us_ = 0;
  std::set<int64_t> camera_ids_;
};

class FourEyesService {
 public:
  FourEyesService(recorder::Catalog& catalog, const hal::Clock& clock, AuditJournal& audit,
                  AccountService& accounts);

  // The second person signs in (AccountService::authenticate: throttled, TOTP where required,
  // audited as a sign-in) to approve `attempted` by `first` on `camera_ids`. Refused, and
  // audited as a denial of `attempted` by `first`, when the second person is the same account,
  // cannot sign in, has not finished setting up their sign-in, or may not see recorded footage
  // of every camera (directors may; viewers only their assigned cameras).
  Result<FourEyesApproval> approve(const Principal& first, const Credentials& second,
                                   const std::set<int64_t>& camera_ids,
                                   const AuditEvent& attempted);

 private:
  recorder::Catalog& catalog_;
  const hal::Clock& clock_;
  AuditJournal& audit_;
  AccountService& accounts_;
};

// Whether the switch is on (`policy.four_eyes` = "1"; absent means off).
bool four_eyes_required(recorder::Catalog& catalog);

// The gate before the effect, called by the services that open recorded footage and create
// police exports. With the switch off it passes (and records an approval if one is given).
// With it on, `approval` must be present, for another account than `first`, and cover
// `camera_ids`; a refusal is audited (`event` by `first`, denied). On success it adds
// {"four_eyes": {"approved_by", "approved_by_role"}} to `event.details`, so the entry of the
// effect names both people.
Status check_four_eyes(recorder::Catalog& catalog, AuditJournal& audit, const Principal& first,
                       const FourEyesApproval* approval, const std::set<int64_t>& camera_ids,
                       AuditEvent& event);

// Adds the four-eyes fields of `approval` to an audit event's details (a JSON object).
void add_four_eyes_details(AuditEvent& event, const FourEyesApproval& approval);

}  // namespace yardwatch::firmware
