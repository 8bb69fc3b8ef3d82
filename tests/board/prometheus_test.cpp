// The board's example Prometheus configuration and rules, checked by promtool (Debian's
// prometheus package); a real Prometheus loads them in tests/integration/metrics_test.cpp.

#include <catch2/catch.hpp>

#include "test_support.h"

using namespace yardwatch::testing;

TEST_CASE("the example Prometheus scrape configuration and alert rules pass promtool",
          "[board][prometheus]") {
  const auto dir = source_dir() / "board/prometheus";
  auto rules =
      run_command({"/usr/bin/promtool", "check", "rules", (dir / "yardwatch-alerts.yml").string()});
  INFO(rules.out << rules.err);
  CHECK(rules.exit_code == 0);
  CHECK_THAT(rules.out, Catch::Contains("SUCCESS: 16 rules found"));
  auto config =
      run_command({"/usr/bin/promtool", "check", "config", (dir / "prometheus.yml").string()});
  INFO(config.out << config.err);
  CHECK(config.exit_code == 0);
}
