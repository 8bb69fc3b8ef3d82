// Retention end to end (issue #4), driven through the real binaries the way a school would:
// record real RTSP streams for a few seconds, then let "four weeks" pass with YARDWATCH_SIM_NOW.
// Holds, the 7-day camera, clock faults, the summer holiday, crashes in the middle of a
// deletion (a real SIGKILL) finished by yardwatchd's start-up, and disk pressure on a small
// tmpfs.

#include "yardwatch/firmware/retention.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "appliance_fixture.h"
#include "segment_fixture.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/schema.h"
#include "yardwatch/recorder/data_dir.h"

using namespace yardwatch::testing;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
namespace hal = yardwatch::hal;
namespace recorder = yardwatch::recorder;
namespace firmware = yardwatch::firmware;

namespace {

constexpr int64_t kDay = 24LL * 3600 * 1'000'000;
const std::string kDirector = "directeur";
const std::string kDirectorTemporary = "tijdelijk-wachtwoord-9";
const std::string kDirectorPassword = "Schoolhoofd-bewaart-2026!";

std::string iso(int64_t utc_us) { return hal::format_iso8601_utc(utc_us); }

std::map<std::string, std::string> at(int64_t utc_us, bool unsynchronised = false) {
  std::map<std::string, std::string> env;
  env.emplace("YARDWATCH_SIM_NOW", iso(utc_us));
  if (unsynchronised) env.emplace("YARDWATCH_SIM_UNSYNCED", "1");
  return env;
}

// A director who signs in at the console (two-factor sign-in is switched off for the test:
// one TOTP code cannot be used twice within 30 s, and these tests sign in often).
void add_director(ApplianceFixture& appliance) {
  REQUIRE(appliance.cli({"setting", "set", "policy.require_totp", "0"}).exit_code == 0);
  REQUIRE(appliance
              .cli({"user", "add", "--name", kDirector, "--role", "director", "--password-stdin"},
                   kDirectorTemporary + "\n")
              .exit_code == 0);
  REQUIRE(appliance
              .cli({"user", "passwd", "--user", kDirector},
                   kDirectorTemporary + "\n" + kDirectorPassword + "\n")
              .exit_code == 0);
}

CommandResult as_director(const ApplianceFixture& appliance, std::vector<std::string> args,
                          const std::map<std::string, std::string>& env = {}) {
  args.insert(args.end(), {"--user", kDirector, "--password-stdin"});
  return appliance.cli_env(args, env, kDirectorPassword + "\n");
}

// Records until every camera has at least `segments` complete segments, then stops cleanly.
void record(ApplianceFixture& appliance, const std::vector<std::string>& cameras, size_t segments,
            std::vector<std::string> extra_args = {}) {
  extra_args.insert(extra_args.begin(), {"--segment-seconds", "2"});
  appliance.start_daemon(extra_args);
  for (const auto& camera : cameras) {
    const bool recording = appliance.wait_for_state(camera, "recording", 30s);
    INFO(appliance.status().dump(2) << "\n" << appliance.daemon_log());
    REQUIRE(recording);
  }
  const bool enough = wait_until(
      [&] {
        for (const auto& camera : cameras) {
          if (appliance.segments(camera).size() < segments + 1) return false;  // +1: the open one
        }
        return true;
      },
      60s);
  INFO(appliance.daemon_log());
  REQUIRE(enough);
  REQUIRE(appliance.stop_daemon() == 0);
}

std::set<int64_t> ids(const json& segments) {
  std::set<int64_t> result;
  for (const auto& segment : segments) result.insert(segment["id"].get<int64_t>());
  return result;
}

int64_t newest_end(const std::vector<json>& lists) {
  int64_t newest = 0;
  for (const auto& list : lists) {
    for (const auto& segment : list)
      newest = std::max(newest, segment["end_utc_us"].get<int64_t>());
  }
  return newest;
}

// The wrapped keys of the given segments, read from the catalog file.
std::map<int64_t, std::vector<uint8_t>> wrapped_keys(const ApplianceFixture& appliance,
                                                     const std::set<int64_t>& segment_ids) {
  auto catalog = recorder::Catalog::open(recorder::catalog_path(appliance.data_dir()), false,
                                         firmware::firmware_migrations());
  REQUIRE(catalog.ok());
  std::map<int64_t, std::vector<uint8_t>> keys;
  for (int64_t id : segment_ids) {
    auto row = catalog.value()->segment(id);
    REQUIRE(row.ok());
    REQUIRE(row.value().has_value());
    keys[id] = row.value()->wrapped_key;
    REQUIRE(keys[id].size() >= 32);
  }
  return keys;
}

bool segment_file_exists(const ApplianceFixture& appliance, int64_t camera_id, int64_t id) {
  return fs::exists(recorder::segment_path(appliance.data_dir(), camera_id, id));
}

json audit_entries(const ApplianceFixture& appliance, const std::string& action) {
  return appliance.cli_json({"audit", "list", "--action", action})["entries"];
}

bool has_alarm(const json& status, const std::string& kind) {
  for (const auto& alarm : status["alarms"]) {
    if (alarm["kind"] == kind) return true;
  }
  return false;
}

std::string review_by() { return iso(hal::SystemClock().now_utc_us() + 60 * kDay).substr(0, 10); }

}  // namespace

TEST_CASE("R2: four weeks later only held footage is left, and after the release that goes too",
          "[integration][retention][R2][R3][R6]") {
  TempDir work("yw-retention");
  CamSim cameras(CamSimOptions{}, work.path());
  ApplianceFixture appliance(work.path());
  appliance.add_camera("yard", cameras.url(1));
  appliance.add_camera("gate", cameras.url(2), "entrance");
  add_director(appliance);
  record(appliance, {"yard", "gate"}, 4);

  const json yard = appliance.segments("yard");
  const json gate = appliance.segments("gate");
  REQUIRE(yard.size() >= 4);
  const int64_t newest = newest_end({yard, gate});
  std::set<int64_t> all_ids = ids(yard);
  for (int64_t id : ids(gate)) all_ids.insert(id);
  const auto keys = wrapped_keys(appliance, all_ids);

  // Hold the second and (part of the) third segment of yard.
  const int64_t hold_from = yard[1]["start_utc_us"].get<int64_t>() + 100'000;
  const int64_t hold_to = yard[2]["start_utc_us"].get<int64_t>() + 100'000;
  auto hold = as_director(
      appliance, {"hold", "add", "--camera", "yard", "--from", iso(hold_from), "--to", iso(hold_to),
                  "--reason", "fight at the bicycle shed, parents informed", "--case", "2026-017",
                  "--review-by", review_by(), "--json"});
  INFO(hold.err);
  REQUIRE(hold.exit_code == 0);
  const json placed = json::parse(hold.out);
  CHECK(placed["state"] == "active");
  const std::string hold_id = std::to_string(placed["id"].get<int64_t>());
  const std::set<int64_t> held = {yard[1]["id"].get<int64_t>(), yard[2]["id"].get<int64_t>()};

  // +27 days: nothing has expired.
  auto early = appliance.cli_env({"retention", "sweep", "--json"}, at(newest + 27 * kDay));
  INFO(early.err);
  REQUIRE(early.exit_code == 0);
  CHECK(json::parse(early.out)["deleted"].empty());
  CHECK(appliance.segments("yard").size() == yard.size());
  CHECK(appliance.segments("gate").size() == gate.size());

  // +29 days: gate is gone; of yard only what the hold touches is left.
  auto later = appliance.cli_env({"retention", "sweep", "--json"}, at(newest + 29 * kDay));
  INFO(later.err);
  REQUIRE(later.exit_code == 0);
  const json report = json::parse(later.out);
  CHECK_FALSE(report["refused"].get<bool>());
  REQUIRE(report["deleted"].size() == 2);
  CHECK(appliance.segments("gate").empty());
  CHECK(ids(appliance.segments("yard")) == held);
  const auto cameras_list = appliance.cli_json({"camera", "list"})["cameras"];
  std::map<std::string, int64_t> camera_ids;
  for (const auto& camera : cameras_list) {
    camera_ids[camera["name"].get<std::string>()] = camera["id"].get<int64_t>();
  }
  auto check_gone = [&](const json& list, const std::string& camera) {
    for (const auto& segment : list) {
      const int64_t id = segment["id"].get<int64_t>();
      if (held.count(id) != 0) continue;
      INFO(camera << " segment " << id);
      CHECK_FALSE(segment_file_exists(appliance, camera_ids[camera], id));
      CHECK(files_containing(appliance.data_dir(), keys.at(id)).empty());
    }
  };
  check_gone(yard, "yard");
  check_gone(gate, "gate");
  for (int64_t id : held) CHECK(segment_file_exists(appliance, camera_ids["yard"], id));
  auto check = appliance.cli({"catalog", "check"});
  INFO(check.out);
  CHECK(check.exit_code == 0);
  // A deletion receipt per camera, by the appliance itself.
  json receipts = audit_entries(appliance, "retention_sweep");
  REQUIRE(receipts.size() == 2);
  std::set<std::string> receipt_cameras;
  for (const auto& receipt : receipts) {
    CHECK(receipt["actor"] == "system");
    receipt_cameras.insert(receipt["camera"].get<std::string>());
    CHECK(receipt["details"]["segments"].get<int64_t>() >= 1);
  }
  CHECK(receipt_cameras == std::set<std::string>{"yard", "gate"});

  // The director releases the hold; the next sweep takes the rest.
  auto released = as_director(appliance, {"hold", "release", hold_id, "--note", "case closed"});
  INFO(released.err);
  REQUIRE(released.exit_code == 0);
  auto last = appliance.cli_env({"retention", "sweep"}, at(newest + 29 * kDay));
  REQUIRE(last.exit_code == 0);
  CHECK(last.out.find("deleted 2 segment(s) of yard") != std::string::npos);
  CHECK(appliance.segments("yard").empty());
  for (int64_t id : held) {
    CHECK_FALSE(segment_file_exists(appliance, camera_ids["yard"], id));
    CHECK(files_containing(appliance.data_dir(), keys.at(id)).empty());
  }
  CHECK(audit_entries(appliance, "retention_sweep").size() == 3);
  CHECK(audit_entries(appliance, "hold_release").size() == 1);
  CHECK(appliance.cli({"catalog", "check"}).exit_code == 0);
  CHECK(appliance.cli({"audit", "verify"}).exit_code == 0);
}

TEST_CASE("R2: a camera with --retention-days 7 loses its footage at +8 days, not before",
          "[integration][retention][R2]") {
  TempDir work("yw-retention7");
  CamSim cameras(CamSimOptions{}, work.path());
  ApplianceFixture appliance(work.path());
  auto refused = appliance.cli({"camera", "add", "--name", "week", "--url", cameras.url(1),
                                "--zone", "schoolyard", "--retention-days", "29"});
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("R2") != std::string::npos);
  REQUIRE(appliance
              .cli({"camera", "add", "--name", "week", "--url", cameras.url(1), "--zone",
                    "schoolyard", "--retention-days", "7"})
              .exit_code == 0);
  appliance.add_camera("month", cameras.url(2));
  record(appliance, {"week", "month"}, 2);
  const json week = appliance.segments("week");
  const json month = appliance.segments("month");
  const int64_t newest = newest_end({week, month});

  for (int64_t offset : {6 * kDay, 7 * kDay - int64_t{3600'000'000}}) {
    auto sweep = appliance.cli_env({"retention", "sweep", "--json"}, at(newest + offset));
    REQUIRE(sweep.exit_code == 0);
    CHECK(json::parse(sweep.out)["deleted"].empty());
    CHECK(appliance.segments("week").size() == week.size());
  }
  auto sweep = appliance.cli_env({"retention", "sweep", "--json"}, at(newest + 8 * kDay));
  REQUIRE(sweep.exit_code == 0);
  const json deleted = json::parse(sweep.out)["deleted"];
  REQUIRE(deleted.size() == 1);
  CHECK(deleted[0]["camera"] == "week");
  CHECK(deleted[0]["segments"].get<size_t>() == week.size());
  CHECK(appliance.segments("week").empty());
  CHECK(appliance.segments("month").size() == month.size());
  CHECK(appliance.cli({"catalog", "check"}).exit_code == 0);
}

TEST_CASE("R2: clock faults delete nothing and raise an alarm, and after the holiday it deletes",
          "[integration][retention][R2][clock]") {
  TempDir work("yw-retention-clock");
  CamSim cameras(CamSimOptions{}, work.path());
  ApplianceFixture appliance(work.path());
  appliance.add_camera("yard", cameras.url(1));
  record(appliance, {"yard"}, 2);
  const json yard = appliance.segments("yard");
  const int64_t newest = newest_end({yard});

  // (yardwatchd ran on this machine's own clock: whether it refused to sweep depends on that
  // clock, so count from here.)
  const size_t refusals_before = audit_entries(appliance, "retention_sweep_refused").size();
  const size_t receipts_before = audit_entries(appliance, "retention_sweep").size();
  // A year later, but the clock says it is not synchronised.
  auto unsynced =
      appliance.cli_env({"retention", "sweep", "--json"}, at(newest + 365 * kDay, true));
  CHECK(unsynced.exit_code == 3);
  json report = json::parse(unsynced.out);
  CHECK(report["refused"].get<bool>());
  CHECK(report["deleted"].empty());
  CHECK(report["clock"]["problem"] == "unsynchronised");
  CHECK(appliance.segments("yard").size() == yard.size());
  json status = appliance.cli_json({"status"}, at(newest + 365 * kDay, true));
  CHECK(has_alarm(status, "retention_clock"));
  CHECK_FALSE(status["retention"]["clock"]["trusted"].get<bool>());
  json refusals = audit_entries(appliance, "retention_sweep_refused");
  REQUIRE(refusals.size() == refusals_before + 1);
  CHECK(refusals.back()["reason"].get<std::string>().find("unsynchronised") != std::string::npos);

  // The clock a day before the newest footage.
  auto behind = appliance.cli_env({"retention", "sweep", "--json"}, at(newest - kDay));
  CHECK(behind.exit_code == 3);
  report = json::parse(behind.out);
  CHECK(report["clock"]["problem"] == "behind_footage");
  CHECK(appliance.segments("yard").size() == yard.size());
  refusals = audit_entries(appliance, "retention_sweep_refused");
  REQUIRE(refusals.size() == refusals_before + 2);
  CHECK(refusals.back()["reason"].get<std::string>().find("before the newest footage") !=
        std::string::npos);
  status = appliance.cli_json({"status"}, at(newest - kDay));
  CHECK(has_alarm(status, "retention_clock"));

  // Switched off for the summer holiday, back ten weeks later with a synchronised clock:
  // yardwatchd's first sweep deletes the old footage.
  appliance.start_daemon({"--segment-seconds", "2"}, at(newest + 70 * kDay));
  const bool deleted = wait_until(
      [&] {
        for (const auto& segment : appliance.segments("yard")) {
          if (segment["end_utc_us"].get<int64_t>() <= newest) return false;
        }
        return true;
      },
      30s);
  INFO(appliance.daemon_log());
  CHECK(deleted);
  REQUIRE(appliance.stop_daemon() == 0);
  CHECK_FALSE(has_alarm(appliance.status(), "retention_clock"));
  CHECK(audit_entries(appliance, "retention_sweep").size() == receipts_before + 1);
  CHECK(appliance.cli({"catalog", "check"}).exit_code == 0);
}

namespace {

// In a child process (a real crash: SIGKILL, no clean-up), sweeps as yardwatchd would at `now`
// and dies right after `step`.
void crash_sweep_at(const ApplianceFixture& appliance, recorder::DeletionStep step, int64_t now) {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto opened =
        firmware::Appliance::open({appliance.data_dir(), appliance.key_dir(), "host-sim"});
    if (!opened.ok()) ::_exit(10);
    auto& a = *opened.value();
    hal::SimulatedClock clock(now);
    firmware::AuditJournal audit(a.catalog(), clock, a.keys());
    firmware::HoldService holds(a.catalog(), clock, audit);
    firmware::RetentionService retention(a.catalog(), a.storage(), clock, audit, holds);
    firmware::SweepOptions options;
    options.observer = [step](recorder::DeletionStep reached, int64_t) {
      if (reached == step) ::raise(SIGKILL);
      return true;
    };
    auto report = retention.sweep(options);
    ::_exit(report.ok() ? 11 : 12);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  INFO("child status " << status);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);
}

}  // namespace

TEST_CASE(
    "a deletion killed between key removal and unlink, or unlink and row removal, is "
    "finished at the next start",
    "[integration][retention][crash][R3]") {
  TempDir work("yw-retention-crash");
  CamSim cameras(CamSimOptions{}, work.path());
  ApplianceFixture appliance(work.path());
  REQUIRE(appliance
              .cli({"camera", "add", "--name", "day", "--url", cameras.url(1), "--zone",
                    "schoolyard", "--retention-days", "1"})
              .exit_code == 0);
  appliance.add_camera("month", cameras.url(2));
  record(appliance, {"day", "month"}, 2);

  struct Case {
    recorder::DeletionStep step;
    int64_t days_later;
    std::vector<std::string> expiring;
  };
  // Two days on only "day" expires (killed after its first file is unlinked: between unlink and
  // row removal); a month on everything does (killed right after the keys went: before unlink).
  for (const Case& c : {Case{recorder::DeletionStep::kFileUnlinked, 2, {"day"}},
                        Case{recorder::DeletionStep::kMarked, 30, {"day", "month"}}}) {
    INFO("killed after " << recorder::deletion_step_name(c.step));
    std::set<int64_t> expiring;
    std::vector<json> lists;
    for (const auto& camera : {"day", "month"}) lists.push_back(appliance.segments(camera));
    for (const auto& camera : c.expiring) {
      for (int64_t id : ids(appliance.segments(camera))) expiring.insert(id);
    }
    REQUIRE_FALSE(expiring.empty());
    const auto keys = wrapped_keys(appliance, expiring);
    crash_sweep_at(appliance, c.step, newest_end(lists) + c.days_later * kDay);
    // Half done: the rows are garbage (no longer listed), the checker says rule 5.
    for (const auto& camera : c.expiring) CHECK(appliance.segments(camera).empty());
    auto half_check = appliance.cli({"catalog", "check", "--json"});
    CHECK(half_check.exit_code == 2);
    const json half = json::parse(half_check.out);
    INFO(half.dump());
    CHECK_FALSE(half["ok"].get<bool>());
    bool rule5 = false;
    for (const auto& v : half["violations"]) rule5 = rule5 || v["rule"] == 5;
    CHECK(rule5);

    // The next start of yardwatchd finishes it before recording.
    appliance.start_daemon({"--segment-seconds", "2"});
    const bool finished = wait_until(
        [&] {
          return appliance.daemon()->stderr_text().find("finished deleting") != std::string::npos;
        },
        20s);
    INFO(appliance.daemon_log());
    CHECK(finished);
    CHECK(appliance.wait_for_state("day", "recording", 20s));
    REQUIRE(appliance.stop_daemon() == 0);
    const json recovery = audit_entries(appliance, "recovery");
    REQUIRE_FALSE(recovery.empty());
    CHECK(recovery.back()["details"]["garbage_finished"].get<size_t>() == expiring.size());
    for (const auto& [id, key] : keys) {
      INFO("segment " << id);
      CHECK(files_containing(appliance.data_dir(), key).empty());
    }
    auto check = appliance.cli({"catalog", "check"});
    INFO(check.out);
    CHECK(check.exit_code == 0);
  }
}

namespace {

struct TmpfsMount {
  fs::path path;
  TmpfsMount(fs::path where, const std::string& size) : path(std::move(where)) {
    fs::create_directories(path);
    auto result = run_command(
        {"/bin/mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0700", "tmpfs", path.string()});
    INFO("mounting a tmpfs needs root (CI runs as root): " << result.err);
    REQUIRE(result.exit_code == 0);
  }
  ~TmpfsMount() { ::umount2(path.c_str(), MNT_DETACH); }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
};

void write_filler(const fs::path& path, uint64_t bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const std::string block(1 << 20, 'x');
  for (uint64_t written = 0; written + block.size() <= bytes; written += block.size()) out << block;
}

}  // namespace

TEST_CASE(
    "R2: under disk pressure the oldest unheld footage goes first, held footage never, and "
    "the lowest-priority camera stops when only held footage is left",
    "[integration][retention][space][R2]") {
  TempDir work("yw-pressure");
  TmpfsMount volume(work / "volume", "64m");
  CamSimOptions sim;
  sim.width = 1280;
  sim.height = 720;
  sim.bitrate_kbit = 4000;
  CamSim cameras(sim, work.path());
  ApplianceFixture appliance(work.path(), volume.path / "data");
  REQUIRE(appliance
              .cli({"camera", "add", "--name", "yard", "--url", cameras.url(1), "--zone",
                    "schoolyard", "--priority", "90"})
              .exit_code == 0);
  REQUIRE(appliance
              .cli({"camera", "add", "--name", "gate", "--url", cameras.url(2), "--zone",
                    "entrance", "--priority", "10"})
              .exit_code == 0);
  add_director(appliance);
  // A fixed 24 MiB reserve (no bitrate part), so the test knows where pressure starts.
  const std::vector<std::string> pressure_args = {
      "--space-reserve-mb", "24", "--space-reserve-seconds", "0", "--min-free-mb", "2"};
  std::vector<std::string> daemon_args = {"--segment-seconds", "2"};
  daemon_args.insert(daemon_args.end(), pressure_args.begin(), pressure_args.end());
  record(appliance, {"yard", "gate"}, 4, pressure_args);
  const json yard0 = appliance.segments("yard");
  const json gate0 = appliance.segments("gate");
  // Hold yard's first two segments.
  auto hold = as_director(
      appliance,
      {"hold", "add", "--camera", "yard", "--from", yard0[0]["start"].get<std::string>(), "--to",
       iso(yard0[1]["end_utc_us"].get<int64_t>() - 1), "--reason", "damage to the fence, insurance",
       "--case", "2026-031", "--review-by", review_by()});
  INFO(hold.err);
  REQUIRE(hold.exit_code == 0);
  const std::set<int64_t> held = {yard0[0]["id"].get<int64_t>(), yard0[1]["id"].get<int64_t>()};

  // Something else takes the space: free drops 4 MiB below the reserve.
  const fs::path filler = volume.path / "filler";
  write_filler(filler, fs::space(volume.path).available - (20u << 20));
  appliance.start_daemon(daemon_args);
  const bool pressed =
      wait_until([&] { return has_alarm(appliance.status(), "retention_reduced"); }, 30s);
  INFO(appliance.daemon_log());
  REQUIRE(pressed);
  REQUIRE(appliance.stop_daemon() == 0);

  // Held footage is all there; what went is the oldest of the rest, in end-time order.
  const std::set<int64_t> yard_now = ids(appliance.segments("yard"));
  const std::set<int64_t> gate_now = ids(appliance.segments("gate"));
  for (int64_t id : held) CHECK(yard_now.count(id) == 1);
  std::vector<std::pair<int64_t, int64_t>> unheld;  // (end, id) of what existed before
  for (const auto* list : {&yard0, &gate0}) {
    for (const auto& segment : *list) {
      const int64_t id = segment["id"].get<int64_t>();
      if (held.count(id) == 0) unheld.emplace_back(segment["end_utc_us"].get<int64_t>(), id);
    }
  }
  std::sort(unheld.begin(), unheld.end());
  size_t deleted = 0;
  bool kept_one = false;
  for (const auto& [end, id] : unheld) {
    const bool exists = yard_now.count(id) != 0 || gate_now.count(id) != 0;
    INFO("segment " << id << " ending " << iso(end));
    if (exists) {
      kept_one = true;
    } else {
      CHECK_FALSE(kept_one);  // nothing older than a kept segment went
      ++deleted;
    }
  }
  CHECK(deleted >= 2);
  const json space_receipts = audit_entries(appliance, "footage_deleted_for_space");
  REQUIRE_FALSE(space_receipts.empty());
  CHECK(space_receipts[0]["actor"] == "system");
  CHECK(space_receipts[0]["details"].contains("effective_retention_days"));
  CHECK(space_receipts[0]["details"]["reserve_bytes"].get<uint64_t>() == (24u << 20));
  json status = appliance.status();
  for (const auto& alarm : status["alarms"]) {
    if (alarm["kind"] == "retention_reduced") {
      CHECK(alarm["message"].get<std::string>().find("effective retention has dropped to") !=
            std::string::npos);
    }
  }
  CHECK(appliance.cli({"catalog", "check"}).exit_code == 0);

  // Everything held (an investigation): nothing may go for space. The lowest-priority camera
  // stops instead, the other records on.
  auto hold_all = as_director(
      appliance, {"hold", "add", "--camera", "yard,gate", "--from", "2000-01-01T00:00:00Z", "--to",
                  "2100-01-01T00:00:00Z", "--reason", "police investigation, everything kept",
                  "--case", "PL0900-2026-77", "--review-by", review_by()});
  INFO(hold_all.err);
  REQUIRE(hold_all.exit_code == 0);
  const std::set<int64_t> yard_before = ids(appliance.segments("yard"));
  const std::set<int64_t> gate_before = ids(appliance.segments("gate"));
  write_filler(filler, fs::space(volume.path).available + fs::file_size(filler) - (12u << 20));
  appliance.start_daemon(daemon_args);
  const bool paused = wait_until(
      [&] {
        status = appliance.status();
        for (const auto& camera : status["cameras"]) {
          if (camera["name"] == "gate" && camera["state"] == "stopped" &&
              camera["reason"].get<std::string>().find("paused for space") != std::string::npos) {
            return has_alarm(status, "recording_paused");
          }
        }
        return false;
      },
      30s);
  INFO(status.dump(2) << appliance.daemon_log());
  REQUIRE(paused);
  CHECK(appliance.wait_for_state("yard", "recording", 20s));
  const json pause_entries = audit_entries(appliance, "recording_paused_for_space");
  REQUIRE(pause_entries.size() == 1);
  CHECK(pause_entries[0]["camera"] == "gate");

  // Room again: gate records again and the alarm clears.
  fs::remove(filler);
  CHECK(appliance.wait_for_state("gate", "recording", 30s));
  CHECK(wait_until([&] { return !has_alarm(appliance.status(), "recording_paused"); }, 10s));
  REQUIRE(appliance.stop_daemon() == 0);
  const std::set<int64_t> yard_after = ids(appliance.segments("yard"));
  const std::set<int64_t> gate_after = ids(appliance.segments("gate"));
  for (int64_t id : yard_before) CHECK(yard_after.count(id) == 1);
  for (int64_t id : gate_before) CHECK(gate_after.count(id) == 1);
  CHECK(audit_entries(appliance, "recording_resumed").size() == 1);
  CHECK(appliance.cli({"catalog", "check"}).exit_code == 0);
}
