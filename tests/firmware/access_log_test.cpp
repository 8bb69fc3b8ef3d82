// R6 on a real appliance: every sign-in, failed sign-in and lock-out is in the hash-chained
// journal with who (or what name was tried), the role, the client address and the outcome, and
// a signed checkpoint covers them.

#include <catch2/catch.hpp>

#include "test_support.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/firmware/settings.h"
#include "yardwatch/firmware/throttle.h"

using namespace yardwatch;
using namespace yardwatch::firmware;

TEST_CASE("R6: sign-ins, failed sign-ins and lock-outs are logged with name, role and address",
          "[firmware][audit][R6]") {
  testing::TempDir dir("yw-r6");
  auto appliance = Appliance::init({dir / "data", dir / "keys", "host-sim"});
  REQUIRE(appliance.ok());
  Services services(*appliance.value());
  REQUIRE(set_setting(appliance.value()->catalog(), services.audit, Actor::console(),
                      "policy.require_totp", "0")
              .ok());
  const std::string temporary = "tijdelijk-wachtwoord-12";
  REQUIRE(
      services.accounts.add_account(Actor::console(), "directeur", Role::kDirector, {}, temporary)
          .ok());
  REQUIRE(
      services.accounts.change_password({"directeur", temporary, "", "console"}, "blijvend-ww-1234")
          .ok());

  REQUIRE(services.accounts.authenticate({"directeur", "blijvend-ww-1234", "", "192.0.2.10"}).ok());
  for (int i = 0; i < kThrottleFreeFailures + 1; ++i) {
    CHECK_FALSE(
        services.accounts.authenticate({"directeur", "geraden-wachtwoord", "", "198.51.100.4"})
            .ok());
  }
  CHECK_FALSE(
      services.accounts.authenticate({"niemand", "wat-dan-ook-123", "", "198.51.100.5"}).ok());

  AuditFilter logins;
  logins.action = "login";
  const auto entries = services.audit.list(logins).value();
  int allowed = 0;
  int wrong_password = 0;
  int unknown_name = 0;
  for (const auto& entry : entries) {
    INFO(entry.actor.name << " " << entry.actor.client_address << " " << entry.event.reason);
    if (entry.event.allowed) {
      // The password change at the console signed in too; the web sign-in is the other.
      CHECK(entry.actor.name == "directeur");
      CHECK(entry.actor.role == "director");
      CHECK(entry.actor.account_id.has_value());
      if (entry.actor.client_address == "192.0.2.10") ++allowed;
    } else if (entry.actor.name == "directeur" && entry.actor.client_address == "198.51.100.4") {
      ++wrong_password;
      CHECK(entry.actor.role == "unauthenticated");
      CHECK_FALSE(entry.event.reason.empty());
    } else if (entry.actor.name == "niemand") {
      ++unknown_name;
      CHECK(entry.actor.client_address == "198.51.100.5");
    }
  }
  CHECK(allowed == 1);
  CHECK(wrong_password == kThrottleFreeFailures + 1);
  CHECK(unknown_name == 1);
  AuditFilter lockouts;
  lockouts.action = "login_lockout";
  const auto locked = services.audit.list(lockouts).value();
  REQUIRE(locked.size() == 1);
  CHECK(locked.front().actor.client_address == "198.51.100.4");

  // A signed checkpoint covers them, and the chain verifies end to end.
  REQUIRE(services.audit.checkpoint().ok());
  const auto verification = services.audit.verify();
  REQUIRE(verification.ok());
  CHECK(verification.value().ok);
  CHECK(verification.value().checkpoints >= 1);
}
