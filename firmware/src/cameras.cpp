#include "yardwatch/firmware/cameras.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

const std::vector<std::string_view>& permitted_zones() {
  static const std::vector<std::string_view> zones = {"schoolyard",   "entrance", "bicycle_shed",
                                                      "parking",      "fence",    "playground",
                                                      "sports_field", "perimeter"};
  return zones;
}

const std::vector<std::string_view>& forbidden_zones() {
  static const std::vector<std::string_view> zones = {"classroom", "toilet", "changing_room",
                                                      "consultation_room"};
  return zones;
}

namespace {

bool contains(const std::vector<std::string_view>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string join(const std::vector<std::string_view>& list) {
  std::string text;
  for (auto item : list) {
    if (!text.empty()) text += ", ";
    text += item;
  }
  return text;
}

}  // namespace

Status validate_camera(const recorder::CameraSpec& spec) {
  if (spec.name.empty() || spec.name.size() > 64 ||
      !std::all_of(spec.name.begin(), spec.name.end(), [](unsigned char c) {
        return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.';
      })) {
    return make_error(ErrorKind::kInvalidArgument,
                      "camera name must be 1–64 letters, digits, '-', '_' or '.'");
  }
  if (contains(forbidden_zones(), spec.zone)) {
    return make_error(ErrorKind::kPermissionDenied,
                      "zone '" + spec.zone +
                          "' is not allowed: rule R1 forbids cameras in classrooms, toilets, "
                          "changing rooms and consultation rooms");
  }
  if (!contains(permitted_zones(), spec.zone)) {
    return make_error(
        ErrorKind::kInvalidArgument,
        "unknown zone '" + spec.zone + "'; permitted zones (R1): " + join(permitted_zones()));
  }
  if (spec.retention_days < 1 || spec.retention_days > kMaxRetentionDays) {
    return make_error(ErrorKind::kInvalidArgument,
                      "retention must be between 1 and 28 days: rule R2 keeps footage at most "
                      "four weeks (only an incident hold keeps it longer)");
  }
  std::string_view url = spec.url;
  if (!url.starts_with("rtsp://") && !url.starts_with("rtsps://")) {
    return make_error(ErrorKind::kInvalidArgument,
                      "camera URL must start with rtsp:// or rtsps://");
  }
  if (url.size() > 1024 || std::any_of(url.begin(), url.end(), [](unsigned char c) {
        return std::iscntrl(c) != 0 || c == ' ';
      })) {
    return make_error(ErrorKind::kInvalidArgument,
                      "camera URL contains spaces or control characters");
  }
  if (spec.transport != "tcp" && spec.transport != "udp") {
    return make_error(ErrorKind::kInvalidArgument, "transport must be tcp or udp");
  }
  if (spec.priority < 0 || spec.priority > 100) {
    return make_error(ErrorKind::kInvalidArgument,
                      "priority must be between 0 and 100 (higher records longer when the disk "
                      "holds only protected footage)");
  }
  if (spec.location.size() > 200) {
    return make_error(ErrorKind::kInvalidArgument, "location is limited to 200 characters");
  }
  return {};
}

namespace {
AuditEvent camera_event(const std::string& action, const std::string& name) {
  AuditEvent event;
  event.action = action;
  event.object_type = "camera";
  event.object_id = name;
  event.camera = name;
  return event;
}
}  // namespace

Result<recorder::Camera> add_camera(recorder::Catalog& catalog, AuditJournal& audit,
                                    const hal::Clock& clock, const Actor& by,
                                    const recorder::CameraSpec& spec) {
  AuditEvent event = camera_event("camera_add", spec.name);
  // Never the URL: it may carry the camera's credentials.
  event.details = nlohmann::json{{"zone", spec.zone},
                                 {"location", spec.location},
                                 {"retention_days", spec.retention_days},
                                 {"priority", spec.priority},
                                 {"transport", spec.transport}}
                      .dump();
  if (auto valid = validate_camera(spec); !valid.ok()) {
    event.allowed = false;
    event.reason = valid.error().message;
    (void)audit.append(by, event);
    return std::move(valid).error();
  }
  std::lock_guard lock(catalog.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(catalog.database()));
  YW_ASSIGN_OR_RETURN(auto camera, catalog.add_camera(spec, clock.now_utc_us()));
  YW_TRY(audit.append(by, event));
  YW_TRY(transaction.commit());
  return camera;
}

Status remove_camera(recorder::Catalog& catalog, AuditJournal& audit, const hal::Clock& clock,
                     const Actor& by, const std::string& name) {
  std::lock_guard lock(catalog.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(catalog.database()));
  YW_TRY(catalog.remove_camera(name, clock.now_utc_us()));
  YW_TRY(audit.append(by, camera_event("camera_remove", name)));
  return transaction.commit();
}

Result<recorder::Camera> update_camera(recorder::Catalog& catalog, AuditJournal& audit,
                                       const Actor& by, const std::string& name,
                                       const CameraChanges& changes) {
  AuditEvent event = camera_event("camera_edit", name);
  YW_ASSIGN_OR_RETURN(auto camera, catalog.camera_by_name(name));
  if (camera.removed_utc_us) {
    return make_error(ErrorKind::kFailedPrecondition, "camera '" + name + "' was removed");
  }
  recorder::CameraSpec spec = camera.spec;
  if (changes.retention_days) spec.retention_days = *changes.retention_days;
  if (changes.priority) spec.priority = *changes.priority;
  event.details = nlohmann::json{{"retention_days", spec.retention_days},
                                 {"priority", spec.priority},
                                 {"previous_retention_days", camera.spec.retention_days},
                                 {"previous_priority", camera.spec.priority}}
                      .dump();
  if (auto valid = validate_camera(spec); !valid.ok()) {
    event.allowed = false;
    event.reason = valid.error().message;
    (void)audit.append(by, event);
    return std::move(valid).error();
  }
  std::lock_guard lock(catalog.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(catalog.database()));
  YW_TRY(catalog.set_camera_policy(camera.id, spec.retention_days, spec.priority));
  YW_TRY(audit.append(by, event));
  YW_TRY(transaction.commit());
  camera.spec = spec;
  return camera;
}

CameraService::CameraService(recorder::Catalog& catalog, const hal::Clock& clock,
                             AuditJournal& audit)
    : catalog_(catalog), clock_(clock), audit_(audit) {}

Result<std::vector<recorder::Camera>> CameraService::list(const Principal& principal) {
  YW_ASSIGN_OR_RETURN(auto cameras, catalog_.cameras(false));
  std::vector<recorder::Camera> shown;
  for (auto& camera : cameras) {
    if (principal.role == Role::kViewer && principal.camera_ids.count(camera.id) == 0) continue;
    if (principal.role != Role::kAdmin) camera.spec.url.clear();
    shown.push_back(std::move(camera));
  }
  return shown;
}

Result<recorder::Camera> CameraService::get(const Principal& principal, int64_t camera_id) {
  auto camera = catalog_.camera_by_id(camera_id);
  if (principal.role == Role::kViewer && principal.camera_ids.count(camera_id) == 0) {
    // Denied before anything is said about whether the camera exists.
    AuditEvent event = camera_event("camera_read", camera.ok() ? camera.value().spec.name : "");
    event.object_id = std::to_string(camera_id);
    event.allowed = false;
    event.reason = "camera not assigned to " + principal.name;
    (void)audit_.append(principal.actor(), event);
    return make_error(ErrorKind::kPermissionDenied,
                      "permission denied: camera not assigned to " + principal.name);
  }
  if (!camera.ok() || camera.value().removed_utc_us) {
    return make_error(ErrorKind::kNotFound, "no camera with id " + std::to_string(camera_id));
  }
  if (principal.role != Role::kAdmin) camera.value().spec.url.clear();
  return camera;
}

Result<recorder::Camera> CameraService::add(const Principal& principal,
                                            const recorder::CameraSpec& spec) {
  YW_TRY(authorize(audit_, principal, Permission::kManageCameras, std::nullopt,
                   camera_event("camera_add", spec.name)));
  return add_camera(catalog_, audit_, clock_, principal.actor(), spec);
}

Result<recorder::Camera> CameraService::edit(const Principal& principal, int64_t camera_id,
                                             const recorder::CameraSpec& spec) {
  auto existing = catalog_.camera_by_id(camera_id);
  const std::string name = existing.ok() ? existing.value().spec.name : "";
  AuditEvent event = camera_event("camera_edit", name);
  YW_TRY(authorize(audit_, principal, Permission::kManageCameras, std::nullopt, event));
  if (!existing.ok() || existing.value().removed_utc_us) {
    return make_error(ErrorKind::kNotFound, "no camera with id " + std::to_string(camera_id));
  }
  recorder::CameraSpec changed = spec;
  changed.name = name;
  event.details = nlohmann::json{{"zone", changed.zone},
                                 {"location", changed.location},
                                 {"retention_days", changed.retention_days},
                                 {"transport", changed.transport},
                                 {"url_changed", changed.url != existing.value().spec.url}}
                      .dump();
  if (auto valid = validate_camera(changed); !valid.ok()) {
    event.allowed = false;
    event.reason = valid.error().message;
    (void)audit_.append(principal.actor(), event);
    return std::move(valid).error();
  }
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(catalog_.database()));
  YW_TRY(catalog_.update_camera(camera_id, changed));
  YW_TRY(audit_.append(principal.actor(), event));
  YW_TRY(transaction.commit());
  return catalog_.camera_by_id(camera_id);
}

Status CameraService::remove(const Principal& principal, int64_t camera_id) {
  auto existing = catalog_.camera_by_id(camera_id);
  const std::string name = existing.ok() ? existing.value().spec.name : "";
  YW_TRY(authorize(audit_, principal, Permission::kManageCameras, std::nullopt,
                   camera_event("camera_remove", name)));
  if (!existing.ok() || existing.value().removed_utc_us) {
    return make_error(ErrorKind::kNotFound, "no camera with id " + std::to_string(camera_id));
  }
  return remove_camera(catalog_, audit_, clock_, principal.actor(), name);
}

}  // namespace yardwatch::firmware
