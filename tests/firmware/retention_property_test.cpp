// A property test of retention against a model: thousands of random sequences of recording,
// holds (placed, requested, confirmed, rejected, released), erasure, restriction, retention
// changes, sweeps, clock faults and crashes in the middle of a deletion, on a real appliance
// (SQLite catalog, key store, encrypted segment files) with a simulated clock. After every step:
//   - the catalog and the files hold exactly the segments the model says exist;
//   - held or restricted footage is never gone;
//   - after a sweep the clock trusts, nothing older than its camera's retention survives
//     without a hold or restriction;
//   - `catalog check` passes (after a crash, once recovery has run).
// YW_PROPERTY_SEQUENCES (default 2000; 500 in the sanitizer build) and YW_PROPERTY_SEED
// (default 20261125) change the run;
// a failure names the sequence's seed and its steps so it can be replayed.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "retention_fixture.h"
#include "yardwatch/firmware/cameras.h"

using namespace yardwatch;
using namespace yardwatch::firmware;
using namespace yardwatch::testing;

namespace {

namespace fs = std::filesystem;

const int64_t kStart = hal::parse_iso8601_utc_us("2026-03-02T07:00:00Z").value();

int64_t env_or(const char* name, int64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  return std::strtoll(text, nullptr, 10);
}

struct ModelSegment {
  recorder::SegmentRow row;
  bool present = true;
};

struct ModelHold {
  int64_t id = 0;
  std::set<int64_t> cameras;
  int64_t from = 0;
  int64_t to = 0;
  HoldState state = HoldState::kActive;
  int64_t pending_until = 0;
};

struct ModelRestriction {
  int64_t id = 0;
  int64_t camera = 0;
  int64_t from = 0;
  int64_t to = 0;
  bool in_force = true;
};

// Fast real storage for thousands of appliances: tmpfs when there is one (fsync is free there;
// everything else is the same real files and SQLite).
class ScratchRoot {
 public:
  ScratchRoot() {
    const fs::path base =
        fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string pattern = (base / "yw-property-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~ScratchRoot() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchRoot(const ScratchRoot&) = delete;
  ScratchRoot& operator=(const ScratchRoot&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class Sequence {
 public:
  Sequence(uint64_t seed, const fs::path& root)
      : seed_(seed), random_(seed), f_(kStart, root.string()) {
    for (const char* name : {"yard", "gate"}) {
      const int days = pick(1, 28);
      cameras_[f_.camera(name, days)] = {name, days};
    }
    std::set<int64_t> all;
    for (const auto& [id, camera] : cameras_) {
      all.insert(id);
      next_start_[id] = kStart - 40 * kDayUs;
    }
    director_ = f_.person("directeur", Role::kDirector);
    // Erasures and restrictions answer registered requests (R7).
    f_.request(director_, "AVG-1", firmware::RequestKind::kObjection);
    f_.request(director_, "AVG-1-lifted", firmware::RequestKind::kObjection);
    f_.request(director_, "AVG-2", firmware::RequestKind::kErasure);
    viewer_ = f_.person("conciergejan", Role::kViewer, all);
  }

  const std::string& log() const { return log_; }

  void step() {
    const int choice = pick(0, 99);
    struct Op {
      int below;
      const char* name;
      void (Sequence::*run)();
      bool touches_segments;
    };
    static const Op kOps[] = {
        {20, "record", &Sequence::record, true},
        {34, "advance", &Sequence::advance, false},
        {44, "place hold", &Sequence::place_active_hold, false},
        {50, "request hold", &Sequence::request_hold, false},
        {55, "decide request", &Sequence::decide_request, false},
        {61, "release hold", &Sequence::release_hold, false},
        {66, "restrict", &Sequence::restrict_range, false},
        {70, "lift restriction", &Sequence::lift, false},
        {76, "erase", &Sequence::erase, true},
        {78, "change retention", &Sequence::change_retention, false},
        {90, "sweep", &Sequence::sweep, true},
        {95, "crash during sweep", &Sequence::crash_during_sweep, true},
        {100, "clock fault", &Sequence::clock_fault, true},
    };
    for (const auto& op : kOps) {
      if (choice >= op.below) continue;
      log_ += std::string("- ") + op.name + ": ";
      INFO("YW_PROPERTY_SEED=" << seed_ << " YW_PROPERTY_SEQUENCES=1; steps so far:\n" << log_);
      present_before_.clear();
      for (const auto& segment : segments_) present_before_.push_back(segment.present);
      segments_touched_ = op.touches_segments;
      (this->*op.run)();
      log_ += "\n";
      check_invariants();
      return;
    }
  }

  void finish() {
    // Every deleted segment's key is gone from every file of the data directory.
    const auto files = read_all_files(f_.data_dir());
    for (const auto& segment : segments_) {
      if (segment.present) continue;
      INFO("deleted segment " << segment.row.id);
      CHECK(files_containing(files, segment.row.wrapped_key).empty());
    }
    auto verified = f_.audit().verify();
    REQUIRE(verified.ok());
    CHECK(verified.value().ok);
  }

 private:
  struct CameraModel {
    std::string name;
    int retention_days = 28;
  };

  int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  int64_t pick64(int64_t low, int64_t high) {
    return std::uniform_int_distribution<int64_t>(low, high)(random_);
  }
  int64_t now() { return f_.clock().now_utc_us(); }
  int64_t random_camera() {
    auto it = cameras_.begin();
    std::advance(it, pick(0, static_cast<int>(cameras_.size()) - 1));
    return it->first;
  }
  // A range around existing footage (or anywhere in the last six weeks).
  std::pair<int64_t, int64_t> random_range(int64_t camera) {
    std::vector<const ModelSegment*> candidates;
    for (const auto& s : segments_) {
      if (s.present && s.row.camera_id == camera) candidates.push_back(&s);
    }
    int64_t from = 0;
    if (!candidates.empty() && pick(0, 3) != 0) {
      const auto* s =
          candidates[static_cast<size_t>(pick(0, static_cast<int>(candidates.size()) - 1))];
      from = pick64(s->row.start_utc_us - kHourUs, s->row.end_utc_us);
    } else {
      from = pick64(now() - 42 * kDayUs, now());
    }
    return {from, from + pick64(kMinuteUs, 2 * kDayUs)};
  }

  void record() {
    const int64_t camera = random_camera();
    int64_t& next = next_start_[camera];
    next = std::max(next, now() - 45 * kDayUs);
    const int count = pick(1, 4);
    for (int i = 0; i < count; ++i) {
      const int64_t duration = pick64(10 * kMinuteUs, 6 * kHourUs);
      if (next + duration > now()) break;
      segments_.push_back({f_.segment(camera, next, duration), true});
      next += duration;
    }
    log_ += cameras_[camera].name;
  }

  void advance() {
    const int64_t by = pick64(kHourUs, 9 * kDayUs);
    f_.clock().advance_us(by);
    log_ += std::to_string(by / kHourUs) + " h";
  }

  void place_active_hold() { place_hold(false); }
  void request_hold() { place_hold(true); }

  void place_hold(bool as_request) {
    const int64_t camera = random_camera();
    auto [from, to] = random_range(camera);
    std::vector<std::string> names{cameras_[camera].name};
    std::set<int64_t> ids{camera};
    if (pick(0, 3) == 0) {
      for (const auto& [id, model] : cameras_) {
        if (ids.insert(id).second) names.push_back(model.name);
      }
    }
    auto spec = f_.hold_spec(names, from, to);
    auto hold = as_request ? f_.holds().request(viewer_, spec) : f_.holds().place(director_, spec);
    INFO((hold.ok() ? std::string() : hold.error().message));
    REQUIRE(hold.ok());
    holds_.push_back(ModelHold{hold.value().id, ids, from, to,
                               as_request ? HoldState::kPending : HoldState::kActive,
                               now() + kHoldRequestLifetimeUs});
    log_ += std::to_string(hold.value().id);
  }

  ModelHold* random_hold(HoldState state) {
    std::vector<ModelHold*> matching;
    for (auto& hold : holds_) {
      if (hold.state == state) matching.push_back(&hold);
    }
    if (matching.empty()) return nullptr;
    return matching[static_cast<size_t>(pick(0, static_cast<int>(matching.size()) - 1))];
  }

  void decide_request() {
    ModelHold* hold = random_hold(HoldState::kPending);
    if (hold == nullptr) return;
    if (pick(0, 1) == 0) {
      REQUIRE(f_.holds().confirm(director_, hold->id).ok());
      hold->state = HoldState::kActive;
      log_ += "confirmed " + std::to_string(hold->id);
    } else {
      REQUIRE(f_.holds().reject(director_, hold->id, "not needed").ok());
      hold->state = HoldState::kRejected;
      log_ += "rejected " + std::to_string(hold->id);
    }
  }

  void release_hold() {
    ModelHold* hold = random_hold(HoldState::kActive);
    if (hold == nullptr) return;
    REQUIRE(f_.holds().release(director_, hold->id).ok());
    hold->state = HoldState::kReleased;
    log_ += std::to_string(hold->id);
  }

  void restrict_range() {
    const int64_t camera = random_camera();
    auto [from, to] = random_range(camera);
    auto restriction =
        f_.subject().restrict_range(director_, cameras_[camera].name, from, to, "AVG-1");
    REQUIRE(restriction.ok());
    restrictions_.push_back({restriction.value().id, camera, from, to, true});
    log_ += std::to_string(restriction.value().id);
  }

  void lift() {
    std::vector<ModelRestriction*> in_force;
    for (auto& r : restrictions_) {
      if (r.in_force) in_force.push_back(&r);
    }
    if (in_force.empty()) return;
    auto* r = in_force[static_cast<size_t>(pick(0, static_cast<int>(in_force.size()) - 1))];
    REQUIRE(f_.subject().lift(director_, r->id, "AVG-1-lifted").ok());
    r->in_force = false;
    log_ += std::to_string(r->id);
  }

  bool protected_range(int64_t camera, int64_t from, int64_t to) const {
    for (const auto& hold : holds_) {
      const bool open = hold.state == HoldState::kPending || hold.state == HoldState::kActive;
      if (open && hold.cameras.count(camera) != 0 && hold.from < to && hold.to > from) return true;
    }
    for (const auto& r : restrictions_) {
      if (r.in_force && r.camera == camera && r.from < to && r.to > from) return true;
    }
    return false;
  }
  bool is_protected(const ModelSegment& s) const {
    return protected_range(s.row.camera_id, s.row.start_utc_us, s.row.end_utc_us);
  }

  void erase() {
    const int64_t camera = random_camera();
    auto [from, to] = random_range(camera);
    auto receipt = f_.subject().erase(director_, cameras_[camera].name, from, to, "AVG-2");
    // Segments go whole: the range that must be free of protection is what they cover.
    int64_t extent_from = from;
    int64_t extent_to = to;
    for (const auto& s : segments_) {
      if (s.present && s.row.camera_id == camera && s.row.start_utc_us < to &&
          s.row.end_utc_us > from) {
        extent_from = std::min(extent_from, s.row.start_utc_us);
        extent_to = std::max(extent_to, s.row.end_utc_us);
      }
    }
    const bool refused_expected = protected_range(camera, extent_from, extent_to);
    INFO("erase " << from << ".." << to << (receipt.ok() ? "" : ": " + receipt.error().message));
    REQUIRE(receipt.ok() == !refused_expected);
    if (receipt.ok()) {
      int64_t expected = 0;
      for (auto& s : segments_) {
        if (s.present && s.row.camera_id == camera && s.row.start_utc_us < to &&
            s.row.end_utc_us > from) {
          s.present = false;
          ++expected;
        }
      }
      CHECK(receipt.value().segments == expected);
    }
    log_ += receipt.ok() ? "done" : "refused";
  }

  void change_retention() {
    const int64_t camera = random_camera();
    const int days = pick(1, 28);
    REQUIRE(update_camera(f_.catalog(), f_.audit(), Actor::console(), cameras_[camera].name,
                          {days, std::nullopt})
                .ok());
    cameras_[camera].retention_days = days;
    log_ += cameras_[camera].name + " " + std::to_string(days) + " days";
  }

  // What a trusted sweep does, in the model.
  void model_sweep() {
    for (auto& hold : holds_) {
      if (hold.state == HoldState::kPending && hold.pending_until <= now()) {
        hold.state = HoldState::kExpired;
      }
    }
    for (auto& s : segments_) {
      const int64_t cutoff = now() - cameras_[s.row.camera_id].retention_days * kDayUs;
      if (s.present && s.row.end_utc_us < cutoff && !is_protected(s)) s.present = false;
    }
  }

  void sweep() {
    auto report = f_.retention().sweep();
    REQUIRE(report.ok());
    REQUIRE_FALSE(report.value().refused);
    model_sweep();
    swept_ = true;
  }

  void crash_during_sweep() {
    const int at = pick(0, 2);
    const recorder::DeletionStep step = at == 0   ? recorder::DeletionStep::kMarked
                                        : at == 1 ? recorder::DeletionStep::kCheckpointed
                                                  : recorder::DeletionStep::kFileUnlinked;
    SweepOptions options;
    options.observer = [step](recorder::DeletionStep reached, int64_t) { return reached != step; };
    auto report = f_.retention().sweep(options);
    REQUIRE(report.ok());
    REQUIRE_FALSE(report.value().refused);
    model_sweep();
    // The process dies here; the next start runs recovery before anything else.
    f_.drop();
    f_.restart();
    auto recovered = recorder::recover_data_dir(f_.catalog(), f_.storage(), f_.keys());
    INFO((recovered.ok() ? "" : recovered.error().message));
    REQUIRE(recovered.ok());
    swept_ = true;
    log_ += "after " + std::string(recorder::deletion_step_name(step));
  }

  void clock_fault() {
    const bool jump = pick(0, 1) == 0;
    int64_t moved = 0;
    if (jump) {
      moved = pick(0, 1) == 0 ? 365 * kDayUs : -pick64(11, 600) * kMinuteUs;
      log_ += "jump " + std::to_string(moved / kMinuteUs) + " min; ";
    } else {
      f_.clock().set_sync_state(hal::SyncState::kUnsynchronised);
      moved = 365 * kDayUs;
      log_ += "unsynchronised, a year ahead; ";
    }
    f_.clock().jump_wall_clock_us(moved);
    auto report = f_.retention().sweep();
    REQUIRE(report.ok());
    REQUIRE(report.value().refused);
    REQUIRE(report.value().deleted.empty());
    REQUIRE(f_.has_alarm(kAlarmRetentionClock));
    check_invariants();
    // The clock comes right again, and the next sweep deletes as before.
    f_.clock().jump_wall_clock_us(-moved);
    f_.clock().set_sync_state(hal::SyncState::kSynchronised);
    sweep();
    REQUIRE_FALSE(f_.has_alarm(kAlarmRetentionClock));
  }

  void check_invariants() {
    for (const auto& s : segments_) {
      INFO("segment " << s.row.id << " of camera " << s.row.camera_id << " ["
                      << hal::format_iso8601_utc(s.row.start_utc_us) << ", "
                      << hal::format_iso8601_utc(s.row.end_utc_us) << ")");
      if (s.present) {
        REQUIRE(f_.exists(s.row));
      } else {
        REQUIRE(f_.gone(s.row));
      }
    }
    // Held or restricted footage is never deleted: nothing that went in this step was
    // protected (protections only change in steps that delete nothing, except requests that
    // lapse in a sweep, which the model has already closed).
    for (size_t i = 0; i < present_before_.size(); ++i) {
      if (present_before_[i] && !segments_[i].present) REQUIRE_FALSE(is_protected(segments_[i]));
      if (is_protected(segments_[i]) && present_before_[i]) REQUIRE(segments_[i].present);
    }
    if (swept_) {
      // Right after a sweep nothing older than retention is left unless protected.
      for (const auto& s : segments_) {
        const int64_t cutoff = now() - cameras_[s.row.camera_id].retention_days * kDayUs;
        if (s.present && s.row.end_utc_us < cutoff) REQUIRE(is_protected(s));
      }
      swept_ = false;
    }
    // `catalog check` decrypts every segment: after every step that can change segments.
    if (segments_touched_) {
      auto violations = f_.check();
      REQUIRE(violations.empty());
    }
  }

  uint64_t seed_;
  std::mt19937_64 random_;
  RetentionFixture f_;
  std::map<int64_t, CameraModel> cameras_;
  std::map<int64_t, int64_t> next_start_;
  Principal director_;
  Principal viewer_;
  std::vector<ModelSegment> segments_;
  std::vector<ModelHold> holds_;
  std::vector<ModelRestriction> restrictions_;
  bool swept_ = false;
  std::string log_;
  std::vector<bool> present_before_;
  bool segments_touched_ = true;
};

}  // namespace

TEST_CASE(
    "R2 R3 R7: random sequences of recording, holds, erasure, restriction, sweeps, clock "
    "faults and crashes keep every retention promise",
    "[firmware][retention][property][R2][R3][R7]") {
#if defined(__SANITIZE_ADDRESS__)
  constexpr int64_t kDefaultSequences = 500;  // the sanitizer build is several times slower
#else
  constexpr int64_t kDefaultSequences = 2000;
#endif
  const int64_t sequences = env_or("YW_PROPERTY_SEQUENCES", kDefaultSequences);
  const auto base_seed = static_cast<uint64_t>(env_or("YW_PROPERTY_SEED", 20261125));
  ScratchRoot scratch;
  for (int64_t i = 0; i < sequences; ++i) {
    const uint64_t seed = base_seed + static_cast<uint64_t>(i);
    const fs::path root = scratch.path() / std::to_string(i);
    fs::create_directories(root);
    {
      Sequence sequence(seed, root);
      const int steps = 12 + static_cast<int>(seed % 19);
      for (int step = 0; step < steps; ++step) sequence.step();
      INFO("YW_PROPERTY_SEED=" << seed << " YW_PROPERTY_SEQUENCES=1; steps:\n" << sequence.log());
      sequence.finish();
    }
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
}
