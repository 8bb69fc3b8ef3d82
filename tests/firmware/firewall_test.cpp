// The firewall ruleset rendered from a configuration, checked by the real nft (`nft -c -f`:
// parsed and validated by the kernel's netlink interface without being applied).

#include "yardwatch/firmware/firewall.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "appliance_fixture.h"
#include "test_support.h"

using namespace yardwatch;
using namespace yardwatch::firmware;
using namespace yardwatch::testing;

namespace {
CommandResult nft_check(const std::filesystem::path& file) {
  INFO("nft -c talks to the kernel's netfilter and needs root (CAP_NET_ADMIN), as CI has");
  REQUIRE(::geteuid() == 0);
  return run_command({"/usr/sbin/nft", "-c", "-f", file.string()});
}
}  // namespace

TEST_CASE("the rendered firewall passes nft -c for both real boards, IPv4 and IPv6",
          "[firmware][firewall]") {
  TempDir dir;
  for (const std::string board : {"x86-generic", "rpi-cm4"}) {
    Config config;
    config.board = board;
    config.listen = "[::]:8443";
    config.school_lan = {"10.20.0.0/16", "fd12:3456::/32"};
    config.camera_network = {"192.168.50.0/24", "192.168.51.7"};
    config.ntp_servers = {"10.20.0.1"};
    config.metrics_listen = "0.0.0.0:9464";
    config.monitoring = {"10.99.0.5", "fd99::/64"};
    const std::string rules = render_firewall(config, "/etc/yardwatch/yardwatch.toml");
    CHECK_THAT(rules, Catch::Contains("define https_port = 8443"));
    CHECK_THAT(rules, Catch::Contains("add element inet yardwatch school_lan6 { fd12:3456::/32 }"));
    CHECK_THAT(rules, Catch::Contains("camera_net4 { 192.168.50.0/24, 192.168.51.7 }"));
    CHECK_THAT(rules, Catch::Contains("add element inet yardwatch ntp4 { 10.20.0.1 }"));
    CHECK_THAT(rules, Catch::Contains("define metrics_port = 9464"));
    CHECK_THAT(rules, Catch::Contains("add element inet yardwatch monitoring4 { 10.99.0.5 }"));
    CHECK_THAT(rules, Catch::Contains("add element inet yardwatch monitoring6 { fd99::/64 }"));
    CHECK(rules.find("yardwatch ntp6") == std::string::npos);  // no IPv6 NTP server: no element
    const auto file = dir / (board + ".nft");
    write_file(file, rules);
    auto checked = nft_check(file);
    INFO(checked.err);
    CHECK(checked.exit_code == 0);
  }
}

TEST_CASE("without NTP servers or camera networks the ruleset is still valid",
          "[firmware][firewall]") {
  TempDir dir;
  Config config;
  config.board = "x86-generic";
  config.school_lan = {"192.168.10.0/24"};
  const std::string rules = render_firewall(config, "test");
  CHECK_THAT(rules, Catch::Contains("ntp4 { 0.0.0.0/0 }") && Catch::Contains("ntp6 { ::/0 }"));
  CHECK(rules.find("add element inet yardwatch camera_net") == std::string::npos);
  // No metrics address: nobody may reach a metrics port.
  CHECK(rules.find("add element inet yardwatch monitoring") == std::string::npos);
  write_file(dir / "rules.nft", rules);
  auto checked = nft_check(dir / "rules.nft");
  INFO(checked.err);
  CHECK(checked.exit_code == 0);
  // A broken ruleset is refused by the same check (the test can fail).
  write_file(dir / "broken.nft", rules + "add element inet yardwatch nonexistent { 10.0.0.0/8 }\n");
  CHECK(nft_check(dir / "broken.nft").exit_code != 0);
}
