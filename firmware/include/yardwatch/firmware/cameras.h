#pragma once

// Camera placement policy (R1) and retention limits (R2): the rules a camera must satisfy
// before the recorder ever sees it.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

constexpr int kMaxRetentionDays = 28;

// Outdoor zones where a school may film (R1).
const std::vector<std::string_view>& permitted_zones();
// Zones the regulations forbid outright (R1).
const std::vector<std::string_view>& forbidden_zones();

// Checks name, URL, zone, retention and transport; the error cites the rule that refuses it.
Status validate_camera(const recorder::CameraSpec& spec);

// Adds or removes a camera, audited in the same transaction. Called by the console (the
// appliance operator) — the web admin will call it with an admin's actor after its role check.
Result<recorder::Camera> add_camera(recorder::Catalog& catalog, AuditJournal& audit,
                                    const hal::Clock& clock, const Actor& by,
                                    const recorder::CameraSpec& spec);
Status remove_camera(recorder::Catalog& catalog, AuditJournal& audit, const hal::Clock& clock,
                     const Actor& by, const std::string& name);

// A camera's retention (1–28 days, R2: shorter takes effect at the next sweep; longer than 28 is
// refused, only a hold keeps footage longer) and its priority (0–100; when the disk holds only
// protected footage, the lowest-priority camera stops recording first). Audited `camera_edit`
// with the old and new values.
struct CameraChanges {
  std::optional<int> retention_days;
  std::optional<int> priority;
};
Result<recorder::Camera> update_camera(recorder::Catalog& catalog, AuditJournal& audit,
                                       const Actor& by, const std::string& name,
                                       const CameraChanges& changes);

// Cameras for a signed-in person (the web admin): the same rules, with the role check first.
// Managing cameras is the admin's (DESIGN §6); everyone signed in sees the placement plan,
// viewers only their assigned cameras, and only admins see stream URLs (they may hold the
// camera's credentials).
class CameraService {
 public:
  CameraService(recorder::Catalog& catalog, const hal::Clock& clock, AuditJournal& audit);

  Result<std::vector<recorder::Camera>> list(const Principal& principal);
  // kNotFound for an unknown or removed camera; kPermissionDenied (audited) for a viewer's
  // unassigned camera.
  Result<recorder::Camera> get(const Principal& principal, int64_t camera_id);
  Result<recorder::Camera> add(const Principal& principal, const recorder::CameraSpec& spec);
  // `spec.name` is ignored: a camera keeps its name.
  Result<recorder::Camera> edit(const Principal& principal, int64_t camera_id,
                                const recorder::CameraSpec& spec);
  Status remove(const Principal& principal, int64_t camera_id);

 private:
  recorder::Catalog& catalog_;
  const hal::Clock& clock_;
  AuditJournal& audit_;
};

}  // namespace yardwatch::firmware
