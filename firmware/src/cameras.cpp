#include "yardwatch/firmware/cameras.h"

#include <algorithm>
#include <cctype>

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
  if (spec.location.size() > 200) {
    return make_error(ErrorKind::kInvalidArgument, "location is limited to 200 characters");
  }
  return {};
}

}  // namespace yardwatch::firmware
