// Provisioning and factory reset on a real data directory and key directory.

#include "yardwatch/firmware/provisioning.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <optional>

#include "appliance_fixture.h"
#include "test_support.h"
#include "yardwatch/firmware/audit_format.h"
#include "yardwatch/firmware/reset_marker.h"
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
  // Nothing of the data is left but the reset's own marker (for the breach register, R8).
  CHECK(reset.value().marker_written);
  std::vector<fs::path> left;
  for (const auto& entry : fs::directory_iterator(dir / "data")) left.push_back(entry.path());
  CHECK(left == std::vector<fs::path>{reset_marker_path(dir / "data")});
  CHECK(reset.value().data_entries_removed > 0);
  CHECK_FALSE(fs::exists(label));
  CHECK_FALSE(Appliance::open(options).ok());
  // The appliance can be provisioned afresh, with a new identity.
  auto again = provision(options, label, false);
  REQUIRE(again.ok());
}

namespace {

// Sets an environment variable (the simulated clock) for a scope, then puts it back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) previous_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (previous_) {
      ::setenv(name_, previous_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> previous_;
};

// The breach register's factory_reset entries of the appliance at `options`.
std::vector<Breach> reset_breaches(const ApplianceOptions& options) {
  auto appliance = Appliance::open(options);
  REQUIRE(appliance.ok());
  Services services(*appliance.value());
  auto entries = services.breaches.list(nullptr);
  REQUIRE(entries.ok());
  std::vector<Breach> found;
  for (const auto& entry : entries.value()) {
    if (entry.kind == "factory_reset") found.push_back(entry);
  }
  return found;
}

}  // namespace

TEST_CASE("R8: a factory reset is registered as a breach at the first start after it",
          "[firmware][provisioning][fault]") {
  TempDir dir;
  ApplianceOptions options{dir / "data", dir / "keys", "host-sim"};
  const fs::path label = label_file_for(options, {});
  REQUIRE(provision(options, label, false).ok());
  const ScopedEnv reset_time("YARDWATCH_SIM_NOW", "2030-05-06T07:08:09Z");
  auto reset = factory_reset(options, label);
  REQUIRE(reset.ok());
  REQUIRE(reset.value().marker_written);
  const auto marker = read_reset_marker(options.data_dir, 0);
  REQUIRE(marker.ok());
  REQUIRE(marker.value().size() == 1);
  const int64_t reset_at = marker.value().front().reset_utc_us;
  CHECK(hal::format_iso8601_utc(reset_at).starts_with("2030-05-06T07:08:09"));
  CHECK(marker.value().front().audited);

  // The next day the appliance is provisioned again: its register starts with the reset.
  const ScopedEnv next_day("YARDWATCH_SIM_NOW", "2030-05-07T10:00:00Z");
  REQUIRE(provision(options, label, false).ok());
  CHECK_FALSE(fs::exists(reset_marker_path(options.data_dir)));
  auto entries = reset_breaches(options);
  REQUIRE(entries.size() == 1);
  CHECK(entries.front().detected_utc_us == reset_at);
  CHECK(entries.front().deadline_utc_us == reset_at + kBreachReportTermUs);
  CHECK(entries.front().source == "alarm");
  CHECK(entries.front().description.find("2030-05-06T07:08:09") != std::string::npos);
  CHECK(entries.front().description.find("recorded it") != std::string::npos);
  // Every later start leaves it at one entry.
  CHECK(reset_breaches(options).size() == 1);
}

TEST_CASE("R8: two factory resets without a start between are two breaches, a damaged marker one",
          "[firmware][provisioning][fault]") {
  TempDir dir;
  ApplianceOptions options{dir / "data", dir / "keys", "host-sim"};
  const fs::path label = label_file_for(options, {});
  REQUIRE(provision(options, label, false).ok());
  {
    const ScopedEnv first("YARDWATCH_SIM_NOW", "2030-05-06T07:00:00Z");
    REQUIRE(factory_reset(options, label).ok());
  }
  {
    // The second reset finds no appliance to audit it, and keeps the first in the marker.
    const ScopedEnv second("YARDWATCH_SIM_NOW", "2030-05-06T08:00:00Z");
    auto reset = factory_reset(options, label);
    REQUIRE(reset.ok());
    CHECK_FALSE(reset.value().audited);
    CHECK(reset.value().marker_written);
  }
  {
    const ScopedEnv start("YARDWATCH_SIM_NOW", "2030-05-06T09:00:00Z");
    REQUIRE(provision(options, label, false).ok());
  }
  auto entries = reset_breaches(options);
  REQUIRE(entries.size() == 2);
  CHECK(hal::format_iso8601_utc(entries[0].detected_utc_us).starts_with("2030-05-06T08:00"));
  CHECK(entries[0].description.find("could not record it") != std::string::npos);
  CHECK(hal::format_iso8601_utc(entries[1].detected_utc_us).starts_with("2030-05-06T07:00"));

  // A marker someone damaged still registers a reset, at the time it was found.
  {
    const ScopedEnv later("YARDWATCH_SIM_NOW", "2030-05-08T09:00:00Z");
    REQUIRE(factory_reset(options, label).ok());
    yardwatch::testing::write_file(reset_marker_path(options.data_dir), "{\"version\": 1, \"res");
    REQUIRE(provision(options, label, false).ok());
  }
  entries = reset_breaches(options);
  REQUIRE(entries.size() == 1);
  CHECK(entries.front().description.find("damaged") != std::string::npos);
  CHECK(hal::format_iso8601_utc(entries.front().detected_utc_us).starts_with("2030-05-08T09:00"));
}
