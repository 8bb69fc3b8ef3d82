#include "yardwatch/recorder/catalog.h"

#include <catch2/catch.hpp>

#include "test_support.h"

using namespace yardwatch;
using namespace yardwatch::recorder;
using yardwatch::testing::TempDir;

namespace {
CameraSpec camera_spec(const std::string& name) {
  CameraSpec spec;
  spec.name = name;
  spec.url = "rtsp://127.0.0.1:8554/" + name;
  spec.zone = "schoolyard";
  return spec;
}
}  // namespace

TEST_CASE("catalog stores cameras and segments in a real SQLite file", "[recorder][catalog]") {
  TempDir dir;
  auto catalog = Catalog::open(dir / "catalog.db", true);
  REQUIRE(catalog.ok());
  auto& c = *catalog.value();
  auto camera = c.add_camera(camera_spec("cam1"), 1000);
  REQUIRE(camera.ok());
  auto duplicate = c.add_camera(camera_spec("cam1"), 1000);
  REQUIRE_FALSE(duplicate.ok());
  CHECK(duplicate.error().kind == ErrorKind::kAlreadyExists);

  int64_t wrapped_for = 0;
  auto row = c.begin_segment({camera.value().id, 5'000'000, "h264", 640, 360}, [&](int64_t id) {
    wrapped_for = id;
    return std::vector<uint8_t>{1, 2, 3};
  });
  REQUIRE(row.ok());
  CHECK(wrapped_for == row.value().id);
  CHECK(c.segments_in_state(SegmentState::kRecording).value().size() == 1);
  REQUIRE(
      c.complete_segment(row.value().id, {65'000'000, 1234, 30, std::vector<uint8_t>(32, 7)}).ok());

  // Reopen: everything was committed to the file.
  catalog.value().reset();
  auto reopened = Catalog::open(dir / "catalog.db", false);
  REQUIRE(reopened.ok());
  auto segment = reopened.value()->segment(row.value().id);
  REQUIRE(segment.ok());
  REQUIRE(segment.value().has_value());
  CHECK(segment.value()->state == SegmentState::kComplete);
  CHECK(segment.value()->end_utc_us == 65'000'000);
  CHECK(segment.value()->wrapped_key == std::vector<uint8_t>{1, 2, 3});
  CHECK(reopened.value()->last_end_for_camera(camera.value().id).value() == 65'000'000);
  auto in_range = reopened.value()->segments_for_camera(camera.value().id, 60'000'000, 70'000'000);
  CHECK(in_range.value().size() == 1);
  auto outside = reopened.value()->segments_for_camera(camera.value().id, 66'000'000, 70'000'000);
  CHECK(outside.value().empty());
}

TEST_CASE("segment ids are never reused after deletion", "[recorder][catalog]") {
  TempDir dir;
  auto catalog = Catalog::open(dir / "catalog.db", true).value().release();
  std::unique_ptr<Catalog> owner(catalog);
  auto camera = catalog->add_camera(camera_spec("cam1"), 0).value();
  auto wrap = [](int64_t) { return std::vector<uint8_t>{0}; };
  auto first = catalog->begin_segment({camera.id, 0, "h264", 1, 1}, wrap).value();
  REQUIRE(catalog->delete_segment(first.id).ok());
  auto second = catalog->begin_segment({camera.id, 0, "h264", 1, 1}, wrap).value();
  CHECK(second.id > first.id);
}

TEST_CASE("catalog migrations: a fresh file reaches the current version, a newer one is refused",
          "[recorder][catalog]") {
  TempDir dir;
  {
    auto db = sql::Database::open(dir / "old.db", true);
    REQUIRE(db.ok());
    CHECK(db.value()->user_version().value() == 0);
    // Every older version (0 … current-1) upgrades to the current one.
    for (int from = 0; from < Catalog::latest_version(); ++from) {
      auto path = dir / ("v" + std::to_string(from) + ".db");
      auto old_db = sql::Database::open(path, true);
      REQUIRE(Catalog::migrate(*old_db.value(), from).ok());
      CHECK(old_db.value()->user_version().value() == from);
      old_db.value().reset();
      auto upgraded = Catalog::open(path, false);
      REQUIRE(upgraded.ok());
      CHECK(upgraded.value()->cameras().ok());
    }
  }
  {
    auto db = sql::Database::open(dir / "future.db", true);
    REQUIRE(db.value()->exec("PRAGMA user_version = 99").ok());
  }
  auto refused = Catalog::open(dir / "future.db", false);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kFailedPrecondition);
}

TEST_CASE("alarms are raised once and cleared", "[recorder][catalog]") {
  TempDir dir;
  auto catalog = Catalog::open(dir / "catalog.db", true);
  auto& c = *catalog.value();
  auto camera = c.add_camera(camera_spec("cam1"), 0).value();
  REQUIRE(c.raise_alarm("disk_full", camera.id, "full", 1).ok());
  REQUIRE(c.raise_alarm("disk_full", camera.id, "full", 2).ok());
  CHECK(c.open_alarms().value().size() == 1);
  REQUIRE(c.clear_alarm("disk_full", camera.id, 3).ok());
  CHECK(c.open_alarms().value().empty());
}

TEST_CASE("hostile names are data, not SQL", "[recorder][catalog]") {
  TempDir dir;
  auto catalog = Catalog::open(dir / "catalog.db", true);
  auto& c = *catalog.value();
  auto spec = camera_spec("x");
  spec.location = "'); DROP TABLE segments; --";
  REQUIRE(c.add_camera(spec, 0).ok());
  CHECK(c.camera_by_name("x").value().spec.location == spec.location);
  CHECK(c.all_segments().ok());
  CHECK_FALSE(c.camera_by_name("x' OR '1'='1").ok());
}

TEST_CASE("a catalog operation inside an outer transaction commits or rolls back with it",
          "[recorder][catalog]") {
  TempDir dir;
  auto catalog = Catalog::open(dir / "catalog.db", true);
  auto& c = *catalog.value();
  auto camera = c.add_camera(camera_spec("cam1"), 0).value();
  auto wrap = [](int64_t) { return std::vector<uint8_t>{0}; };
  {
    std::lock_guard lock(c.mutex());
    auto outer = sql::Transaction::begin(c.database());
    REQUIRE(outer.ok());
    REQUIRE(c.begin_segment({camera.id, 0, "h264", 1, 1}, wrap).ok());
    // outer goes out of scope without commit: everything inside is rolled back
  }
  CHECK(c.all_segments().value().empty());
  {
    std::lock_guard lock(c.mutex());
    auto outer = sql::Transaction::begin(c.database());
    REQUIRE(c.begin_segment({camera.id, 0, "h264", 1, 1}, wrap).ok());
    REQUIRE(outer.value().commit().ok());
  }
  CHECK(c.all_segments().value().size() == 1);
}
