#include "yardwatch/hal/key_store.h"

#include <sodium.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "appliance_fixture.h"
#include "software_tpm.h"
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

TEST_CASE("SimulatedKeyStore holds fresh keys in memory only", "[hal][keys]") {
  SimulatedKeyStore first;
  SimulatedKeyStore second;
  CHECK(first.master_key().size() == kMasterKeyBytes);
  CHECK(first.kind() == "simulated");
  CHECK(first.signing_public_key() != second.signing_public_key());
  CHECK(std::memcmp(first.master_key().data(), second.master_key().data(), kMasterKeyBytes) != 0);
}

TEST_CASE("factory reset destroys every file in the key directory, TLS key included",
          "[hal][keys]") {
  TempDir dir;
  const auto key_dir = dir / "keys";
  KeyStoreOptions options{key_dir, KeyStoreKind::kFile, ""};
  auto created = create_key_store(options);
  REQUIRE(created.ok());
  CHECK(created.value()->kind() == "file");
  yardwatch::testing::write_file(key_dir / "tls.key", "-----BEGIN PRIVATE KEY-----\n");
  REQUIRE(open_key_store(options).ok());
  auto destroyed = destroy_key_store(options);
  REQUIRE(destroyed.ok());
  CHECK(destroyed.value().files ==
        std::vector<std::string>{"master.key", "signing.key", "tls.key"});
  CHECK_FALSE(destroyed.value().tpm_cleared);
  CHECK(std::filesystem::is_empty(key_dir));
  auto reopened = open_key_store(options);
  REQUIRE_FALSE(reopened.ok());
  CHECK(reopened.error().kind == ErrorKind::kNotFound);
  // Fresh keys can be made afterwards (a re-provisioned appliance).
  CHECK(create_key_store(options).ok());
}

TEST_CASE("the key store is opened by what created it, not by the board option", "[hal][keys]") {
  TempDir dir;
  KeyStoreOptions file_options{dir / "keys", KeyStoreKind::kFile, ""};
  REQUIRE(create_key_store(file_options).ok());
  // Auto on a board whose TPM device is absent: files.
  KeyStoreOptions auto_options{dir / "keys2", KeyStoreKind::kAuto, "device:/nonexistent/tpmrm0"};
  auto automatic = create_key_store(auto_options);
  REQUIRE(automatic.ok());
  CHECK(automatic.value()->kind() == "file");
  // A TPM board option with key files already there opens the files it finds.
  KeyStoreOptions tpm_options{dir / "keys", KeyStoreKind::kTpm, "device:/nonexistent/tpmrm0"};
  auto opened = open_key_store(tpm_options);
  REQUIRE(opened.ok());
  CHECK(opened.value()->kind() == "file");
  // A TPM that is configured but not there fails create loudly.
  KeyStoreOptions missing{dir / "keys3", KeyStoreKind::kTpm, "device:/nonexistent/tpmrm0"};
  auto refused = create_key_store(missing);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kUnavailable);
}

TEST_CASE("TpmKeyStore seals the device keys in a (software) TPM 2.0 and a TPM clear destroys them",
          "[hal][keys][tpm]") {
  TempDir dir;
  yardwatch::testing::SoftwareTpm tpm(dir.path());
  const auto key_dir = dir / "keys";
  KeyStoreOptions options{key_dir, KeyStoreKind::kAuto, tpm.tcti()};
  auto created = create_key_store(options);
  INFO((created.ok() ? "" : created.error().message));
  REQUIRE(created.ok());
  CHECK(created.value()->kind() == "tpm");
  // Only the sealed blob is on disk: no key bytes in any file.
  CHECK_FALSE(std::filesystem::exists(key_dir / "master.key"));
  const std::string blob = yardwatch::testing::read_file(key_dir / "device-keys.tpm");
  const std::string master(reinterpret_cast<const char*>(created.value()->master_key().data()),
                           kMasterKeyBytes);
  CHECK(blob.find(master) == std::string::npos);
  struct stat info {};
  REQUIRE(::stat((key_dir / "device-keys.tpm").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);

  auto opened = open_key_store(options);
  INFO((opened.ok() ? "" : opened.error().message));
  REQUIRE(opened.ok());
  CHECK(opened.value()->kind() == "tpm");
  CHECK(std::memcmp(opened.value()->master_key().data(), created.value()->master_key().data(),
                    kMasterKeyBytes) == 0);
  CHECK(opened.value()->signing_public_key() == created.value()->signing_public_key());
  // The signing key works: a signature made with it verifies with the public key.
  std::array<uint8_t, crypto_sign_BYTES> signature{};
  const uint8_t message[] = {'y', 'w'};
  crypto_sign_detached(signature.data(), nullptr, message, sizeof(message),
                       opened.value()->signing_secret_key().data());
  CHECK(crypto_sign_verify_detached(signature.data(), message, sizeof(message),
                                    opened.value()->signing_public_key().data()) == 0);

  // A copy of the blob survives the reset...
  const std::string copy = yardwatch::testing::read_file(key_dir / "device-keys.tpm");
  auto destroyed = destroy_key_store(options);
  REQUIRE(destroyed.ok());
  CHECK(destroyed.value().tpm_cleared);
  CHECK(destroyed.value().files == std::vector<std::string>{"device-keys.tpm"});
  // ...but the cleared TPM cannot open it any more.
  yardwatch::testing::write_file(key_dir / "device-keys.tpm", copy);
  ::chmod((key_dir / "device-keys.tpm").c_str(), 0600);
  auto after_reset = open_key_store(options);
  REQUIRE_FALSE(after_reset.ok());
  CHECK_THAT(after_reset.error().message, Catch::Contains("load the sealed device keys"));
}

TEST_CASE("TpmKeyStore refuses a damaged blob and a TPM that is not there", "[hal][keys][tpm]") {
  TempDir dir;
  const auto key_dir = dir / "keys";
  std::filesystem::create_directories(key_dir);
  ::chmod(key_dir.c_str(), 0700);
  yardwatch::testing::write_file(key_dir / "device-keys.tpm", "YWTPM1\n\0garbage");
  ::chmod((key_dir / "device-keys.tpm").c_str(), 0600);
  auto damaged = TpmKeyStore::open(key_dir, "swtpm:host=127.0.0.1,port=1");
  REQUIRE_FALSE(damaged.ok());
  CHECK(damaged.error().kind == ErrorKind::kDataLoss);
  auto absent = TpmKeyStore::create(dir / "other", "swtpm:host=127.0.0.1,port=1");
  REQUIRE_FALSE(absent.ok());
  CHECK(absent.error().kind == ErrorKind::kUnavailable);
}
