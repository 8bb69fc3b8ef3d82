#include "yardwatch/firmware/cameras.h"

#include <catch2/catch.hpp>

using namespace yardwatch;
using namespace yardwatch::firmware;

namespace {
recorder::CameraSpec good_camera() {
  recorder::CameraSpec spec;
  spec.name = "yard-north";
  spec.url = "rtsp://10.0.0.5/stream1";
  spec.zone = "schoolyard";
  return spec;
}
}  // namespace

TEST_CASE("R1: cameras in classrooms, toilets, changing or consultation rooms are refused",
          "[firmware][R1]") {
  for (const char* zone : {"classroom", "toilet", "changing_room", "consultation_room"}) {
    INFO(zone);
    auto spec = good_camera();
    spec.zone = zone;
    auto result = validate_camera(spec);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == ErrorKind::kPermissionDenied);
    CHECK(result.error().message.find("R1") != std::string::npos);
  }
  for (auto zone : permitted_zones()) {
    auto spec = good_camera();
    spec.zone = std::string(zone);
    CHECK(validate_camera(spec).ok());
  }
  auto unknown = good_camera();
  unknown.zone = "staff_room";
  CHECK_FALSE(validate_camera(unknown).ok());
}

TEST_CASE("R2: a camera's retention may be shorter than four weeks, never longer",
          "[firmware][R2]") {
  auto spec = good_camera();
  spec.retention_days = 7;
  CHECK(validate_camera(spec).ok());
  spec.retention_days = 28;
  CHECK(validate_camera(spec).ok());
  spec.retention_days = 29;
  auto refused = validate_camera(spec);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("R2") != std::string::npos);
  spec.retention_days = 0;
  CHECK_FALSE(validate_camera(spec).ok());
}

TEST_CASE("camera names and URLs are checked", "[firmware]") {
  auto spec = good_camera();
  spec.name = "../etc";
  CHECK_FALSE(validate_camera(spec).ok());
  spec = good_camera();
  spec.url = "http://10.0.0.5/";
  CHECK_FALSE(validate_camera(spec).ok());
  spec.url = "rtsp://10.0.0.5/a b";
  CHECK_FALSE(validate_camera(spec).ok());
  spec = good_camera();
  spec.transport = "sctp";
  CHECK_FALSE(validate_camera(spec).ok());
}
