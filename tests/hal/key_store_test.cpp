#include "yardwatch/hal/key_store.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "test_support.h"

using namespace yardwatch;
using namespace yardwatch::hal;
using yardwatch::testing::TempDir;

TEST_CASE("FileKeyStore creates private keys and reads them back", "[hal][keys]") {
  TempDir dir;
  auto key_dir = dir / "keys";
  auto created = FileKeyStore::create(key_dir);
  REQUIRE(created.ok());
  struct stat info {};
  REQUIRE(::stat(key_dir.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0700);
  REQUIRE(::stat((key_dir / "master.key").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  CHECK(info.st_size == 32);

  auto opened = FileKeyStore::open(key_dir);
  REQUIRE(opened.ok());
  CHECK(std::equal(opened.value()->master_key().span().begin(),
                   opened.value()->master_key().span().end(),
                   created.value()->master_key().span().begin()));
  CHECK(opened.value()->signing_public_key() == created.value()->signing_public_key());

  SECTION("refuses to overwrite existing keys") {
    auto again = FileKeyStore::create(key_dir);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().kind == ErrorKind::kAlreadyExists);
  }
  SECTION("refuses a key file readable by others") {
    ::chmod((key_dir / "master.key").c_str(), 0644);
    auto refused = FileKeyStore::open(key_dir);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::kPermissionDenied);
    CHECK(refused.error().message.find("master.key") != std::string::npos);
  }
  SECTION("refuses a key directory open to the group") {
    ::chmod(key_dir.c_str(), 0750);
    auto refused = FileKeyStore::open(key_dir);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::kPermissionDenied);
  }
  SECTION("refuses a truncated key") {
    ::truncate((key_dir / "signing.key").c_str(), 10);
    auto refused = FileKeyStore::open(key_dir);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::kDataLoss);
  }
}

TEST_CASE("the default key directory sits beside the data directory, not inside it",
          "[hal][keys]") {
  CHECK(default_key_dir("/srv/yardwatch/data") == "/srv/yardwatch/data.keys");
  CHECK(default_key_dir("/srv/yardwatch/data/") == "/srv/yardwatch/data.keys");
}
