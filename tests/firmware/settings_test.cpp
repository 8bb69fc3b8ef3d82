#include "yardwatch/firmware/settings.h"

#include <catch2/catch.hpp>

#include "test_support.h"
#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/appliance.h"

using namespace yardwatch;
using namespace yardwatch::firmware;
using yardwatch::testing::TempDir;

TEST_CASE("policy switches: TOTP required by default, changes audited, bad values refused",
          "[firmware][settings][R6]") {
  TempDir dir;
  auto appliance = Appliance::init({dir / "data", dir / "keys", "host-sim"});
  REQUIRE(appliance.ok());
  auto& app = *appliance.value();
  AuditJournal audit(app.catalog(), app.clock(), app.keys());
  AccountService accounts(app.catalog(), app.clock(), app.keys(), audit);
  CHECK(get_setting(app.catalog(), "policy.require_totp").value() == "1");
  CHECK(accounts.totp_required_for(Role::kDirector));
  CHECK(accounts.totp_required_for(Role::kAdmin));
  CHECK_FALSE(accounts.totp_required_for(Role::kViewer));

  REQUIRE(set_setting(app.catalog(), audit, Actor::console(), "policy.require_totp", "0").ok());
  CHECK_FALSE(accounts.totp_required_for(Role::kDirector));
  auto entries = audit.list({}).value();
  REQUIRE_FALSE(entries.empty());
  CHECK(entries.back().event.action == "setting_change");
  CHECK(entries.back().event.object_id == "policy.require_totp");
  CHECK(entries.back().actor.name == "console");

  CHECK_FALSE(
      set_setting(app.catalog(), audit, Actor::console(), "policy.require_totp", "yes").ok());
  CHECK_FALSE(set_setting(app.catalog(), audit, Actor::console(), "policy.anything", "1").ok());
  CHECK_FALSE(audit.list({}).value().back().event.allowed);
  CHECK(audit.verify().value().ok);
}
