// Provisioning and factory reset on a real data directory and key directory.

#include "yardwatch/firmware/provisioning.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "appliance_fixture.h"
#include "test_support.h"
#include "yardwatch/firmware/audit_format.h"
#include "yardwatch/firmware/services.h"

using namespace yardwatch;
using namespace yardwatch::firmware;
using yardwatch::testing::TempDir;
namespace fs = std::filesystem;

TEST_CASE("init prints the device fingerprint and the setup code, also on a private label",
          "[firmware][provisioning]") {
  TempDir dir;
  ApplianceOptions options{dir / "data", dir / "keys", "host-sim"};
  const fs::path label = label_file_for(options, {});
  CHECK(label == dir / "data.label");
  auto provisioned = provision(options, label, false);
  INFO((provisioned.ok() ? "" : provisioned.error().message));
  REQUIRE(provisioned.ok());
  const Provisioning& p = provisioned.value();
  CHECK(p.key_store == "file");
  CHECK(p.setup_code.size() >= 8);
  auto appliance = Appliance::open(options);
  REQUIRE(appliance.ok());
  CHECK(p.fingerprint ==
        audit_format::key_fingerprint(appliance.value()->keys().signing_public_key()));
  CHECK(p.device_id == appliance.value()->catalog().device_id().value());
  CHECK(p.tls_fingerprint.size() == 95);  // "AB:CD:…", 32 pairs
  const std::string text = yardwatch::testing::read_file(label);
  CHECK_THAT(text, Catch::Contains(p.fingerprint) && Catch::Contains(p.setup_code) &&
                       Catch::Contains(p.device_id) && Catch::Contains(p.tls_fingerprint));
  struct stat info {};
  REQUIRE(::stat(label.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  // The setup code on the label works for the first admin.
  Services services(*appliance.value());
  CHECK(
      services.accounts.create_first_admin("ict", p.setup_code, "a long passphrase 123", "console")
          .ok());
  // A second init is refused and leaves everything as it was.
  CHECK_FALSE(provision(options, label, false).ok());
}

TEST_CASE("factory reset destroys every key (TLS key included), the data and the label",
          "[firmware][provisioning]") {
  TempDir dir;
  ApplianceOptions options{dir / "data", dir / "keys", "host-sim"};
  const fs::path label = label_file_for(options, {});
  REQUIRE(provision(options, label, false).ok());
  // init made the web admin's TLS certificate and key beside the device keys.
  REQUIRE(fs::exists(dir / "keys" / "tls.key"));
  REQUIRE(fs::exists(dir / "keys" / "tls.crt"));
  yardwatch::testing::write_file(dir / "data" / "segments" / "1" / "1.seg", "ciphertext");

  {
    // While yardwatchd records, it is refused.
    auto lock = RecorderLock::acquire(options.data_dir);
    REQUIRE(lock.ok());
    auto refused = factory_reset(options, label);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::kFailedPrecondition);
    CHECK(fs::exists(dir / "keys" / "master.key"));
  }
  auto reset = factory_reset(options, label);
  INFO((reset.ok() ? "" : reset.error().message));
  REQUIRE(reset.ok());
  CHECK(reset.value().audited);
  CHECK(reset.value().keys.files ==
        std::vector<std::string>{"master.key", "signing.key", "tls.crt", "tls.key"});
  CHECK(fs::is_empty(dir / "keys"));
  CHECK(fs::is_empty(dir / "data"));
  CHECK(reset.value().data_entries_removed > 0);
  CHECK_FALSE(fs::exists(label));
  CHECK_FALSE(Appliance::open(options).ok());
  // The appliance can be provisioned afresh, with a new identity.
  auto again = provision(options, label, false);
  REQUIRE(again.ok());
}
