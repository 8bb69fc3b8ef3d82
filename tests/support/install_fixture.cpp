#include "install_fixture.h"

#include <catch2/catch.hpp>

#include "test_support.h"

namespace yardwatch::testing {

namespace fs = std::filesystem;

fs::path install_into(const fs::path& root) {
  auto installed = run_command({"/usr/bin/cmake", "--install", YW_BINARY_DIR, "--prefix", "/usr"},
                               "", {{"DESTDIR", root.string()}});
  INFO(installed.out << installed.err);
  REQUIRE(installed.exit_code == 0);
  return root;
}

fs::path systemd_root(const fs::path& root) {
  install_into(root);
  // Debian 12 has /lib → /usr/lib; the staged tree has both as real directories, so the
  // host's units go next to ours in /usr/lib/systemd/system and /lib/systemd/system stays ours.
  fs::create_directories(root / "usr/lib/systemd");
  auto copied = run_command(
      {"/bin/cp", "-r", "/usr/lib/systemd/system", (root / "usr/lib/systemd").string()});
  INFO(copied.err);
  REQUIRE(copied.exit_code == 0);
  fs::create_directories(root / "etc/systemd/system");
  return root;
}

}  // namespace yardwatch::testing
