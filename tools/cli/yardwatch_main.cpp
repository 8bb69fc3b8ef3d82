// yardwatch: the administrator's command line, a thin adapter over the firmware services.
// The --json shapes printed here are a public contract (tools/cli/README.md).

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/cameras.h"
#include "yardwatch/recorder/playback.h"
#include "yardwatch/recorder/recovery.h"

namespace {

using namespace yardwatch;
using nlohmann::json;

constexpr int kExitFailure = 1;
constexpr int kExitViolations = 2;

struct CommonOptions {
  firmware::ApplianceOptions appliance;
  bool json_output = false;
};

void add_common(CLI::App* command, CommonOptions& options, bool with_json) {
  command->add_option("--data", options.appliance.data_dir, "data directory")->required();
  command->add_option("--key-dir", options.appliance.key_dir,
                      "key directory (default: <data>.keys beside the data directory)");
  command->add_option("--board", options.appliance.board, "board")->capture_default_str();
  if (with_json) command->add_flag("--json", options.json_output, "machine-readable output");
}

int fail(const Error& error) {
  std::fprintf(stderr, "yardwatch: %s\n", error.message.c_str());
  return kExitFailure;
}

std::string iso(int64_t utc_us) { return hal::format_iso8601_utc(utc_us); }

json optional_time(const std::optional<int64_t>& utc_us) {
  return utc_us ? json(iso(*utc_us)) : json(nullptr);
}

Result<std::unique_ptr<firmware::Appliance>> open_appliance(const CommonOptions& options) {
  return firmware::Appliance::open(options.appliance);
}

int cmd_init(const CommonOptions& options) {
  auto appliance = firmware::Appliance::init(options.appliance);
  if (!appliance.ok()) return fail(appliance.error());
  auto device = appliance.value()->catalog().device_id();
  std::printf("initialised %s\n  keys: %s\n  device id: %s\n", options.appliance.data_dir.c_str(),
              appliance.value()->key_dir().c_str(), device.ok() ? device.value().c_str() : "?");
  return 0;
}

int cmd_camera_add(const CommonOptions& options, const recorder::CameraSpec& spec) {
  if (auto valid = firmware::validate_camera(spec); !valid.ok()) return fail(valid.error());
  auto appliance = open_appliance(options);
  if (!appliance.ok()) return fail(appliance.error());
  auto& app = *appliance.value();
  auto camera = app.catalog().add_camera(spec, app.clock().now_utc_us());
  if (!camera.ok()) return fail(camera.error());
  if (options.json_output) {
    std::cout << json{{"id", camera.value().id}, {"name", spec.name}}.dump() << "\n";
  } else {
    std::printf("added camera %s (zone %s, retention %d days)\n", spec.name.c_str(),
                spec.zone.c_str(), spec.retention_days);
  }
  return 0;
}

json camera_json(const recorder::Camera& camera) {
  return json{{"id", camera.id},
              {"name", camera.spec.name},
              {"url", camera.spec.url},
              {"zone", camera.spec.zone},
              {"location", camera.spec.location},
              {"retention_days", camera.spec.retention_days},
              {"transport", camera.spec.transport},
              {"created", iso(camera.created_utc_us)}};
}

int cmd_camera_list(const CommonOptions& options) {
  auto appliance = open_appliance(options);
  if (!appliance.ok()) return fail(appliance.error());
  auto cameras = appliance.value()->catalog().cameras(false);
  if (!cameras.ok()) return fail(cameras.error());
  if (options.json_output) {
    json list = json::array();
    for (const auto& camera : cameras.value()) list.push_back(camera_json(camera));
    std::cout << json{{"cameras", list}}.dump(2) << "\n";
    return 0;
  }
  for (const auto& camera : cameras.value()) {
    std::printf("%-16s %-14s %2d days  %s  %s\n", camera.spec.name.c_str(),
                camera.spec.zone.c_str(), camera.spec.retention_days, camera.spec.url.c_str(),
                camera.spec.location.c_str());
  }
  return 0;
}

int cmd_camera_remove(const CommonOptions& options, const std::string& name) {
  auto appliance = open_appliance(options);
  if (!appliance.ok()) return fail(appliance.error());
  auto& app = *appliance.value();
  if (auto removed = app.catalog().remove_camera(name, app.clock().now_utc_us()); !removed.ok()) {
    return fail(removed.error());
  }
  std::printf("removed camera %s; it stops recording and its footage ages out as usual\n",
              name.c_str());
  return 0;
}

int cmd_status(const CommonOptions& options) {
  auto appliance = open_appliance(options);
  if (!appliance.ok()) return fail(appliance.error());
  auto& app = *appliance.value();
  auto& catalog = app.catalog();
  const bool running = firmware::RecorderLock::held_by_other(options.appliance.data_dir);
  auto cameras = catalog.cameras(false);
  auto statuses = catalog.camera_statuses();
  auto alarms = catalog.open_alarms();
  if (!cameras.ok()) return fail(cameras.error());
  if (!statuses.ok()) return fail(statuses.error());
  if (!alarms.ok()) return fail(alarms.error());

  json result;
  result["recorder_running"] = running;
  result["now"] = iso(app.clock().now_utc_us());
  result["clock"] = std::string(hal::sync_state_name(app.clock().sync_state()));
  json camera_list = json::array();
  for (const auto& camera : cameras.value()) {
    json entry{{"name", camera.spec.name}, {"zone", camera.spec.zone}};
    std::string state = "stopped";
    std::string reason = running ? "" : "yardwatchd is not running";
    std::optional<int64_t> since;
    if (running) {
      for (const auto& status : statuses.value()) {
        if (status.camera_id != camera.id) continue;
        state = status.state;
        reason = status.reason;
        since = status.since_utc_us;
      }
    }
    entry["state"] = state;
    entry["reason"] = reason;
    entry["since"] = optional_time(since);
    auto footage = catalog.footage_summary(camera.id);
    if (!footage.ok()) return fail(footage.error());
    entry["oldest"] = optional_time(footage.value().oldest_utc_us);
    entry["newest"] = optional_time(footage.value().newest_utc_us);
    entry["bytes"] = footage.value().bytes;
    entry["segments"] = footage.value().segment_count;
    camera_list.push_back(entry);
  }
  result["cameras"] = camera_list;
  auto free = app.storage().free_bytes();
  auto total = app.storage().total_bytes();
  result["storage"] = json{{"data_dir", options.appliance.data_dir.string()},
                           {"free_bytes", free.ok() ? json(free.value()) : json(nullptr)},
                           {"total_bytes", total.ok() ? json(total.value()) : json(nullptr)}};
  json alarm_list = json::array();
  for (const auto& alarm : alarms.value()) {
    std::string camera_name;
    for (const auto& camera : cameras.value()) {
      if (alarm.camera_id && *alarm.camera_id == camera.id) camera_name = camera.spec.name;
    }
    alarm_list.push_back(json{{"kind", alarm.kind},
                              {"camera", camera_name.empty() ? json(nullptr) : json(camera_name)},
                              {"message", alarm.message},
                              {"raised", iso(alarm.raised_utc_us)}});
  }
  result["alarms"] = alarm_list;
  if (options.json_output) {
    std::cout << result.dump(2) << "\n";
    return 0;
  }
  std::printf("yardwatchd: %s   clock: %s\n", running ? "running" : "NOT RUNNING",
              result["clock"].get<std::string>().c_str());
  for (const auto& entry : camera_list) {
    std::printf("  %-16s %-12s %-40s footage %s .. %s (%llu bytes)\n",
                entry["name"].get<std::string>().c_str(), entry["state"].get<std::string>().c_str(),
                entry["reason"].get<std::string>().c_str(),
                entry["oldest"].is_null() ? "-" : entry["oldest"].get<std::string>().c_str(),
                entry["newest"].is_null() ? "-" : entry["newest"].get<std::string>().c_str(),
                static_cast<unsigned long long>(entry["bytes"].get<uint64_t>()));
  }
  if (free.ok()) {
    std::printf("  storage: %llu MiB free\n", static_cast<unsigned long long>(free.value() >> 20));
  }
  for (const auto& alarm : alarm_list) {
    std::printf("  ALARM %s: %s\n", alarm["kind"].get<std::string>().c_str(),
                alarm["message"].get<std::string>().c_str());
  }
  return 0;
}

int cmd_segments(const CommonOptions& options, const std::string& camera_name,
                 const std::string& from, const std::string& to) {
  auto appliance = open_appliance(options);
  if (!appliance.ok()) return fail(appliance.error());
  auto& catalog = appliance.value()->catalog();
  auto camera = catalog.camera_by_name(camera_name);
  if (!camera.ok()) return fail(camera.error());
  int64_t from_us = INT64_MIN;
  int64_t to_us = INT64_MAX;
  if (!from.empty()) {
    auto parsed = hal::parse_iso8601_utc_us(from);
    if (!parsed.ok()) return fail(parsed.error());
    from_us = parsed.value();
  }
  if (!to.empty()) {
    auto parsed = hal::parse_iso8601_utc_us(to);
    if (!parsed.ok()) return fail(parsed.error());
    to_us = parsed.value();
  }
  auto segments = catalog.segments_for_camera(camera.value().id, from_us, to_us);
  if (!segments.ok()) return fail(segments.error());
  json list = json::array();
  for (const auto& row : segments.value()) {
    list.push_back(json{{"id", row.id},
                        {"start", iso(row.start_utc_us)},
                        {"end", iso(row.end_utc_us)},
                        {"start_utc_us", row.start_utc_us},
                        {"end_utc_us", row.end_utc_us},
                        {"bytes", row.bytes},
                        {"state", std::string(recorder::segment_state_name(row.state))},
                        {"codec", row.codec},
                        {"width", row.width},
                        {"height", row.height}});
  }
  if (options.json_output) {
    std::cout << json{{"camera", camera_name}, {"segments", list}}.dump(2) << "\n";
    return 0;
  }
  for (const auto& entry : list) {
    std::printf("%8lld  %s  %s  %10llu bytes  %s\n",
                static_cast<long long>(entry["id"].get<int64_t>()),
                entry["start"].get<std::string>().c_str(), entry["end"].get<std::string>().c_str(),
                static_cast<unsigned long long>(entry["bytes"].get<uint64_t>()),
                entry["state"].get<std::string>().c_str());
  }
  return 0;
}

int cmd_segment_cat(const CommonOptions& options, int64_t id) {
  auto appliance = open_appliance(options);
  if (!appliance.ok()) return fail(appliance.error());
  auto& app = *appliance.value();
  // Every byte is authenticated before the first is written (see playback.h).
  auto segment = recorder::decrypt_segment(app.catalog(), app.storage(), app.keys(), id);
  if (!segment.ok()) return fail(segment.error());
  if (::isatty(STDOUT_FILENO) != 0) {
    std::fprintf(stderr, "yardwatch: refusing to write video to a terminal; redirect stdout\n");
    return kExitFailure;
  }
  const auto& bytes = segment.value().mp4;
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(STDOUT_FILENO, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(errno_error(errno, "write to stdout"));
    written += static_cast<size_t>(n);
  }
  return 0;
}

int cmd_catalog_check(const CommonOptions& options) {
  auto appliance = open_appliance(options);
  if (!appliance.ok()) return fail(appliance.error());
  auto& app = *appliance.value();
  const bool running = firmware::RecorderLock::held_by_other(options.appliance.data_dir);
  auto violations = recorder::check_data_dir(app.catalog(), app.storage(), app.keys(), running);
  if (!violations.ok()) return fail(violations.error());
  if (options.json_output) {
    json list = json::array();
    for (const auto& v : violations.value())
      list.push_back(json{{"rule", v.rule}, {"detail", v.detail}});
    std::cout << json{{"ok", violations.value().empty()}, {"violations", list}}.dump(2) << "\n";
  } else {
    for (const auto& v : violations.value()) {
      std::printf("violation of rule %d: %s\n", v.rule, v.detail.c_str());
    }
    if (violations.value().empty()) std::printf("catalog check: all rules hold\n");
  }
  return violations.value().empty() ? 0 : kExitViolations;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"yardwatch — administer a Yardwatch recorder"};
  app.require_subcommand(1);
  CommonOptions options;

  auto* init = app.add_subcommand("init", "create the data directory, device keys and catalog");
  add_common(init, options, false);

  auto* camera = app.add_subcommand("camera", "manage cameras");
  camera->require_subcommand(1);
  recorder::CameraSpec spec;
  auto* camera_add = camera->add_subcommand("add", "add a camera (zones per rule R1)");
  add_common(camera_add, options, true);
  camera_add->add_option("--name", spec.name, "camera name")->required();
  camera_add->add_option("--url", spec.url, "rtsp:// URL")->required();
  camera_add->add_option("--zone", spec.zone, "zone type, e.g. schoolyard")->required();
  camera_add->add_option("--location", spec.location, "where it hangs, in words");
  camera_add->add_option("--retention-days", spec.retention_days, "1–28 days")
      ->capture_default_str();
  camera_add->add_option("--transport", spec.transport, "tcp or udp")->capture_default_str();
  auto* camera_list = camera->add_subcommand("list", "list cameras");
  add_common(camera_list, options, true);
  std::string remove_name;
  auto* camera_remove = camera->add_subcommand("remove", "stop recording a camera");
  add_common(camera_remove, options, false);
  camera_remove->add_option("--name", remove_name, "camera name")->required();

  auto* status = app.add_subcommand("status", "recording state, footage and storage");
  add_common(status, options, true);

  std::string segments_camera, from, to;
  auto* segments = app.add_subcommand("segments", "list a camera's segments");
  add_common(segments, options, true);
  segments->add_option("--camera", segments_camera, "camera name")->required();
  segments->add_option("--from", from, "ISO-8601 UTC");
  segments->add_option("--to", to, "ISO-8601 UTC");

  auto* segment = app.add_subcommand("segment", "one segment");
  segment->require_subcommand(1);
  int64_t segment_id = 0;
  auto* segment_cat = segment->add_subcommand("cat", "decrypt a segment to fMP4 on stdout");
  add_common(segment_cat, options, false);
  segment_cat->add_option("--id", segment_id, "segment id")->required();

  auto* catalog = app.add_subcommand("catalog", "catalog maintenance");
  catalog->require_subcommand(1);
  auto* catalog_check = catalog->add_subcommand("check", "verify the crash-safety rules");
  add_common(catalog_check, options, true);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  try {
    if (init->parsed()) return cmd_init(options);
    if (camera_add->parsed()) return cmd_camera_add(options, spec);
    if (camera_list->parsed()) return cmd_camera_list(options);
    if (camera_remove->parsed()) return cmd_camera_remove(options, remove_name);
    if (status->parsed()) return cmd_status(options);
    if (segments->parsed()) return cmd_segments(options, segments_camera, from, to);
    if (segment_cat->parsed()) return cmd_segment_cat(options, segment_id);
    if (catalog_check->parsed()) return cmd_catalog_check(options);
  } catch (const std::exception& exception) {
    std::fprintf(stderr, "yardwatch: internal error: %s\n", exception.what());
    return 70;
  }
  return kExitFailure;
}
