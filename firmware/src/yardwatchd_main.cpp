// yardwatchd: the recorder daemon and composition root (DESIGN §3). It resolves its board and
// configuration, waits for the data volume, opens the appliance, recovers from whatever the
// last run left behind, records every configured camera and supervises itself: the watchdog,
// the status line and the LEDs (firmware/design/supervision.md). Cameras added or removed with
// `yardwatch camera …` are picked up within a few seconds. A data volume that goes missing, is
// swapped or turns read-only stops all recording and closes every file on it until the right
// volume is back; SIGTERM / SIGINT stop cleanly.

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/clock_log.h"
#include "yardwatch/firmware/config.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/firmware/supervisor.h"
#include "yardwatch/hal/indicator.h"
#include "yardwatch/hal/watchdog.h"
#include "yardwatch/recorder/recording.h"
#include "yardwatch/recorder/recovery.h"

namespace {

using namespace yardwatch;

// Logs the clock's synchronisation state when it changes (and at start): police bundles state,
// for each file, whether the clock was synchronised while it was recorded (issue 5).
void log_clock_state(recorder::Catalog& catalog, const hal::Clock& clock) {
  auto logged = firmware::record_clock_state(catalog, clock);
  if (!logged.ok()) {
    std::fprintf(stderr, "yardwatchd: clock state log: %s\n", logged.error().to_string().c_str());
  } else if (logged.value()) {
    std::fprintf(stderr, "yardwatchd: clock is %s\n",
                 std::string(hal::sync_state_name(clock.sync_state())).c_str());
  }
}

constexpr int64_t kCheckpointIntervalUs = 3600'000'000LL;  // R6: a signed head every hour
constexpr int64_t kPruneIntervalUs = 24 * kCheckpointIntervalUs;

// The signals that stop the daemon, taken synchronously by the main thread (every other thread
// has them blocked). true: a stop was asked for.
bool wait_for_stop(int seconds) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  timespec timeout{seconds, 0};
  const int received = sigtimedwait(&signals, nullptr, &timeout);
  if (received == SIGTERM || received == SIGINT) return true;
  return received < 0 && errno != EAGAIN && errno != EINTR;
}

// A period without a usable data volume, recorded in the catalog once the volume is back (the
// alarm history feeds the breach register, R8).
struct VolumeOutage {
  struct Episode {
    hal::VolumeState state;
    std::string message;
    int64_t since_utc_us;
  };
  std::vector<Episode> episodes;  // each change of state or message while it lasted
};

struct Daemon {
  firmware::ResolvedAppliance resolved;
  recorder::RecordingConfig recording;
  std::unique_ptr<hal::Clock> clock;
  hal::SystemdWatchdog watchdog;
  std::unique_ptr<hal::Indicator> indicator;
  std::unique_ptr<firmware::Supervisor> supervisor;
  std::optional<VolumeOutage> outage;
};

enum class SessionEnd { kStopped, kVolumeLost, kFailed };

void note_outage(Daemon& daemon, const hal::VolumeHealth& health) {
  if (!daemon.outage) daemon.outage = VolumeOutage{};
  auto& episodes = daemon.outage->episodes;
  if (!episodes.empty() && episodes.back().message == health.message) return;
  std::fprintf(stderr,
               "yardwatchd: ALARM: data volume %s: %s; nothing is recorded until it is back\n",
               std::string(hal::volume_state_name(health.state)).c_str(), health.message.c_str());
  episodes.push_back({health.state, health.message, daemon.clock->now_utc_us()});
}

// Waits until the data volume is there, the right one and writable. The daemon stays up (alive,
// ready, feeding the watchdog, the alarm LED blinking): restarting it cannot bring a disk back.
// true: a stop was asked for meanwhile.
bool wait_for_volume(Daemon& daemon) {
  const hal::DirectoryStorage probe(daemon.resolved.options.data_dir,
                                    daemon.resolved.options.volume);
  while (true) {
    const hal::VolumeHealth health = probe.check_volume();
    if (health.writable()) return false;
    note_outage(daemon, health);
    firmware::HealthSnapshot snapshot;
    snapshot.volume_writable = false;
    snapshot.volume_problem = health.message;
    daemon.supervisor->tick(snapshot);
    if (wait_for_stop(1)) return true;
  }
}

void audit_system(firmware::Services& services, const std::string& action,
                  const std::string& details) {
  firmware::AuditEvent event;
  event.action = action;
  event.object_type = "system";
  event.details = details;
  if (auto appended = services.audit.append(firmware::Actor::system(), event); !appended.ok()) {
    std::fprintf(stderr, "yardwatchd: audit journal: %s\n", appended.error().to_string().c_str());
  }
}

// The outage, now that the volume is back: an alarm raised at its start and cleared now, and an
// audit entry — what happened while nothing could be written.
void record_outage(Daemon& daemon, recorder::Catalog& catalog, firmware::Services& services) {
  if (!daemon.outage) return;
  const auto& episodes = daemon.outage->episodes;
  const int64_t now = daemon.clock->now_utc_us();
  nlohmann::json history = nlohmann::json::array();
  for (size_t i = 0; i < episodes.size(); ++i) {
    const auto& episode = episodes[i];
    const int64_t until = i + 1 < episodes.size() ? episodes[i + 1].since_utc_us : now;
    const std::string state(hal::volume_state_name(episode.state));
    (void)catalog.raise_alarm("storage_" + state, std::nullopt, episode.message,
                              episode.since_utc_us);
    (void)catalog.clear_alarm("storage_" + state, std::nullopt, until);
    history.push_back({{"state", state},
                       {"message", episode.message},
                       {"from", hal::format_iso8601_utc(episode.since_utc_us)},
                       {"to", hal::format_iso8601_utc(until)}});
  }
  audit_system(services, "storage_outage", nlohmann::json{{"episodes", history}}.dump());
  std::fprintf(stderr, "yardwatchd: the data volume is back; recording resumes\n");
  daemon.outage.reset();
}

void prune_audit(firmware::Services& services, recorder::Catalog& catalog,
                 const hal::Clock& clock) {
  // The journal is pruned after its retention term (2 years) at start and once a day (R6,
  // firmware/design/audit.md §Retention). Holds do not exist yet; once they do, the start of the
  // oldest open hold is passed as keep_from so the journal outlives every hold.
  auto pruned = services.audit.prune(firmware::kAuditRetentionUs, std::nullopt);
  if (pruned.ok()) {
    if (pruned.value().through_seq) {
      std::fprintf(stderr, "yardwatchd: audit journal pruned through entry %lld (%lld entries)\n",
                   static_cast<long long>(*pruned.value().through_seq),
                   static_cast<long long>(pruned.value().entries));
    }
    return;
  }
  // An unsynchronised clock only postpones pruning (the journal is kept a little longer);
  // `yardwatch status` already shows the clock state.
  if (pruned.error().kind == ErrorKind::kUnavailable) {
    std::fprintf(stderr, "yardwatchd: audit prune postponed: %s\n", pruned.error().message.c_str());
    return;
  }
  std::fprintf(stderr, "yardwatchd: audit prune refused: %s\n", pruned.error().to_string().c_str());
  const bool tampered = pruned.error().kind == ErrorKind::kDataLoss;
  (void)catalog.raise_alarm(tampered ? "audit_tamper" : "audit_prune", std::nullopt,
                            (tampered ? "the audit journal does not verify: "
                                      : "the audit journal could not be pruned: ") +
                                pruned.error().message,
                            clock.now_utc_us());
}

void checkpoint_audit(firmware::Services& services, recorder::Catalog& catalog,
                      const hal::Clock& clock) {
  if (auto signed_head = services.audit.checkpoint(); !signed_head.ok()) {
    // The device refuses to sign a chain that does not check out (R6, R8): say so loudly.
    std::fprintf(stderr, "yardwatchd: audit checkpoint refused: %s\n",
                 signed_head.error().to_string().c_str());
    (void)catalog.raise_alarm("audit_tamper", std::nullopt,
                              "the audit journal does not verify: " + signed_head.error().message,
                              clock.now_utc_us());
  }
}

// Alarms about a volume that is still writable: filesystem errors recorded by the kernel and a
// SMART verdict of a failing disk. Written only when they change (the catalog is on flash; a
// write per second would wear it for nothing); the first tick of a session settles both.
struct VolumeAlarms {
  std::optional<bool> filesystem_errors;
  std::optional<bool> smart_failing;

  void update(recorder::Catalog& catalog, const hal::VolumeHealth& health, int64_t now) {
    const bool errors = health.filesystem_errors > 0;
    if (filesystem_errors != errors) {
      const Status written = errors ? catalog.raise_alarm("storage_errors", std::nullopt,
                                                          health.filesystem_error_detail, now)
                                    : catalog.clear_alarm("storage_errors", std::nullopt, now);
      if (written.ok()) filesystem_errors = errors;
    }
    if (!health.smart) return;  // no report (yet): leave the last verdict standing
    const bool failing = health.smart->supported && !health.smart->passed;
    if (smart_failing != failing) {
      const Status written =
          failing ? catalog.raise_alarm("disk_smart", std::nullopt, health.smart->summary, now)
                  : catalog.clear_alarm("disk_smart", std::nullopt, now);
      if (written.ok()) smart_failing = failing;
    }
  }
};

firmware::HealthSnapshot snapshot_of(recorder::Recorder& recorder, recorder::Catalog& catalog) {
  firmware::HealthSnapshot snapshot;
  const auto cameras = recorder.health();
  snapshot.cameras = cameras.size();
  std::set<int64_t> ids;
  for (const auto& camera : cameras) {
    ids.insert(camera.camera_id);
    if (!camera.alive) snapshot.stuck_cameras.push_back(camera.name);
  }
  if (auto statuses = catalog.camera_statuses(); statuses.ok()) {
    for (const auto& status : statuses.value()) {
      if (ids.count(status.camera_id) != 0 && status.state == "recording") {
        ++snapshot.cameras_recording;
      }
    }
  }
  if (auto alarms = catalog.open_alarms(); alarms.ok())
    snapshot.open_alarms = alarms.value().size();
  return snapshot;
}

// One stretch of recording on a present, writable data volume.
SessionEnd record(Daemon& daemon) {
  const firmware::ApplianceOptions& options = daemon.resolved.options;
  auto appliance = firmware::Appliance::open(options);
  if (!appliance.ok()) {
    // The volume may have gone again since it was checked; anything else (a TPM that does not
    // answer, a damaged catalog) is for systemd to restart us over, not for a tight loop here.
    if (!hal::DirectoryStorage(options.data_dir, options.volume).check_volume().writable()) {
      return SessionEnd::kVolumeLost;
    }
    std::fprintf(stderr, "yardwatchd: %s\n", appliance.error().message.c_str());
    return SessionEnd::kFailed;
  }
  auto lock = firmware::RecorderLock::acquire(options.data_dir);
  if (!lock.ok()) {
    std::fprintf(stderr, "yardwatchd: %s\n", lock.error().message.c_str());
    return SessionEnd::kFailed;
  }
  auto& catalog = appliance.value()->catalog();
  const hal::Clock& clock = appliance.value()->clock();
  // A killed predecessor leaves its last camera states behind; nothing records until the
  // cameras are connected again, so say so before recovery starts.
  if (auto cameras = catalog.cameras(false); cameras.ok()) {
    const int64_t now = clock.now_utc_us();
    for (const auto& camera : cameras.value()) {
      (void)catalog.set_camera_status(
          {camera.id, "connecting", "yardwatchd is starting", now, now});
    }
  }
  firmware::Services services(*appliance.value());
  log_clock_state(catalog, clock);
  audit_system(services, "system_start", "{}");
  auto report =
      recorder::recover_data_dir(catalog, appliance.value()->storage(), appliance.value()->keys());
  if (!report.ok()) {
    std::fprintf(stderr, "yardwatchd: recovery failed: %s\n", report.error().to_string().c_str());
    return SessionEnd::kFailed;
  }
  for (const auto& note : report.value().notes) {
    std::fprintf(stderr, "yardwatchd: recovery: %s\n", note.c_str());
  }
  if (!report.value().notes.empty()) {
    const auto& r = report.value();
    audit_system(services, "recovery",
                 "{\"segments_recovered\":" + std::to_string(r.segments_recovered) +
                     ",\"rows_removed\":" + std::to_string(r.rows_removed) +
                     ",\"orphan_files_removed\":" + std::to_string(r.orphan_files_removed) +
                     ",\"garbage_finished\":" + std::to_string(r.garbage_finished) +
                     ",\"bytes_discarded\":" + std::to_string(r.bytes_discarded) + "}");
  }
  record_outage(daemon, catalog, services);
  if (!options.config_file.empty()) {
    if (auto applied =
            firmware::apply_policy_settings(daemon.resolved.config, catalog, services.audit);
        !applied.ok()) {
      std::fprintf(stderr, "yardwatchd: policy settings: %s\n",
                   applied.error().to_string().c_str());
    }
  }

  recorder::Recorder recorder(catalog, appliance.value()->storage(), clock,
                              appliance.value()->keys(), daemon.recording);
  if (auto status = recorder.sync_cameras(); !status.ok()) {
    std::fprintf(stderr, "yardwatchd: %s\n", status.error().to_string().c_str());
    return SessionEnd::kFailed;
  }
  std::fprintf(stderr, "yardwatchd: recording %zu camera(s) into %s (board %s)\n",
               recorder.camera_count(), options.data_dir.c_str(), options.board.c_str());
  prune_audit(services, catalog, clock);

  int64_t last_checkpoint = clock.monotonic_us();
  int64_t last_prune = last_checkpoint;
  VolumeAlarms volume_alarms;
  while (!wait_for_stop(1)) {
    const hal::VolumeHealth volume = appliance.value()->storage().check_volume();
    if (!volume.writable()) {
      note_outage(daemon, volume);
      std::fprintf(stderr, "yardwatchd: stopping all cameras and closing the data volume\n");
      recorder.stop_all();
      return SessionEnd::kVolumeLost;  // the appliance closes: no file stays open on the volume
    }
    if (auto status = recorder.sync_cameras(); !status.ok()) {
      std::fprintf(stderr, "yardwatchd: camera list: %s\n", status.error().to_string().c_str());
    }
    volume_alarms.update(catalog, volume, clock.now_utc_us());
    log_clock_state(catalog, clock);
    const int64_t now = clock.monotonic_us();
    if (now - last_checkpoint >= kCheckpointIntervalUs) {
      last_checkpoint = now;
      checkpoint_audit(services, catalog, clock);
    }
    if (now - last_prune >= kPruneIntervalUs) {
      last_prune = now;
      prune_audit(services, catalog, clock);
    }
    daemon.supervisor->tick(snapshot_of(recorder, catalog));
  }
  daemon.supervisor->stopping();
  std::fprintf(stderr, "yardwatchd: stopping; closing all segments\n");
  recorder.stop_all();
  audit_system(services, "system_stop", "{}");
  checkpoint_audit(services, catalog, clock);
  std::fprintf(stderr, "yardwatchd: stopped\n");
  return SessionEnd::kStopped;
}

struct CommandLine {
  firmware::ApplianceArguments arguments;
  std::optional<int> segment_seconds;
  std::optional<uint64_t> min_free_mb;
};

int run(const CommandLine& command_line) {
  auto resolved = firmware::resolve_appliance(command_line.arguments);
  if (!resolved.ok()) {
    std::fprintf(stderr, "yardwatchd: refusing to start:\n%s\n", resolved.error().message.c_str());
    return 1;
  }
  Daemon daemon;
  daemon.resolved = std::move(resolved).value();
  const firmware::Config& config = daemon.resolved.config;
  const bool with_config = !daemon.resolved.options.config_file.empty();
  // Without a configuration file (development, tests) the old defaults stay.
  const int segment_seconds =
      command_line.segment_seconds.value_or(with_config ? config.segment_seconds : 60);
  const uint64_t min_free_mb =
      command_line.min_free_mb.value_or(with_config ? config.min_free_mb : 16);
  daemon.recording.segmenter.segment_duration_us =
      static_cast<int64_t>(segment_seconds) * 1'000'000;
  daemon.recording.min_free_bytes = min_free_mb << 20;
  auto clock = hal::make_board_clock(daemon.resolved.board.name);
  if (!clock.ok()) {
    std::fprintf(stderr, "yardwatchd: %s\n", clock.error().message.c_str());
    return 1;
  }
  daemon.clock = std::move(clock).value();
  daemon.indicator = std::make_unique<hal::SysfsIndicator>(daemon.resolved.board.leds_root,
                                                           daemon.resolved.board.leds);
  daemon.supervisor = std::make_unique<firmware::Supervisor>(daemon.watchdog, *daemon.indicator);
  if (daemon.clock->now_utc_us() < hal::kEarliestPlausibleUtcUs) {
    std::fprintf(stderr,
                 "yardwatchd: ALARM: the clock says %s: it was never set (no NTP yet, or a dead "
                 "RTC battery); recordings are stamped with this time until it is\n",
                 hal::format_iso8601_utc(daemon.clock->now_utc_us()).c_str());
  }
  while (true) {
    if (wait_for_volume(daemon)) {
      daemon.supervisor->stopping();
      return 0;
    }
    switch (record(daemon)) {
      case SessionEnd::kStopped:
        return 0;
      case SessionEnd::kFailed:
        return 1;
      case SessionEnd::kVolumeLost:
        continue;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Block before any thread exists so that all threads inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{"yardwatchd — records the schoolyard cameras into encrypted segments"};
  CommandLine command_line;
  app.add_option("--config", command_line.arguments.config_file,
                 "configuration file (default /etc/yardwatch/yardwatch.toml when --data is not "
                 "given)");
  app.add_option("--data", command_line.arguments.data_dir,
                 "data directory (default: from the configuration)");
  app.add_option("--key-dir", command_line.arguments.key_dir,
                 "key directory (default: the board's, else <data>.keys)");
  app.add_option("--board", command_line.arguments.board,
                 "board: host-sim, x86-generic, rpi-cm4 (default: the configuration's, else "
                 "host-sim)");
  app.add_option("--segment-seconds", command_line.segment_seconds,
                 "segment length in seconds (default: the configuration's, else 60)")
      ->check(CLI::Range(2, 3600));
  app.add_option("--min-free-mb", command_line.min_free_mb,
                 "free space (MiB) below which no new segment is started (default: the "
                 "configuration's, else 16)")
      ->check(CLI::Range(1, 1 << 20));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  try {
    return run(command_line);
  } catch (const std::exception& exception) {
    std::fprintf(stderr, "yardwatchd: internal error: %s\n", exception.what());
    return 70;
  }
}
