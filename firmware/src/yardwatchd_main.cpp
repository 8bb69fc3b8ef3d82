// yardwatchd: the recorder daemon and composition root (DESIGN §3). It resolves its board and
// configuration, waits for the data volume, opens the appliance, recovers from whatever the
// last run left behind, records every configured camera, keeps retention (the sweep every
// minute, disk pressure, overdue holds), serves the web admin and supervises itself: the
// watchdog, the status line, the LEDs and /metrics (firmware/design/supervision.md). Cameras
// added or removed with `yardwatch camera …` are picked up within a few seconds. A data volume
// that goes missing, is swapped or turns read-only stops all recording and retention and closes
// every file on it until the right volume is back; SIGTERM / SIGINT stop cleanly.

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include "verify_page.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/clock_log.h"
#include "yardwatch/firmware/config.h"
#include "yardwatch/firmware/daemon_metrics.h"
#include "yardwatch/firmware/retention.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/firmware/supervisor.h"
#include "yardwatch/firmware/tls_certificate.h"
#include "yardwatch/hal/indicator.h"
#include "yardwatch/hal/removable_media.h"
#include "yardwatch/hal/usb_media.h"
#include "yardwatch/hal/watchdog.h"
#include "yardwatch/recorder/live.h"
#include "yardwatch/recorder/recording.h"
#include "yardwatch/recorder/recovery.h"
#include "yardwatch/web_admin/server.h"

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
constexpr int64_t kSweepIntervalUs = 60'000'000;   // retention sweep and overdue holds
constexpr int64_t kMetricsIntervalUs = 5'000'000;  // Prometheus scrapes every 15 s or so

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

// ---- Retention (recorder/design/retention.md, firmware/design/holds.md) ----
//
// Every call below runs only in a recording session, right after check_volume() said the data
// volume is the right one and writable (and the services re-check it before they unlink
// anything): a swapped, missing or read-only volume never loses a file to the sweeper.

// The sweep, at the start of a session and every minute. A refusal by the clock guard is already
// an alarm and an audit entry, so the log only repeats it.
void sweep_retention(firmware::Services& services, firmware::RetentionMetrics& tally,
                     const hal::Clock& clock) {
  auto report = services.retention.sweep();
  if (!report.ok()) {
    ++tally.sweeps_failed;
    std::fprintf(stderr, "yardwatchd: retention sweep failed: %s\n",
                 report.error().to_string().c_str());
    return;
  }
  if (report.value().refused) {
    ++tally.sweeps_refused;
    std::fprintf(stderr, "yardwatchd: retention sweep refused: %s\n",
                 report.value().clock.reason.c_str());
    return;
  }
  ++tally.sweeps_completed;
  tally.last_completed_utc_us = clock.now_utc_us();
  for (const auto& receipt : report.value().deleted) {
    tally.expired_segments_deleted += static_cast<uint64_t>(receipt.segments);
    tally.expired_bytes_deleted += receipt.bytes;
    std::fprintf(stderr, "yardwatchd: retention: deleted %lld segment(s) of %s\n",
                 static_cast<long long>(receipt.segments), receipt.camera.c_str());
  }
}

// One `holds_overdue` audit entry a day while a hold is past its review-by date.
void audit_overdue_holds(firmware::Services& services) {
  if (auto audited = services.holds.audit_overdue_daily(); !audited.ok()) {
    std::fprintf(stderr, "yardwatchd: overdue holds: %s\n", audited.error().to_string().c_str());
  }
}

// Data subjects' requests closed more than 2 years ago leave the register (R7; audited as
// system). Postponed while the clock is unsynchronised.
void purge_closed_requests(firmware::Services& services) {
  auto purged = services.requests.purge_closed();
  if (!purged.ok()) {
    std::fprintf(stderr, "yardwatchd: request register purge postponed: %s\n",
                 purged.error().to_string().c_str());
  } else if (purged.value().requests > 0) {
    std::fprintf(stderr, "yardwatchd: removed %lld closed request(s) from the register\n",
                 static_cast<long long>(purged.value().requests));
  }
}

// The privacy desk (firmware/design/privacy_desk.md): every minute the breach register's
// automatic entries (made by a trigger, which cannot sign the chain) go on record by `system`,
// and the DPIA reminder (R10) is audited once per DPIA date and state.
void privacy_desk_housekeeping(firmware::Services& services) {
  if (auto audited = services.breaches.audit_new_entries(); !audited.ok()) {
    std::fprintf(stderr, "yardwatchd: breach register: %s\n", audited.error().to_string().c_str());
  }
  if (auto warned = services.dpia.audit_warning(); !warned.ok()) {
    std::fprintf(stderr, "yardwatchd: DPIA reminder: %s\n", warned.error().to_string().c_str());
  }
}

// The monthly access review (firmware/design/kwaliteitskaart.md): once the month has changed,
// one `access_review_ready` entry tells the privacy officer the review of the month just ended
// can be downloaded. Idempotent: the catalog latches the month noted.
void note_access_review_ready(firmware::Services& services) {
  if (auto noted = services.access_review.note_previous_month_ready(); !noted.ok()) {
    std::fprintf(stderr, "yardwatchd: access review note: %s\n", noted.error().to_string().c_str());
  }
}

// Cameras stopped for space stay stopped across a lost data volume and a restart of the daemon:
// their `recording_paused` alarm is still open, so the new recorder starts without them and
// relieve_disk_pressure() resumes them (clearing the alarm, audited) once there is room.
void restore_paused_cameras(recorder::Catalog& catalog, recorder::Recorder& recorder) {
  auto alarms = catalog.open_alarms();
  if (!alarms.ok()) return;
  for (const auto& alarm : alarms.value()) {
    if (alarm.kind == firmware::kAlarmRecordingPaused && alarm.camera_id) {
      recorder.pause(*alarm.camera_id, alarm.message);
    }
  }
}

// Disk pressure: below the reserve the oldest unprotected footage goes; if only protected
// footage is left, the lowest-priority camera stops (and starts again once there is room).
void relieve_disk_pressure(firmware::Services& services, recorder::Recorder& recorder,
                           const firmware::SpaceReserve& reserve,
                           firmware::RetentionMetrics& tally) {
  auto outcome = services.retention.relieve_disk_pressure(reserve, recorder.paused());
  if (!outcome.ok()) {
    std::fprintf(stderr, "yardwatchd: disk pressure: %s\n", outcome.error().to_string().c_str());
    return;
  }
  for (const auto& receipt : outcome.value().deleted) {
    tally.space_segments_deleted += static_cast<uint64_t>(receipt.segments);
    tally.space_bytes_deleted += receipt.bytes;
    std::fprintf(stderr, "yardwatchd: disk pressure: deleted %lld segment(s) of %s early\n",
                 static_cast<long long>(receipt.segments), receipt.camera.c_str());
  }
  if (outcome.value().pause_camera_id) {
    std::fprintf(stderr, "yardwatchd: disk pressure: stopping camera %lld: %s\n",
                 static_cast<long long>(*outcome.value().pause_camera_id),
                 outcome.value().pause_reason.c_str());
    recorder.pause(*outcome.value().pause_camera_id, outcome.value().pause_reason);
  }
  for (int64_t camera_id : outcome.value().resume_camera_ids) {
    std::fprintf(stderr, "yardwatchd: space is back; camera %lld records again\n",
                 static_cast<long long>(camera_id));
    recorder.resume(camera_id);
  }
}

struct WebOptions {
  std::string listen;           // "" = the configuration's (else 0.0.0.0:8443); "off": none
  std::string redirect_listen;  // plain HTTP that only redirects ("" = none)
  std::string metrics_listen;   // plain HTTP /metrics ("" = the configuration's, else none)
  std::string export_dir;       // a directory standing for a USB stick (else the board's sticks)
  int default_retention_days = 28;  // for cameras added in the web admin (the configuration's)
};

// The web admin in this process (DESIGN §3). It never stops the recording: if it cannot start
// (port taken, certificate unreadable), the daemon records on and raises an alarm.
std::unique_ptr<web_admin::WebServer> start_web_admin(firmware::Appliance& appliance,
                                                      firmware::Services& services,
                                                      const WebOptions& web,
                                                      hal::RemovableMedia* media,
                                                      firmware::MetricsBoard& metrics_board) {
  if (web.listen == "off") return nullptr;
  auto problem = [&](const std::string& message) -> std::unique_ptr<web_admin::WebServer> {
    std::fprintf(stderr, "yardwatchd: web admin not started: %s\n", message.c_str());
    (void)appliance.catalog().raise_alarm("web_admin", std::nullopt,
                                          "the web admin could not start: " + message,
                                          appliance.clock().now_utc_us());
    return nullptr;
  };
  auto device_id = appliance.catalog().device_id();
  // Data directories made before the web admin existed get their certificate now.
  if (auto made = firmware::ensure_tls_certificate(appliance.key_dir(),
                                                   device_id.ok() ? device_id.value() : "",
                                                   appliance.clock().now_utc_us());
      !made.ok()) {
    return problem(made.error().message);
  }
  web_admin::ServerOptions options;
  const auto files = firmware::tls_files(appliance.key_dir());
  options.certificate = files.certificate;
  options.private_key = files.private_key;
  auto listen = web_admin::parse_endpoint(web.listen);
  if (!listen.ok()) return problem("--listen: " + listen.error().message);
  options.listen = listen.value();
  if (!web.redirect_listen.empty()) {
    auto redirect = web_admin::parse_endpoint(web.redirect_listen);
    if (!redirect.ok()) return problem("--redirect-listen: " + redirect.error().message);
    options.redirect = redirect.value();
  }
  if (!web.metrics_listen.empty()) {
    auto metrics = web_admin::parse_endpoint(web.metrics_listen);
    if (!metrics.ok()) return problem("--metrics-listen: " + metrics.error().message);
    options.metrics = metrics.value();
  }
  options.media = media;
  options.default_retention_days = web.default_retention_days;
  options.daemon_metrics = [&metrics_board] { return metrics_board.snapshot(); };
  // Every bundle carries the offline verifier page (tools/verify/web).
  services.exports.set_verify_page(verify_page::html());
  services.subject_exports.set_verify_page(verify_page::html());
  auto server = web_admin::WebServer::create(appliance, services, options);
  if (!server.ok()) return problem(server.error().message);
  if (auto started = server.value()->start(); !started.ok()) {
    return problem(started.error().message);
  }
  (void)appliance.catalog().clear_alarm("web_admin", std::nullopt, appliance.clock().now_utc_us());
  auto fingerprint = firmware::tls_certificate_fingerprint(options.certificate);
  std::fprintf(stderr, "yardwatchd: web admin on https://%s:%d/ (certificate SHA-256 %s)\n",
               options.listen.host.c_str(), server.value()->port(),
               fingerprint.ok() ? fingerprint.value().c_str() : "?");
  if (server.value()->metrics_port() > 0) {
    std::fprintf(stderr, "yardwatchd: metrics on http://%s:%d/metrics\n",
                 options.metrics->host.c_str(), server.value()->metrics_port());
  }
  return std::move(server).value();
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
  WebOptions web;
  firmware::SpaceReserve space_reserve;
  firmware::MetricsBoard metrics;
  firmware::RetentionMetrics retention;  // since the daemon started, across sessions
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
  // firmware/design/audit.md §Retention), never past the start of the oldest open hold, so the
  // journal outlives every hold.
  auto keep_from = services.holds.oldest_open_start();
  if (!keep_from.ok()) {
    std::fprintf(stderr, "yardwatchd: audit prune postponed: %s\n",
                 keep_from.error().to_string().c_str());
    return;
  }
  auto pruned = services.audit.prune(firmware::kAuditRetentionUs, keep_from.value());
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
  snapshot.cameras_paused = recorder.paused().size();
  if (auto alarms = catalog.open_alarms(); alarms.ok())
    snapshot.open_alarms = alarms.value().size();
  return snapshot;
}

// What /metrics says about the recorder, retention, the volume and supervision (no names: ids
// and kinds). Every configured camera is listed, also one without a pipeline (stopped for space).
std::string collect_metrics(recorder::Recorder& recorder, recorder::Catalog& catalog,
                            firmware::Services& services, const hal::Clock& clock,
                            const hal::VolumeHealth& volume, bool healthy,
                            const firmware::RetentionMetrics& tally) {
  firmware::DaemonMetrics metrics;
  metrics.now_utc_us = clock.now_utc_us();
  metrics.volume = volume;
  metrics.clock = clock.sync_state();
  metrics.healthy = healthy;
  metrics.retention = tally;
  std::map<int64_t, recorder::CameraStatus> statuses;
  if (auto list = catalog.camera_statuses(); list.ok()) {
    for (auto& status : list.value()) statuses[status.camera_id] = status;
  }
  std::map<int64_t, recorder::CameraHealth> pipelines;
  for (auto& health : recorder.health()) pipelines[health.camera_id] = std::move(health);
  std::map<int64_t, int> effective;
  if (auto status = services.retention.status(); status.ok()) {
    for (const auto& camera : status.value().cameras) {
      effective[camera.camera_id] = camera.effective_retention_days;
    }
    metrics.retention.clock_trusted = status.value().clock.trusted();
    metrics.retention.holds_active = status.value().active_holds;
    metrics.retention.holds_overdue = static_cast<int64_t>(status.value().overdue_holds.size());
  }
  auto cameras = catalog.cameras(false);
  if (!cameras.ok()) return firmware::render_daemon_metrics(metrics);
  for (const auto& configured : cameras.value()) {
    firmware::CameraMetrics camera;
    camera.camera_id = configured.id;
    camera.retention_days = configured.spec.retention_days;
    const auto pipeline = pipelines.find(configured.id);
    if (pipeline != pipelines.end()) {
      camera.alive = pipeline->second.alive;
      camera.stats = pipeline->second.stats;
    }
    camera.paused_for_space = recorder.paused().count(configured.id) != 0;
    const auto status = statuses.find(configured.id);
    camera.state = status != statuses.end() ? status->second.state : "connecting";
    if (const auto days = effective.find(configured.id); days != effective.end()) {
      camera.effective_retention_days = days->second;
    }
    if (auto footage = catalog.footage_summary(configured.id); footage.ok()) {
      camera.oldest_utc_us = footage.value().oldest_utc_us;
    }
    metrics.cameras.push_back(std::move(camera));
  }
  if (auto alarms = catalog.open_alarms(); alarms.ok()) {
    for (const auto& alarm : alarms.value()) ++metrics.alarms_by_kind[alarm.kind];
  }
  return firmware::render_daemon_metrics(metrics);
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
  services.kwaliteitskaart.set_board(options.board);
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
  sweep_retention(services, daemon.retention, clock);
  audit_overdue_holds(services);

  // Live view: the recorder publishes fragments here, viewings read them (declared before the
  // recorder so it outlives it).
  recorder::LiveHub live_hub;
  recorder::Recorder recorder(catalog, appliance.value()->storage(), clock,
                              appliance.value()->keys(), daemon.recording);
  recorder.set_live_hub(&live_hub);
  services.viewing.attach_live(&live_hub);
  restore_paused_cameras(catalog, recorder);
  if (auto status = recorder.sync_cameras(); !status.ok()) {
    std::fprintf(stderr, "yardwatchd: %s\n", status.error().to_string().c_str());
    return SessionEnd::kFailed;
  }
  std::fprintf(stderr, "yardwatchd: recording %zu camera(s) into %s (board %s)\n",
               recorder.camera_count(), options.data_dir.c_str(), options.board.c_str());
  prune_audit(services, catalog, clock);
  purge_closed_requests(services);
  // Police exports from the web admin go to the board's USB sticks (mounted by `yardwatch media
  // mount`), or to a directory standing for one (--export-dir, development and tests).
  std::unique_ptr<hal::RemovableMedia> export_media;
  if (!daemon.web.export_dir.empty()) {
    std::error_code ignored;
    std::filesystem::create_directories(daemon.web.export_dir, ignored);
    export_media = std::make_unique<hal::DirectoryMedia>(
        daemon.web.export_dir, "export directory " + daemon.web.export_dir);
  } else {
    export_media = std::make_unique<hal::UsbMedia>(firmware::usb_media_options(daemon.resolved));
  }
  daemon.metrics.publish(collect_metrics(recorder, catalog, services, clock,
                                         appliance.value()->storage().check_volume(), true,
                                         daemon.retention));
  auto web_server =
      start_web_admin(*appliance.value(), services, daemon.web, export_media.get(), daemon.metrics);

  int64_t last_checkpoint = clock.monotonic_us();
  int64_t last_metrics = 0;
  int64_t last_prune = last_checkpoint;
  int64_t last_sweep = last_checkpoint;
  VolumeAlarms volume_alarms;
  relieve_disk_pressure(services, recorder, daemon.space_reserve, daemon.retention);
  while (!wait_for_stop(1)) {
    const hal::VolumeHealth volume = appliance.value()->storage().check_volume();
    if (!volume.writable()) {
      note_outage(daemon, volume);
      std::fprintf(stderr, "yardwatchd: stopping all cameras and closing the data volume\n");
      if (web_server) web_server->stop();  // it serves from the catalog on the volume
      recorder.stop_all();
      return SessionEnd::kVolumeLost;  // the appliance closes: no file stays open on the volume
    }
    if (auto status = recorder.sync_cameras(); !status.ok()) {
      std::fprintf(stderr, "yardwatchd: camera list: %s\n", status.error().to_string().c_str());
    }
    volume_alarms.update(catalog, volume, clock.now_utc_us());
    log_clock_state(catalog, clock);
    const int64_t now = clock.monotonic_us();
    relieve_disk_pressure(services, recorder, daemon.space_reserve, daemon.retention);
    if (now - last_sweep >= kSweepIntervalUs) {
      last_sweep = now;
      sweep_retention(services, daemon.retention, clock);
      audit_overdue_holds(services);
      privacy_desk_housekeeping(services);
      note_access_review_ready(services);
    }
    if (now - last_checkpoint >= kCheckpointIntervalUs) {
      last_checkpoint = now;
      checkpoint_audit(services, catalog, clock);
    }
    if (now - last_prune >= kPruneIntervalUs) {
      last_prune = now;
      prune_audit(services, catalog, clock);
      purge_closed_requests(services);
    }
    firmware::HealthSnapshot snapshot = snapshot_of(recorder, catalog);
    snapshot.web_admin_down = web_server && !web_server->healthy();
    daemon.supervisor->tick(snapshot);
    // Prometheus scrapes every 15 s or so: a fresh snapshot every 5 s is plenty.
    if (now - last_metrics >= kMetricsIntervalUs) {
      last_metrics = now;
      daemon.metrics.publish(collect_metrics(recorder, catalog, services, clock, volume,
                                             firmware::Supervisor::healthy(snapshot),
                                             daemon.retention));
    }
  }
  daemon.supervisor->stopping();
  if (web_server) web_server->stop();
  std::fprintf(stderr, "yardwatchd: stopping; closing all segments\n");
  recorder.stop_all();
  audit_system(services, "system_stop", "{}");
  checkpoint_audit(services, catalog, clock);
  std::fprintf(stderr, "yardwatchd: stopped\n");
  return SessionEnd::kStopped;
}

struct CommandLine {
  firmware::ApplianceArguments arguments;
  WebOptions web;
  std::optional<int> segment_seconds;
  std::optional<uint64_t> min_free_mb;
  std::optional<uint64_t> space_reserve_mb;
  std::optional<int64_t> space_reserve_seconds;
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
  // Disk pressure (retention): the command line, else the configuration file, else 1 GiB plus
  // two minutes of every recording camera's bitrate.
  daemon.space_reserve.base_bytes =
      command_line.space_reserve_mb.value_or(with_config ? config.space_reserve_mb : 1024) << 20;
  daemon.space_reserve.bitrate_seconds =
      command_line.space_reserve_seconds.value_or(with_config ? config.space_reserve_seconds : 120);
  // The web admin's addresses: the command line, else the configuration file (installed
  // appliances), else the development default.
  daemon.web = command_line.web;
  if (daemon.web.listen.empty()) daemon.web.listen = with_config ? config.listen : "0.0.0.0:8443";
  if (daemon.web.metrics_listen.empty() && with_config) {
    daemon.web.metrics_listen = config.metrics_listen;
  }
  if (with_config) daemon.web.default_retention_days = config.default_retention_days;
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
  app.add_option("--space-reserve-mb", command_line.space_reserve_mb,
                 "below this much free space plus --space-reserve-seconds of every camera's "
                 "bitrate, the oldest footage that is not held is deleted early (0 and 0: never; "
                 "default: the configuration's, else 1024)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 30));
  app.add_option("--space-reserve-seconds", command_line.space_reserve_seconds,
                 "seconds of every recording camera's bitrate in the reserve (default: the "
                 "configuration's, else 120)")
      ->check(CLI::Range(int64_t{0}, int64_t{86400}));
  app.add_option("--listen", command_line.web.listen,
                 "web admin HTTPS address ADDR:PORT, or \"off\" (default: the configuration's "
                 "web.listen, else 0.0.0.0:8443)");
  app.add_option("--redirect-listen", command_line.web.redirect_listen,
                 "plain-HTTP ADDR:PORT that only redirects to the web admin");
  app.add_option("--export-dir", command_line.web.export_dir,
                 "directory that police export bundles from the web admin are written to "
                 "(stands for a USB stick; default: the board's USB sticks)");
  app.add_option("--metrics-listen", command_line.web.metrics_listen,
                 "plain-HTTP ADDR:PORT serving /metrics (default: the configuration's "
                 "web.metrics_listen, else none)");
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
