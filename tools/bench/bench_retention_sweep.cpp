// bench_retention_sweep: the cost of one retention sweep (issue #4) on a large catalog.
//
// Builds an appliance catalog with --segments rows spread over --cameras cameras (through the
// catalog's own API, in one transaction; 72-byte wrapped keys and 32-byte hashes like real
// rows), of which exactly --expired have ended more than 28 days before "now", optionally with
// --holds protected ranges over expired footage. Then, for each of --runs runs on a fresh copy
// of that catalog, runs the sweep yardwatchd runs (firmware::RetentionService::sweep: clock
// guard, hold requests, marking with the deletion receipts in one transaction, WAL checkpoint,
// unlink, row removal) and times each phase through the deletion observer.
//
// Segment files are not created by default: the sweep's unlink of a missing file costs one
// failed unlink(2) each, and unlink time of a real filesystem is excluded from the target
// anyway. --files creates an empty stand-in file per expired segment so the unlink phase is
// real; it is reported on its own line either way.
//
//   bench_retention_sweep [--segments 1000000] [--expired 100000] [--cameras 16] [--holds 0]
//                         [--runs 3] [--files] [--dir DIR]

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/retention.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/unique_fd.h"
#include "yardwatch/recorder/data_dir.h"
#include "yardwatch/recorder/sqlite.h"

namespace {

using namespace yardwatch;
namespace fs = std::filesystem;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kDay = 24 * 3600 * kSecond;

struct Options {
  int64_t segments = 1'000'000;
  int64_t expired = 100'000;
  int cameras = 16;
  int holds = 0;
  int runs = 3;
  bool files = false;
  fs::path dir;
};

struct Layout {
  int64_t start_utc_us = 0;
  int64_t segment_us = 0;
  int64_t now_utc_us = 0;
};

double seconds_since(const hal::Clock& clock, int64_t start_us) {
  return static_cast<double>(clock.monotonic_us() - start_us) / 1e6;
}

int fail(const std::string& what, const Error& error) {
  std::fprintf(stderr, "bench_retention_sweep: %s: %s\n", what.c_str(), error.message.c_str());
  return 1;
}

// Per camera: `per_camera` contiguous segments; the first `expired_per_camera` end more than
// 28 days before now, the rest within the last 28 days, the newest ending just before now.
Layout plan(const Options& options) {
  const int64_t per_camera = options.segments / options.cameras;
  const int64_t expired_per_camera = options.expired / options.cameras;
  Layout layout;
  layout.start_utc_us = hal::parse_iso8601_utc_us("2026-01-05T00:00:00Z").value();
  // The unexpired part (per_camera − expired_per_camera segments) spans 28 days.
  layout.segment_us = 28 * kDay / (per_camera - expired_per_camera);
  layout.now_utc_us =
      layout.start_utc_us + expired_per_camera * layout.segment_us + 28 * kDay + 1;
  return layout;
}

int build(const Options& options, const fs::path& root, const Layout& layout) {
  firmware::ApplianceOptions appliance_options{root / "data", root / "keys", "host-sim"};
  auto appliance = firmware::Appliance::init(appliance_options);
  if (!appliance.ok()) return fail("init", appliance.error());
  auto& catalog = appliance.value()->catalog();
  hal::SystemClock clock;
  const int64_t started = clock.monotonic_us();
  std::mt19937_64 random(42);
  std::vector<uint8_t> key(72);
  std::vector<uint8_t> sha(32);
  const int64_t per_camera = options.segments / options.cameras;
  const int64_t expired_per_camera = options.expired / options.cameras;
  std::lock_guard lock(catalog.mutex());
  auto transaction = recorder::sql::Transaction::begin(catalog.database());
  if (!transaction.ok()) return fail("begin", transaction.error());
  std::vector<int64_t> camera_ids;
  for (int c = 0; c < options.cameras; ++c) {
    recorder::CameraSpec spec;
    spec.name = "camera-" + std::to_string(c + 1);
    spec.url = "rtsp://192.0.2.1/" + spec.name;
    spec.zone = "schoolyard";
    auto camera = catalog.add_camera(spec, layout.start_utc_us);
    if (!camera.ok()) return fail("camera", camera.error());
    camera_ids.push_back(camera.value().id);
  }
  // Interleaved by time, as cameras record side by side.
  for (int64_t i = 0; i < per_camera; ++i) {
    for (int c = 0; c < options.cameras; ++c) {
      const int64_t start = layout.start_utc_us + i * layout.segment_us;
      for (auto& byte : key) byte = static_cast<uint8_t>(random());
      for (auto& byte : sha) byte = static_cast<uint8_t>(random());
      auto row = catalog.begin_segment({camera_ids[static_cast<size_t>(c)], start, "h264", 1920,
                                        1080},
                                       [&](int64_t) { return key; });
      if (!row.ok()) return fail("segment", row.error());
      auto done = catalog.complete_segment(
          row.value().id, {start + layout.segment_us, 4'000'000, 30, sha});
      if (!done.ok()) return fail("segment", done.error());
      if (options.files && i < expired_per_camera) {
        const auto path = recorder::segment_path(root / "data", camera_ids[static_cast<size_t>(c)],
                                                 row.value().id);
        fs::create_directories(path.parent_path());
        std::ofstream(path).put('\0');
      }
    }
  }
  // Holds over expired footage: each covers the same share of one camera's expired segments.
  for (int h = 0; h < options.holds; ++h) {
    const int64_t camera = camera_ids[static_cast<size_t>(h % options.cameras)];
    const int64_t from =
        layout.start_utc_us + (h * expired_per_camera / std::max(1, options.holds)) *
                                  layout.segment_us;
    auto range = catalog.add_protected_range(camera, from, from + 10 * layout.segment_us,
                                             "hold:" + std::to_string(h + 1), layout.now_utc_us);
    if (!range.ok()) return fail("hold", range.error());
  }
  auto committed = transaction.value().commit();
  if (!committed.ok()) return fail("commit", committed.error());
  std::fprintf(stderr, "built %lld segments on %d cameras in %.1f s (%lld MiB catalog)\n",
               static_cast<long long>(per_camera * options.cameras), options.cameras,
               seconds_since(clock, started),
               static_cast<long long>(fs::file_size(recorder::catalog_path(root / "data")) >> 20));
  return 0;
}

struct Timing {
  double mark = 0;        // guard, hold requests, marking + receipts, commit
  double checkpoint = 0;  // WAL checkpoint (TRUNCATE)
  double unlink = 0;      // files
  double rows = 0;        // directory syncs and row removal
  double total = 0;
  int64_t deleted = 0;
  size_t receipts = 0;
  double wal_mib = 0;  // the WAL after marking: what the checkpoint copies back
};

int run_once(const fs::path& template_root, const fs::path& root, const Layout& layout,
             Timing& timing) {
  fs::copy(template_root, root, fs::copy_options::recursive);
  // The copy sits dirty in the page cache; flush it now, or the sweep's first fsync (the WAL
  // checkpoint) would pay for writing the whole copied catalog.
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    hal::UniqueFd fd(::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.valid()) ::fsync(fd.get());
  }
  firmware::ApplianceOptions appliance_options{root / "data", root / "keys", "host-sim"};
  auto appliance = firmware::Appliance::open(appliance_options);
  if (!appliance.ok()) return fail("open", appliance.error());
  auto& a = *appliance.value();
  hal::SimulatedClock clock(layout.now_utc_us);
  hal::SystemClock wall;
  firmware::AuditJournal audit(a.catalog(), clock, a.keys());
  firmware::HoldService holds(a.catalog(), clock, audit);
  firmware::RetentionService retention(a.catalog(), a.storage(), clock, audit, holds);

  int64_t marked_at = 0;
  uintmax_t wal_bytes = 0;
  int64_t checkpointed_at = 0;
  int64_t unlinked_at = 0;
  firmware::SweepOptions sweep_options;
  sweep_options.observer = [&](recorder::DeletionStep step, int64_t) {
    const int64_t now = wall.monotonic_us();
    if (step == recorder::DeletionStep::kMarked) {
      marked_at = now;
      std::error_code ignored;
      wal_bytes = fs::file_size(recorder::catalog_path(root / "data").string() + "-wal", ignored);
    }
    if (step == recorder::DeletionStep::kCheckpointed) checkpointed_at = unlinked_at = now;
    if (step == recorder::DeletionStep::kFileUnlinked) unlinked_at = now;
    return true;
  };
  const int64_t started = wall.monotonic_us();
  auto report = retention.sweep(sweep_options);
  const int64_t finished = wall.monotonic_us();
  if (!report.ok()) return fail("sweep", report.error());
  if (report.value().refused) {
    std::fprintf(stderr, "sweep refused: %s\n", report.value().clock.reason.c_str());
    return 1;
  }
  timing.mark = static_cast<double>(marked_at - started) / 1e6;
  timing.checkpoint = static_cast<double>(checkpointed_at - marked_at) / 1e6;
  timing.unlink = static_cast<double>(unlinked_at - checkpointed_at) / 1e6;
  timing.rows = static_cast<double>(finished - unlinked_at) / 1e6;
  timing.total = static_cast<double>(finished - started) / 1e6;
  for (const auto& receipt : report.value().deleted) timing.deleted += receipt.segments;
  timing.receipts = report.value().deleted.size();
  timing.wal_mib = static_cast<double>(wal_bytes) / (1 << 20);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_retention_sweep — the cost of one retention sweep on a large catalog"};
  Options options;
  app.add_option("--segments", options.segments, "segments in the catalog")->capture_default_str();
  app.add_option("--expired", options.expired, "of which expired")->capture_default_str();
  app.add_option("--cameras", options.cameras, "cameras")->capture_default_str();
  app.add_option("--holds", options.holds, "protected ranges over expired footage")
      ->capture_default_str();
  app.add_option("--runs", options.runs, "sweeps, each on a fresh copy")->capture_default_str();
  app.add_flag("--files", options.files, "create empty stand-in files for the expired segments");
  app.add_option("--dir", options.dir, "where to build (default: $TMPDIR or /tmp)");
  CLI11_PARSE(app, argc, argv);
  if (options.cameras < 1 || options.expired >= options.segments || options.runs < 1) {
    std::fprintf(stderr, "bench_retention_sweep: need cameras ≥ 1, expired < segments, runs ≥ 1\n");
    return 2;
  }
  if (options.dir.empty()) options.dir = fs::temp_directory_path();
  std::string pattern = (options.dir / "yw-bench-sweep-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const fs::path work = pattern;
  const Layout layout = plan(options);
  int status = build(options, work / "template", layout);
  std::vector<Timing> timings;
  for (int run = 0; status == 0 && run < options.runs; ++run) {
    Timing timing;
    const fs::path root = work / ("run-" + std::to_string(run));
    status = run_once(work / "template", root, layout, timing);
    fs::remove_all(root);
    if (status != 0) break;
    timings.push_back(timing);
    std::fprintf(stderr,
                 "run %d: deleted %lld in %zu receipts; mark+receipts %.3f s (WAL %.1f MiB), "
                 "checkpoint %.3f s, unlink %.3f s, rows %.3f s, total %.3f s\n",
                 run + 1, static_cast<long long>(timing.deleted), timing.receipts, timing.mark,
                 timing.wal_mib,
                 timing.checkpoint, timing.unlink, timing.rows, timing.total);
  }
  fs::remove_all(work);
  if (status != 0) return status;
  auto median = [&](double Timing::*field) {
    std::vector<double> values;
    for (const auto& t : timings) values.push_back(t.*field);
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
  };
  std::printf("| segments | expired | deleted | cameras | holds | files | mark + receipts s | "
              "checkpoint s | unlink s | row removal s | total s | total without unlink s |\n");
  std::printf("|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
  std::printf("| %lld | %lld | %lld | %d | %d | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n",
              static_cast<long long>(options.segments), static_cast<long long>(options.expired),
              static_cast<long long>(timings.front().deleted), options.cameras, options.holds,
              options.files ? "empty stand-ins" : "none", median(&Timing::mark),
              median(&Timing::checkpoint), median(&Timing::unlink), median(&Timing::rows),
              median(&Timing::total), median(&Timing::total) - median(&Timing::unlink));
  return 0;
}
