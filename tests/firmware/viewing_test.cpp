#include "yardwatch/firmware/viewing.h"

#include <catch2/catch.hpp>
#include <memory>

#include "test_support.h"
#include "yardwatch/firmware/schema.h"
#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/storage.h"

using namespace yardwatch;
using namespace yardwatch::firmware;

namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kStart = 1'790'000'000 * kSecond;

struct ViewingFixture {
  testing::TempDir dir{"yw-viewing"};
  hal::SimulatedClock clock{kStart};
  std::unique_ptr<recorder::Catalog> catalog;
  std::unique_ptr<hal::FileKeyStore> keys;
  std::unique_ptr<hal::DirectoryStorage> storage;
  std::unique_ptr<AuditJournal> audit;
  std::unique_ptr<FootageService> footage;
  std::unique_ptr<ViewingService> viewing;
  int64_t yard = 0;
  int64_t gate = 0;

  ViewingFixture() {
    auto opened = recorder::Catalog::open(dir / "catalog.db", true, firmware_migrations());
    REQUIRE(opened.ok());
    catalog = std::move(opened).value();
    auto made = hal::FileKeyStore::create(dir / "keys");
    REQUIRE(made.ok());
    keys = std::move(made).value();
    storage = std::make_unique<hal::DirectoryStorage>(dir.path());
    audit = std::make_unique<AuditJournal>(*catalog, clock, *keys);
    footage = std::make_unique<FootageService>(*catalog, *storage, *keys, *audit);
    viewing = std::make_unique<ViewingService>(*catalog, clock, *audit, *footage);
    yard = catalog->add_camera({"yard", "rtsp://x/yard", "schoolyard", "", 28, "tcp"}, kStart)->id;
    gate = catalog->add_camera({"gate", "rtsp://x/gate", "entrance", "", 28, "tcp"}, kStart)->id;
  }

  int64_t segment(int64_t camera, int64_t start, int64_t end, bool complete = true) {
    auto row = catalog->begin_segment({camera, start, "h264", 640, 360},
                                      [](int64_t) { return std::vector<uint8_t>(72, 0); });
    REQUIRE(row.ok());
    if (complete) {
      REQUIRE(catalog->complete_segment(row->id, {end, 100, 1, std::vector<uint8_t>(32, 0)}).ok());
    }
    return row->id;
  }

  Principal person(Role role, std::set<int64_t> cameras = {}) {
    Principal principal;
    principal.account_id = role == Role::kViewer ? 7 : 8;
    principal.name = role == Role::kViewer ? "vera" : "dirk";
    principal.role = role;
    principal.camera_ids = std::move(cameras);
    principal.client_address = "192.0.2.1";
    return principal;
  }

  std::vector<AuditEntry> denials() {
    auto entries = audit->list({});
    REQUIRE(entries.ok());
    std::vector<AuditEntry> denied;
    for (auto& entry : entries.value()) {
      if (!entry.event.allowed) denied.push_back(entry);
    }
    return denied;
  }
};

}  // namespace

TEST_CASE("a timeline lists a camera's segments and the gaps between them", "[viewing]") {
  ViewingFixture f;
  const int64_t t0 = kStart + 3600 * kSecond;
  f.clock.advance_us(2 * 3600 * kSecond);
  f.segment(f.yard, t0, t0 + 60 * kSecond);
  f.segment(f.yard, t0 + 61 * kSecond, t0 + 120 * kSecond);   // 1 s apart: no gap
  f.segment(f.yard, t0 + 300 * kSecond, t0 + 360 * kSecond);  // 3 min later: a gap
  f.segment(f.gate, t0, t0 + 600 * kSecond);                  // another camera: not listed
  auto timeline = f.viewing->timeline(f.person(Role::kDirector), f.yard, t0 - 10 * kSecond,
                                      t0 + 3600 * kSecond);
  REQUIRE(timeline.ok());
  CHECK(timeline->segments.size() == 3);
  REQUIRE(timeline->gaps.size() == 3);
  CHECK(timeline->gaps[0].from_utc_us == t0 - 10 * kSecond);
  CHECK(timeline->gaps[0].to_utc_us == t0);
  CHECK(timeline->gaps[1].from_utc_us == t0 + 120 * kSecond);
  CHECK(timeline->gaps[1].to_utc_us == t0 + 300 * kSecond);
  // The last gap ends now, not at the end of the range (the future is no gap).
  CHECK(timeline->gaps[2].from_utc_us == t0 + 360 * kSecond);
  CHECK(timeline->gaps[2].to_utc_us == f.clock.now_utc_us());
  CHECK(timeline->camera.spec.url.empty());

  // A segment being recorded covers up to now.
  f.segment(f.yard, t0 + 400 * kSecond, t0 + 410 * kSecond, /*complete=*/false);
  timeline = f.viewing->timeline(f.person(Role::kDirector), f.yard, t0, t0 + 3600 * kSecond);
  REQUIRE(timeline.ok());
  CHECK(timeline->segments.back().recording);
  CHECK(timeline->gaps.back().to_utc_us == t0 + 400 * kSecond);

  auto too_long =
      f.viewing->timeline(f.person(Role::kDirector), f.yard, t0, t0 + 9 * 24 * 3600 * kSecond);
  CHECK(too_long.error().kind == ErrorKind::kInvalidArgument);
}

TEST_CASE("R4 R6: timelines and viewings follow the role matrix and camera assignment, audited",
          "[viewing]") {
  ViewingFixture f;
  const int64_t t0 = kStart;
  f.clock.advance_us(3600 * kSecond);
  const int64_t gate_segment = f.segment(f.gate, t0, t0 + 60 * kSecond);
  const auto viewer = f.person(Role::kViewer, {f.yard});
  CHECK(f.viewing->timeline(viewer, f.gate, t0, t0 + 3600 * kSecond).error().kind ==
        ErrorKind::kPermissionDenied);
  CHECK(f.viewing->timeline(viewer, f.yard, t0, t0 + 3600 * kSecond).ok());
  CHECK(f.viewing->timeline(f.person(Role::kAdmin), f.yard, t0, t0 + 3600 * kSecond).error().kind ==
        ErrorKind::kPermissionDenied);
  CHECK(f.viewing->open_recorded(viewer, f.gate, t0, t0 + 60 * kSecond, "looking at the gate")
            .error()
            .kind == ErrorKind::kPermissionDenied);
  CHECK(f.viewing
            ->open_recorded(f.person(Role::kPrivacyOfficer), f.yard, t0, t0 + 60 * kSecond,
                            "looking at the yard")
            .error()
            .kind == ErrorKind::kPermissionDenied);
  // A purpose is required before anything opens.
  CHECK(f.viewing->open_recorded(viewer, f.yard, t0, t0 + 60 * kSecond, "why").error().kind ==
        ErrorKind::kInvalidArgument);

  auto opened =
      f.viewing->open_recorded(viewer, f.yard, t0, t0 + 3600 * kSecond, "bicycle stolen on Monday");
  REQUIRE(opened.ok());
  // The other camera's segment, asked for through the viewer's own viewing: refused, audited.
  auto other = f.viewing->read_segment(viewer, opened->id, gate_segment);
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().kind == ErrorKind::kPermissionDenied);
  // Somebody else's viewing does not exist for them.
  auto director = f.person(Role::kDirector);
  CHECK(f.viewing->get(director, opened->id).error().kind == ErrorKind::kNotFound);

  const auto denied = f.denials();
  std::set<std::string> seen;
  for (const auto& entry : denied) seen.insert(entry.event.action + " " + entry.event.camera);
  CHECK(seen.count("timeline_read gate") == 1);
  CHECK(seen.count("timeline_read yard") == 1);  // the admin's attempt
  CHECK(seen.count("viewing_open gate") == 1);
  CHECK(seen.count("viewing_open yard") == 1);  // the privacy officer, and the missing purpose
  CHECK(seen.count("view_recorded gate") == 1);
  CHECK(seen.count("viewing_use yard") == 1);

  auto entries = f.audit->list({});
  REQUIRE(entries.ok());
  bool opening_recorded = false;
  for (const auto& entry : entries.value()) {
    if (entry.event.action == "viewing_open" && entry.event.allowed) {
      opening_recorded = entry.event.purpose == "bicycle stolen on Monday" &&
                         entry.event.camera == "yard" && entry.actor.name == "vera" &&
                         entry.event.range_from_utc_us == t0;
    }
  }
  CHECK(opening_recorded);
}

TEST_CASE("a live viewing needs the recorder's feed and reads only memory", "[viewing]") {
  ViewingFixture f;
  const auto director = f.person(Role::kDirector);
  CHECK(f.viewing->open_live(director, f.yard, "watching the yard").error().kind ==
        ErrorKind::kUnavailable);
  recorder::LiveHub hub;
  f.viewing->attach_live(&hub);
  auto live = f.viewing->open_live(director, f.yard, "watching the yard");
  REQUIRE(live.ok());
  CHECK(f.viewing->live_init(director, live->id).error().kind == ErrorKind::kUnavailable);
  recorder::TrackInfo track;
  track.width = 640;
  track.height = 360;
  track.codec_config = {1, 0x64, 0, 0x1f, 0xff, 0xe0, 0x00};
  auto feed = hub.feed(f.yard);
  feed->publish_track(track);
  auto init = f.viewing->live_init(director, live->id);
  REQUIRE(init.ok());
  CHECK(!init->bytes->empty());
  feed->publish_fragment(kStart, {1, 2, 3});
  auto next = f.viewing->live_next(director, live->id, 0, std::chrono::milliseconds(10));
  REQUIRE(next.ok());
  REQUIRE(next->has_value());
  CHECK(*next.value()->bytes == std::vector<uint8_t>{1, 2, 3});
  // The admin may look live (setup preview) but not at recordings.
  CHECK(f.viewing->open_live(f.person(Role::kAdmin), f.yard, "installation check").ok());
  CHECK(f.viewing->open_live(f.person(Role::kViewer, {f.gate}), f.yard, "watching the yard")
            .error()
            .kind == ErrorKind::kPermissionDenied);
  CHECK(f.viewing->close(director, live->id).ok());
  CHECK(f.viewing->live_init(director, live->id).error().kind == ErrorKind::kNotFound);
}
