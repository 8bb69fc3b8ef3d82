// The Debian package: built with cpack from this build, checked by lintian (no errors), and
// installed with dpkg into a fresh Debian 12 (debootstrap) chroot, where its maintainer scripts
// create the service user and its directories, its binaries run, and a purge cleans up.
//
// The chroot (minbase plus the package's dependencies, installed by apt) is cached as a tarball in
// $YARDWATCH_CACHE_DIR (default ~/.cache/yardwatch): the first run downloads it from the Debian
// mirror ($YARDWATCH_DEBIAN_MIRROR, default http://deb.debian.org/debian) in a few minutes.

#include <sys/file.h>
#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>

#include "appliance_fixture.h"
#include "test_support.h"

using namespace yardwatch::testing;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

fs::path build_package(const fs::path& out) {
  auto packed = run_command({"/usr/bin/cpack", "-G", "DEB", "-B", out.string(), "--config",
                             std::string(YW_BINARY_DIR) + "/CPackConfig.cmake"});
  INFO(packed.out << packed.err);
  REQUIRE(packed.exit_code == 0);
  for (const auto& entry : fs::directory_iterator(out)) {
    if (entry.path().extension() == ".deb") return entry.path();
  }
  FAIL("cpack made no .deb");
  return {};
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// "libfoo (>= 1), a | b, c" → "libfoo a c": the packages the chroot gets beforehand.
std::string dependency_names(const std::string& depends) {
  std::string names;
  std::stringstream stream(depends);
  std::string item;
  while (std::getline(stream, item, ',')) {
    item = item.substr(0, item.find('|'));
    item = item.substr(0, item.find('('));
    item.erase(0, item.find_first_not_of(' '));
    item = trim(item);
    if (!item.empty()) names += (names.empty() ? "" : " ") + item;
  }
  return names;
}

fs::path cache_dir() {
  if (const char* dir = std::getenv("YARDWATCH_CACHE_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr ? home : "/root") / ".cache/yardwatch";
}

struct ProcMount {
  fs::path path;
  explicit ProcMount(fs::path where) : path(std::move(where)) {
    REQUIRE(::mount("proc", path.c_str(), "proc", 0, nullptr) == 0);
  }
  ~ProcMount() { ::umount2(path.c_str(), MNT_DETACH); }
};

CommandResult in_chroot(const fs::path& root, std::vector<std::string> argv,
                        const std::string& input = "",
                        std::chrono::seconds timeout = std::chrono::seconds(300)) {
  argv.insert(argv.begin(), {"/usr/sbin/chroot", root.string()});
  return run_command(
      argv, input,
      {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}, {"DEBIAN_FRONTEND", "noninteractive"}}, timeout);
}

// A tarball of a fresh bookworm minbase with `packages` (space-separated) installed by apt;
// made once per package set. (debootstrap --include cannot order the configuration of a set
// this large; apt in the fresh chroot can.)
fs::path chroot_tarball(const std::string& packages) {
  const fs::path dir = cache_dir();
  fs::create_directories(dir);
  const std::string key = std::to_string(std::hash<std::string>{}(packages));
  const fs::path tarball = dir / ("bookworm-minbase-" + key + ".tar");
  // One maker at a time, across test processes.
  const int lock = ::open((dir / "debootstrap.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(lock >= 0);
  ::flock(lock, LOCK_EX);
  if (!fs::exists(tarball)) {
    const char* mirror_env = std::getenv("YARDWATCH_DEBIAN_MIRROR");
    const std::string mirror = mirror_env != nullptr ? mirror_env : "http://deb.debian.org/debian";
    TempDir staging("yw-debootstrap");
    const fs::path target = staging / "root";
    std::printf("package test: making a bookworm chroot with %s from %s, once (~2 min)\n",
                packages.c_str(), mirror.c_str());
    auto made = run_command(
        {"/usr/sbin/debootstrap", "--variant=minbase", "bookworm", target.string(), mirror}, "", {},
        std::chrono::seconds(1200));
    INFO("debootstrap needs the Debian mirror "
         << mirror << ": " << made.out.substr(made.out.size() > 2000 ? made.out.size() - 2000 : 0)
         << made.err);
    REQUIRE(made.exit_code == 0);
    fs::copy_file("/etc/resolv.conf", target / "etc/resolv.conf",
                  fs::copy_options::overwrite_existing);
    {
      ProcMount proc(target / "proc");
      auto installed = in_chroot(target,
                                 {"sh", "-c",
                                  "apt-get update -q && apt-get install -y -q "
                                  "--no-install-recommends " +
                                      packages + " && apt-get clean"},
                                 "", std::chrono::seconds(1200));
      INFO(installed.out.substr(installed.out.size() > 3000 ? installed.out.size() - 3000 : 0)
           << installed.err);
      REQUIRE(installed.exit_code == 0);
    }
    const fs::path partial = tarball.string() + ".partial";
    auto packed = run_command({"/bin/tar", "-C", target.string(), "-cf", partial.string(), "."}, "",
                              {}, std::chrono::seconds(600));
    INFO(packed.err);
    REQUIRE(packed.exit_code == 0);
    fs::rename(partial, tarball);
    // Older chroots (another dependency set) are not needed any more.
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("bookworm-minbase-", 0) == 0 && entry.path() != tarball) {
        fs::remove(entry.path());
      }
    }
  }
  ::flock(lock, LOCK_UN);
  ::close(lock);
  return tarball;
}

}  // namespace

TEST_CASE("the Debian package builds and lintian reports no errors", "[package]") {
  TempDir work("yw-package");
  const fs::path deb = build_package(work / "out");
  auto fields = run_command({"/usr/bin/dpkg-deb", "-f", deb.string(), "Package", "Architecture"});
  CHECK_THAT(fields.out, Catch::Contains("Package: yardwatch"));
  auto contents = run_command({"/usr/bin/dpkg-deb", "-c", deb.string()});
  for (const char* path :
       {"./usr/sbin/yardwatchd", "./usr/bin/yardwatch", "./usr/bin/yardwatch-verify",
        "./lib/systemd/system/yardwatchd.service", "./usr/share/yardwatch/yardwatch.toml.example",
        "./usr/share/doc/yardwatch/copyright"}) {
    CHECK_THAT(contents.out, Catch::Contains(path));
  }
  auto lintian = run_command({"/usr/bin/lintian", "--tag-display-limit", "0", deb.string()}, "", {},
                             std::chrono::seconds(600));
  std::printf("lintian %s:\n%s", deb.filename().c_str(), lintian.out.c_str());
  INFO(lintian.out << lintian.err);
  CHECK(lintian.out.find("E: ") == std::string::npos);
  CHECK(lintian.exit_code == 0);
}

TEST_CASE("the package installs into a fresh Debian 12 chroot, runs there and purges cleanly",
          "[package]") {
  INFO("chroot, mount and dpkg need root, as CI has");
  REQUIRE(::geteuid() == 0);
  TempDir work("yw-package");
  const fs::path deb = build_package(work / "out");
  const std::string depends =
      trim(run_command({"/usr/bin/dpkg-deb", "-f", deb.string(), "Depends"}).out);
  REQUIRE_FALSE(depends.empty());
  const fs::path tarball = chroot_tarball(dependency_names(depends));

  const fs::path root = work / "chroot";
  fs::create_directories(root);
  auto unpacked = run_command({"/bin/tar", "-C", root.string(), "-xf", tarball.string()}, "", {},
                              std::chrono::seconds(300));
  INFO(unpacked.err);
  REQUIRE(unpacked.exit_code == 0);
  ProcMount proc(root / "proc");
  fs::copy_file(deb, root / "tmp/yardwatch.deb");

  // dpkg -i: every dependency is there (the chroot has exactly Depends), and the scripts run.
  auto installed = in_chroot(root, {"dpkg", "-i", "/tmp/yardwatch.deb"});
  INFO(installed.out << installed.err);
  REQUIRE(installed.exit_code == 0);
  CHECK_THAT(installed.out, Catch::Contains("edit /etc/yardwatch/yardwatch.toml"));

  // The service user: a system account without a login shell, in group tss for the TPM.
  auto user = in_chroot(root, {"getent", "passwd", "yardwatch"});
  REQUIRE(user.exit_code == 0);
  CHECK_THAT(user.out, Catch::Contains("/usr/sbin/nologin"));
  CHECK_THAT(in_chroot(root, {"id", "-nG", "yardwatch"}).out, Catch::Contains("tss"));
  auto owners =
      in_chroot(root, {"stat", "-c", "%n %U:%G %a", "/var/lib/yardwatch", "/var/lib/yardwatch-keys",
                       "/srv/yardwatch", "/etc/yardwatch", "/etc/yardwatch/yardwatch.toml"});
  INFO(owners.out);
  CHECK_THAT(owners.out, Catch::Contains("/var/lib/yardwatch yardwatch:yardwatch 750"));
  CHECK_THAT(owners.out, Catch::Contains("/var/lib/yardwatch-keys yardwatch:yardwatch 700"));
  CHECK_THAT(owners.out, Catch::Contains("/srv/yardwatch root:root 755"));
  CHECK_THAT(owners.out, Catch::Contains("/etc/yardwatch root:yardwatch 770"));
  CHECK_THAT(owners.out, Catch::Contains("/etc/yardwatch/yardwatch.toml root:yardwatch 660"));
  // Enabled for the next boot (deb-systemd-helper), not started.
  CHECK(fs::is_symlink(root / "etc/systemd/system/multi-user.target.wants/yardwatchd.service"));
  CHECK(
      fs::is_symlink(root / "etc/systemd/system/sysinit.target.wants/yardwatch-firewall.service"));

  // The binaries run on a clean system: the shipped configuration is refused until the data
  // disk is named, then accepted; the service user provisions a host-sim appliance.
  auto unconfigured = in_chroot(root, {"yardwatch", "config", "check"});
  CHECK(unconfigured.exit_code != 0);
  CHECK_THAT(unconfigured.err, Catch::Contains("volume_uuid is required"));
  auto configured = in_chroot(
      root,
      {"sed", "-i", "s/^volume_uuid = \"\"/volume_uuid = \"0d8a5a52-6b0e-4c1e-9a43-1f2e3d4c5b6a\"/",
       "/etc/yardwatch/yardwatch.toml"});
  REQUIRE(configured.exit_code == 0);
  auto checked = in_chroot(root, {"yardwatch", "config", "check"});
  INFO(checked.err);
  CHECK(checked.exit_code == 0);
  auto firewall = in_chroot(root, {"yardwatch", "firewall", "render"});
  CHECK_THAT(firewall.out, Catch::Contains("table inet yardwatch"));
  auto init = in_chroot(root, {"setpriv", "--reuid=yardwatch", "--regid=yardwatch", "--init-groups",
                               "yardwatch", "init", "--data", "/var/lib/yardwatch/demo/data"});
  INFO(init.out << init.err);
  CHECK(init.exit_code == 0);
  CHECK_THAT(init.out, Catch::Contains("one-time setup code"));
  auto daemon_help = in_chroot(root, {"yardwatchd", "--help"});
  CHECK(daemon_help.exit_code == 0);
  auto verify_help = in_chroot(root, {"yardwatch-verify", "--help"});
  CHECK(verify_help.exit_code == 0);

  // Purge: the package's files and configuration go; the device keys and footage never do.
  auto purged = in_chroot(root, {"dpkg", "--purge", "yardwatch"});
  INFO(purged.out << purged.err);
  REQUIRE(purged.exit_code == 0);
  CHECK_FALSE(fs::exists(root / "usr/sbin/yardwatchd"));
  CHECK_FALSE(fs::exists(root / "etc/yardwatch/yardwatch.toml"));
  CHECK_FALSE(
      fs::is_symlink(root / "etc/systemd/system/multi-user.target.wants/yardwatchd.service"));
  CHECK(fs::exists(root / "var/lib/yardwatch/demo/data.keys/master.key"));
}
