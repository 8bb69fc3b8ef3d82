// hal::UsbMedia with a loop device standing in for a USB stick (an ext4 image attached with
// losetup): listed, mounted nosuid,nodev,noexec, written and read back, ejected; and pulled
// out (its mount detached) in the middle of a write, which every later step reports plainly.

#include "yardwatch/hal/usb_media.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "test_support.h"
#include "volume_fixture.h"

using namespace yardwatch;
using namespace yardwatch::hal;
using namespace yardwatch::testing;
namespace fs = std::filesystem;

namespace {

constexpr const char* kStickUuid = "7e57c0de-0000-4b4b-9c9c-000000005715";

UsbMediaOptions stand_in(const fs::path& mount_root, const std::string& device) {
  UsbMediaOptions options;
  options.mount_root = mount_root;
  options.eligible = [device](const BlockDeviceInfo& info) { return info.node == device; };
  return options;
}

std::string mount_options(const fs::path& point) {
  return run_command({"/usr/bin/findmnt", "-n", "-o", "VFS-OPTIONS", point.string()}).out;
}

const std::vector<uint8_t> kBytes(100000, 0x5a);

}  // namespace

TEST_CASE("UsbMedia lists, mounts nosuid,nodev,noexec, writes, reads back and ejects a stick",
          "[hal][media][root]") {
  TempDir work("yw-stick");
  LoopVolume stick(work / "stick.img", kStickUuid, 32);
  const std::string device = stick.attach();
  UsbMedia media(stand_in(work / "media", device));
  const std::string id = std::string("usb:") + kStickUuid;

  auto listed = media.list();
  REQUIRE(listed.ok());
  REQUIRE(listed.value().size() == 1);
  CHECK(listed.value()[0].id == id);
  CHECK(listed.value()[0].root.empty());  // not mounted yet
  CHECK_THAT(listed.value()[0].label, Catch::Contains("ext4"));

  // A loop device is no USB stick to the default rule.
  UsbMediaOptions usb_only;
  usb_only.mount_root = work / "media";
  auto real_sticks = UsbMedia(usb_only).list();
  REQUIRE(real_sticks.ok());
  for (const auto& info : real_sticks.value()) CHECK(info.id != id);

  auto mounted = media.mount(id);
  INFO((mounted.ok() ? mounted.value().string() : mounted.error().message));
  REQUIRE(mounted.ok());
  const std::string options = mount_options(mounted.value());
  CHECK_THAT(options,
             Catch::Contains("nosuid") && Catch::Contains("nodev") && Catch::Contains("noexec"));
  CHECK(media.list().value()[0].root == mounted.value());

  auto target = media.create_target(id, "PL0900-2026123456");
  REQUIRE(target.ok());
  auto file = target.value()->create_file("clip.mp4.enc");
  REQUIRE(file.ok());
  REQUIRE(file.value()->write(kBytes).ok());
  REQUIRE(file.value()->finish().ok());
  REQUIRE(target.value()->sync().ok());
  CHECK(target.value()->check_present().ok());
  size_t read = 0;
  REQUIRE(target.value()
              ->read_back("clip.mp4.enc",
                          [&](std::span<const uint8_t> bytes) {
                            read += bytes.size();
                            return ok_status();
                          })
              .ok());
  CHECK(read == kBytes.size());
  target.value().reset();

  auto ejected = media.eject(id);
  REQUIRE(ejected.ok());
  CHECK(ejected.value().was_mounted);
  CHECK(ejected.value().device_present);
  CHECK_FALSE(fs::exists(mounted.value()));
  CHECK(media.list().value()[0].root.empty());
  CHECK_FALSE(media.eject(id).value().was_mounted);

  // What was written is on the stick: mount it elsewhere and look.
  const fs::path elsewhere = work / "elsewhere";
  fs::create_directories(elsewhere);
  REQUIRE(run_command({"/bin/mount", "-o", "ro", device, elsewhere.string()}).exit_code == 0);
  CHECK(fs::file_size(elsewhere / "PL0900-2026123456" / "clip.mp4.enc") == kBytes.size());
  REQUIRE(run_command({"/bin/umount", elsewhere.string()}).exit_code == 0);
}

TEST_CASE("UsbMedia: a stick pulled out in the middle of a write is reported plainly",
          "[hal][media][root]") {
  TempDir work("yw-stick");
  LoopVolume stick(work / "stick.img", kStickUuid, 32);
  const std::string device = stick.attach();
  UsbMedia media(stand_in(work / "media", device));
  const std::string id = std::string("usb:") + kStickUuid;
  auto target = media.create_target(id, "bundle");  // mounts it (root)
  REQUIRE(target.ok());
  const fs::path point = target.value()->path().parent_path();
  auto file = target.value()->create_file("part.enc");
  REQUIRE(file.ok());
  REQUIRE(file.value()->write(kBytes).ok());

  // Pulled: the stick's mount goes away under the writer.
  REQUIRE(run_command({"/bin/umount", "-l", point.string()}).exit_code == 0);
  auto present = target.value()->check_present();
  REQUIRE_FALSE(present.ok());
  CHECK(present.error().kind == ErrorKind::kUnavailable);
  CHECK_THAT(present.error().message,
             Catch::Contains("no longer mounted") && Catch::Contains("incomplete"));
  auto next = target.value()->create_file("next.enc");
  REQUIRE_FALSE(next.ok());
  CHECK(next.error().kind == ErrorKind::kUnavailable);
  file.value().reset();
  target.value().reset();
  // Creating a new target on a stick that is not mounted any more mounts it again.
  auto again = media.create_target(id, "bundle-2");
  REQUIRE(again.ok());
  again.value().reset();
  REQUIRE(media.eject(id).ok());
  // A stick that is gone entirely.
  stick.detach();
  auto gone = media.create_target(id, "bundle-3");
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().kind == ErrorKind::kNotFound);
}

TEST_CASE("UsbMedia refuses a directory name that is a path", "[hal][media]") {
  UsbMedia media(UsbMediaOptions{});
  auto refused = media.create_target("usb:anything", "../etc");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kInvalidArgument);
}
