// yardwatchd: the recorder daemon and composition root (DESIGN §3). It opens the appliance,
// recovers from whatever the last run left behind, records every configured camera and stops
// cleanly on SIGTERM / SIGINT. Cameras added or removed with `yardwatch camera …` are picked up
// within a few seconds.

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <ctime>

#include "verify_page.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/clock_log.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/firmware/tls_certificate.h"
#include "yardwatch/hal/removable_media.h"
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

constexpr int64_t kSweepIntervalUs = 60'000'000;

// Retention (recorder/design/retention.md): the sweep runs at start and every minute; a refusal
// by the clock guard is already an alarm and an audit entry, so the log only repeats it.
void sweep_retention(firmware::Services& services) {
  auto report = services.retention.sweep();
  if (!report.ok()) {
    std::fprintf(stderr, "yardwatchd: retention sweep failed: %s\n",
                 report.error().to_string().c_str());
    return;
  }
  if (report.value().refused) {
    std::fprintf(stderr, "yardwatchd: retention sweep refused: %s\n",
                 report.value().clock.reason.c_str());
  }
  for (const auto& receipt : report.value().deleted) {
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

// Disk pressure: below the reserve the oldest unprotected footage goes; if only protected
// footage is left, the lowest-priority camera stops (and starts again once there is room).
void relieve_disk_pressure(firmware::Services& services, recorder::Recorder& recorder,
                           const firmware::SpaceReserve& reserve) {
  auto outcome = services.retention.relieve_disk_pressure(reserve, recorder.paused());
  if (!outcome.ok()) {
    std::fprintf(stderr, "yardwatchd: disk pressure: %s\n", outcome.error().to_string().c_str());
    return;
  }
  for (const auto& receipt : outcome.value().deleted) {
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
  std::string listen = "0.0.0.0:8443";  // "off": no web admin
  std::string redirect_listen;          // plain HTTP that only redirects ("" = none)
  std::string metrics_listen;           // plain HTTP /metrics for a local Prometheus
  std::string export_dir;  // a directory standing in for USB media for police exports (host-sim)
};

// The web admin in this process (DESIGN §3). It never stops the recording: if it cannot start
// (port taken, certificate unreadable), the daemon records on and raises an alarm.
std::unique_ptr<web_admin::WebServer> start_web_admin(firmware::Appliance& appliance,
                                                      firmware::Services& services,
                                                      const WebOptions& web,
                                                      hal::RemovableMedia* media) {
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
  // Every bundle carries the offline verifier page (tools/verify/web).
  services.exports.set_verify_page(verify_page::html());
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
  return std::move(server).value();
}

int run(const firmware::ApplianceOptions& options, int segment_seconds, uint64_t min_free_mb,
        const WebOptions& web, const firmware::SpaceReserve& reserve) {
  auto appliance = firmware::Appliance::open(options);
  if (!appliance.ok()) {
    std::fprintf(stderr, "yardwatchd: %s\n", appliance.error().message.c_str());
    return 1;
  }
  auto lock = firmware::RecorderLock::acquire(options.data_dir);
  if (!lock.ok()) {
    std::fprintf(stderr, "yardwatchd: %s\n", lock.error().message.c_str());
    return 1;
  }
  auto& catalog = appliance.value()->catalog();
  // A killed predecessor leaves its last camera states behind; nothing records until the
  // cameras are connected again, so say so before recovery starts.
  if (auto cameras = catalog.cameras(false); cameras.ok()) {
    const int64_t now = appliance.value()->clock().now_utc_us();
    for (const auto& camera : cameras.value()) {
      (void)catalog.set_camera_status(
          {camera.id, "connecting", "yardwatchd is starting", now, now});
    }
  }
  firmware::Services services(*appliance.value());
  log_clock_state(catalog, appliance.value()->clock());
  auto audit_system = [&](const std::string& action, const std::string& details) {
    firmware::AuditEvent event;
    event.action = action;
    event.object_type = "system";
    event.details = details;
    if (auto appended = services.audit.append(firmware::Actor::system(), event); !appended.ok()) {
      std::fprintf(stderr, "yardwatchd: audit journal: %s\n", appended.error().to_string().c_str());
    }
  };
  audit_system("system_start", "{}");
  auto report =
      recorder::recover_data_dir(catalog, appliance.value()->storage(), appliance.value()->keys());
  if (!report.ok()) {
    std::fprintf(stderr, "yardwatchd: recovery failed: %s\n", report.error().to_string().c_str());
    return 1;
  }
  for (const auto& note : report.value().notes) {
    std::fprintf(stderr, "yardwatchd: recovery: %s\n", note.c_str());
  }
  if (!report.value().notes.empty()) {
    const auto& r = report.value();
    audit_system("recovery",
                 "{\"segments_recovered\":" + std::to_string(r.segments_recovered) +
                     ",\"rows_removed\":" + std::to_string(r.rows_removed) +
                     ",\"orphan_files_removed\":" + std::to_string(r.orphan_files_removed) +
                     ",\"garbage_finished\":" + std::to_string(r.garbage_finished) +
                     ",\"bytes_discarded\":" + std::to_string(r.bytes_discarded) + "}");
  }

  sweep_retention(services);
  audit_overdue_holds(services);

  recorder::RecordingConfig config;
  config.segmenter.segment_duration_us = static_cast<int64_t>(segment_seconds) * 1'000'000;
  config.min_free_bytes = min_free_mb << 20;
  // Live view: the recorder publishes fragments here, viewings read them (declared before the
  // recorder so it outlives it).
  recorder::LiveHub live_hub;
  recorder::Recorder recorder(catalog, appliance.value()->storage(), appliance.value()->clock(),
                              appliance.value()->keys(), config);
  recorder.set_live_hub(&live_hub);
  services.viewing.attach_live(&live_hub);
  if (auto status = recorder.sync_cameras(); !status.ok()) {
    std::fprintf(stderr, "yardwatchd: %s\n", status.error().to_string().c_str());
    return 1;
  }
  std::fprintf(stderr, "yardwatchd: recording %zu camera(s) into %s\n", recorder.camera_count(),
               options.data_dir.c_str());

  // The journal is pruned after its retention term (2 years) at start and once a day (R6,
  // firmware/design/audit.md §Retention), never past the start of the oldest open hold, so the
  // journal outlives every hold.
  auto prune_audit = [&]() {
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
      std::fprintf(stderr, "yardwatchd: audit prune postponed: %s\n",
                   pruned.error().message.c_str());
      return;
    }
    std::fprintf(stderr, "yardwatchd: audit prune refused: %s\n",
                 pruned.error().to_string().c_str());
    const bool tampered = pruned.error().kind == ErrorKind::kDataLoss;
    (void)catalog.raise_alarm(tampered ? "audit_tamper" : "audit_prune", std::nullopt,
                              (tampered ? "the audit journal does not verify: "
                                        : "the audit journal could not be pruned: ") +
                                  pruned.error().message,
                              appliance.value()->clock().now_utc_us());
  };
  prune_audit();
  // Police exports from the web admin go to this medium (until the board's USB handling
  // arrives, a directory given with --export-dir).
  std::unique_ptr<hal::DirectoryMedia> export_media;
  if (!web.export_dir.empty()) {
    std::error_code ignored;
    std::filesystem::create_directories(web.export_dir, ignored);
    export_media =
        std::make_unique<hal::DirectoryMedia>(web.export_dir, "export directory " + web.export_dir);
  }
  auto web_server = start_web_admin(*appliance.value(), services, web, export_media.get());

  // Signals are taken synchronously in this thread; every other thread has them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  // The device signs a checkpoint of the audit chain every hour and at shutdown (R6).
  constexpr int64_t kCheckpointIntervalUs = 3600'000'000LL;
  constexpr int64_t kPruneIntervalUs = 24 * kCheckpointIntervalUs;
  int64_t last_checkpoint = appliance.value()->clock().monotonic_us();
  int64_t last_prune = last_checkpoint;
  int64_t last_sweep = last_checkpoint;
  relieve_disk_pressure(services, recorder, reserve);
  while (true) {
    timespec timeout{2, 0};
    int received = sigtimedwait(&signals, nullptr, &timeout);
    if (received == SIGTERM || received == SIGINT) break;
    if (received < 0 && errno != EAGAIN && errno != EINTR) break;
    if (auto status = recorder.sync_cameras(); !status.ok()) {
      std::fprintf(stderr, "yardwatchd: camera list: %s\n", status.error().to_string().c_str());
    }
    log_clock_state(catalog, appliance.value()->clock());
    const int64_t now = appliance.value()->clock().monotonic_us();
    relieve_disk_pressure(services, recorder, reserve);
    if (now - last_sweep >= kSweepIntervalUs) {
      last_sweep = now;
      sweep_retention(services);
      audit_overdue_holds(services);
      privacy_desk_housekeeping(services);
    }
    if (now - last_checkpoint >= kCheckpointIntervalUs) {
      last_checkpoint = now;
      if (auto signed_head = services.audit.checkpoint(); !signed_head.ok()) {
        // The device refuses to sign a chain that does not check out (R6, R8): say so loudly.
        std::fprintf(stderr, "yardwatchd: audit checkpoint refused: %s\n",
                     signed_head.error().to_string().c_str());
        (void)catalog.raise_alarm(
            "audit_tamper", std::nullopt,
            "the audit journal does not verify: " + signed_head.error().message,
            appliance.value()->clock().now_utc_us());
      }
    }
    if (now - last_prune >= kPruneIntervalUs) {
      last_prune = now;
      prune_audit();
    }
  }
  if (web_server) web_server->stop();
  std::fprintf(stderr, "yardwatchd: stopping; closing all segments\n");
  recorder.stop_all();
  audit_system("system_stop", "{}");
  if (auto signed_head = services.audit.checkpoint(); !signed_head.ok()) {
    std::fprintf(stderr, "yardwatchd: audit checkpoint refused: %s\n",
                 signed_head.error().to_string().c_str());
    (void)catalog.raise_alarm("audit_tamper", std::nullopt,
                              "the audit journal does not verify: " + signed_head.error().message,
                              appliance.value()->clock().now_utc_us());
  }
  std::fprintf(stderr, "yardwatchd: stopped\n");
  return 0;
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
  firmware::ApplianceOptions options;
  int segment_seconds = 60;
  uint64_t min_free_mb = 16;
  uint64_t reserve_mb = 1024;
  int64_t reserve_seconds = 120;
  app.add_option("--data", options.data_dir, "data directory")->required();
  app.add_option("--key-dir", options.key_dir, "key directory (default: <data>.keys)");
  app.add_option("--board", options.board, "board name")->capture_default_str();
  app.add_option("--segment-seconds", segment_seconds, "segment length in seconds")
      ->check(CLI::Range(2, 3600))
      ->capture_default_str();
  app.add_option("--min-free-mb", min_free_mb,
                 "free space (MiB) below which no new segment is started")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--space-reserve-mb", reserve_mb,
                 "below this much free space plus --space-reserve-seconds of every camera's "
                 "bitrate, the oldest footage that is not held is deleted early (0 and 0: never)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 30))
      ->capture_default_str();
  app.add_option("--space-reserve-seconds", reserve_seconds,
                 "seconds of every recording camera's bitrate in the reserve")
      ->check(CLI::Range(int64_t{0}, int64_t{86400}))
      ->capture_default_str();
  WebOptions web;
  app.add_option("--listen", web.listen, "web admin HTTPS address ADDR:PORT, or \"off\"")
      ->capture_default_str();
  app.add_option("--redirect-listen", web.redirect_listen,
                 "plain-HTTP ADDR:PORT that only redirects to the web admin");
  app.add_option("--export-dir", web.export_dir,
                 "directory that police export bundles from the web admin are written to "
                 "(stands for a USB stick)");
  app.add_option("--metrics-listen", web.metrics_listen,
                 "plain-HTTP ADDR:PORT serving /metrics (bind it to a management address)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  try {
    firmware::SpaceReserve reserve;
    reserve.base_bytes = reserve_mb << 20;
    reserve.bitrate_seconds = reserve_seconds;
    return run(options, segment_seconds, min_free_mb, web, reserve);
  } catch (const std::exception& exception) {
    std::fprintf(stderr, "yardwatchd: internal error: %s\n", exception.what());
    return 70;
  }
}
