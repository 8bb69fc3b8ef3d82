#include "yardwatch/hal/removable_media.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "test_support.h"

namespace yardwatch::hal {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::span<const uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string read_back(MediaTarget& target, const std::string& name) {
  std::string out;
  auto status = target.read_back(name, [&](std::span<const uint8_t> piece) -> Status {
    out.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    return {};
  });
  REQUIRE(status.ok());
  return out;
}

TEST_CASE("a directory medium creates a fresh target, writes, syncs and reads back", "[media]") {
  TempDir dir;
  DirectoryMedia media(dir.path(), "test stick");
  auto listed = media.list();
  REQUIRE(listed.ok());
  REQUIRE(listed.value().size() == 1);
  CHECK(listed.value()[0].id == media.id());
  CHECK(listed.value()[0].free_bytes > 0);

  auto target = media.create_target(media.id(), "bundle");
  REQUIRE(target.ok());
  CHECK((fs::status(dir / "bundle").permissions() & fs::perms::others_all) == fs::perms::none);
  auto file = target.value()->create_file("a.txt");
  REQUIRE(file.ok());
  REQUIRE(file.value()->write(bytes_of("hello ")).ok());
  REQUIRE(file.value()->write(bytes_of("stick")).ok());
  CHECK(file.value()->bytes_written() == 11);
  REQUIRE(file.value()->finish().ok());
  REQUIRE(target.value()->sync().ok());
  CHECK(read_back(*target.value(), "a.txt") == "hello stick");
  REQUIRE(target.value()->rename_file("a.txt", "b.txt").ok());
  CHECK(target.value()->list_files().value() == std::vector<std::string>{"b.txt"});

  // Never an existing directory, an existing file, or a name with a path in it.
  CHECK(media.create_target(media.id(), "bundle").error().kind == ErrorKind::kAlreadyExists);
  CHECK(media.create_target("dir:/elsewhere", "x").error().kind == ErrorKind::kNotFound);
  CHECK(media.create_target(media.id(), "../escape").error().kind == ErrorKind::kInvalidArgument);
  CHECK(target.value()->create_file("b.txt").error().kind == ErrorKind::kAlreadyExists);
  CHECK(target.value()->create_file("sub/c.txt").error().kind == ErrorKind::kInvalidArgument);
  CHECK(target.value()->create_file(".hidden").error().kind == ErrorKind::kInvalidArgument);

  REQUIRE(target.value()->remove_all().ok());
  CHECK_FALSE(fs::exists(dir / "bundle"));
}

TEST_CASE("a target directory removed mid-write is noticed although the writes still succeed",
          "[media]") {
  TempDir dir;
  auto target = open_directory_target(dir / "bundle");
  REQUIRE(target.ok());
  auto file = target.value()->create_file("footage.mp4.enc");
  REQUIRE(file.ok());
  REQUIRE(file.value()->write(bytes_of("first part")).ok());
  fs::remove_all(dir / "bundle");  // the stick's directory is gone
  // Linux keeps the open file: the write "succeeds", which is why presence is checked.
  CHECK(file.value()->write(bytes_of("second part")).ok());
  const Status present = target.value()->check_present();
  REQUIRE_FALSE(present.ok());
  CHECK(present.error().kind == ErrorKind::kUnavailable);
  CHECK(present.error().message.find("removed") != std::string::npos);
  CHECK(target.value()->create_file("README.txt").error().kind == ErrorKind::kUnavailable);
  CHECK(target.value()->sync().error().kind == ErrorKind::kUnavailable);

  // A directory recreated at the same path is not the one the export created.
  fs::create_directories(dir / "bundle");
  CHECK(target.value()->check_present().error().kind == ErrorKind::kUnavailable);
}

TEST_CASE("valid_media_file_name accepts plain names only", "[media]") {
  CHECK(valid_media_file_name("001_schoolplein_20261125T100000Z.mp4.enc"));
  CHECK(valid_media_file_name("manifest.sig.partial"));
  CHECK_FALSE(valid_media_file_name(""));
  CHECK_FALSE(valid_media_file_name(".."));
  CHECK_FALSE(valid_media_file_name("a/b"));
  CHECK_FALSE(valid_media_file_name("met spatie"));
  CHECK_FALSE(valid_media_file_name(std::string(129, 'a')));
}

}  // namespace
}  // namespace yardwatch::hal
