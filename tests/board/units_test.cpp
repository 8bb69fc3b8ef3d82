// The boards' systemd units as installed: `systemd-analyze verify` (no error, no warning) and
// `systemd-analyze security` (exposure of yardwatchd at most 2.5, printed here for the log).

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <regex>

#include "install_fixture.h"
#include "test_support.h"

using namespace yardwatch::testing;
namespace fs = std::filesystem;

namespace {

constexpr double kMaxExposure = 2.5;

double exposure_of(const std::string& report) {
  std::smatch match;
  static const std::regex overall(R"(Overall exposure level for [^:]+: ([0-9.]+))");
  REQUIRE(std::regex_search(report, match, overall));
  return std::stod(match[1].str());
}

}  // namespace

TEST_CASE("every Yardwatch unit passes systemd-analyze verify without a warning",
          "[board][units]") {
  TempDir work("yw-units");
  const fs::path root = systemd_root(work / "root");
  // Commands of the package's dependencies that the units run, from this machine.
  for (const char* command : {"usr/sbin/nft", "usr/bin/rauc"}) {
    fs::create_directories((root / command).parent_path());
    fs::copy_file(fs::path("/") / command, root / command, fs::copy_options::overwrite_existing);
  }
  const std::vector<std::string> units = {
      "yardwatchd.service",      "yardwatch-firewall.service", "yardwatch-provision.service",
      "yardwatch-smart.service", "yardwatch-smart.timer",      "yardwatch-mark-good.service"};
  for (const std::string board : {"x86-generic", "rpi-cm4"}) {
    INFO(board);
    fs::copy_file(source_dir() / "board" / board / "yardwatchd.service",
                  root / "etc/systemd/system/yardwatchd.service",
                  fs::copy_options::overwrite_existing);
    std::vector<std::string> argv = {"/usr/bin/systemd-analyze", "verify",
                                     "--root=" + root.string()};
    argv.insert(argv.end(), units.begin(), units.end());
    auto verified = run_command(argv);
    INFO(verified.out << verified.err);
    CHECK(verified.exit_code == 0);
    CHECK(verified.err.empty());  // unknown keys are only warnings: none allowed
  }
  // The check can fail: a unit with a typo is reported.
  std::ofstream(root / "etc/systemd/system/yardwatchd.service", std::ios::app)
      << "\n[Service]\nProtectEverything=yes\n";
  auto broken = run_command(
      {"/usr/bin/systemd-analyze", "verify", "--root=" + root.string(), "yardwatchd.service"});
  CHECK_THAT(broken.err, Catch::Contains("ProtectEverything"));
}

TEST_CASE("yardwatchd's units have an exposure score of at most 2.5 (systemd-analyze security)",
          "[board][units]") {
  TempDir work("yw-units");
  const fs::path root = systemd_root(work / "root");
  for (const std::string board : {"x86-generic", "rpi-cm4"}) {
    fs::copy_file(source_dir() / "board" / board / "yardwatchd.service",
                  root / "etc/systemd/system/yardwatchd.service",
                  fs::copy_options::overwrite_existing);
    auto security = run_command({"/usr/bin/systemd-analyze", "security", "--offline=yes",
                                 "--root=" + root.string(), "--no-pager", "yardwatchd.service"});
    INFO(security.out << security.err);
    REQUIRE(security.exit_code == 0);
    const double exposure = exposure_of(security.out);
    // The test log carries the score (ctest's LastTest.log, or -V).
    std::printf("systemd-analyze security: yardwatchd.service (%s): exposure %.1f (limit %.1f)\n",
                board.c_str(), exposure, kMaxExposure);
    CHECK(exposure <= kMaxExposure);
  }
}
