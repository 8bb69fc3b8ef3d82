// Signed updates: tools/rauc-bundle builds a verity bundle of the firmware (the installed tree as
// the root filesystem image) signed with a development key made for this test; RAUC accepts it
// against the development CA, refuses it against another CA, and refuses a tampered copy.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "appliance_fixture.h"
#include "install_fixture.h"
#include "test_support.h"

using namespace yardwatch::testing;
namespace fs = std::filesystem;

namespace {

CommandResult rauc(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), "/usr/bin/rauc");
  return run_command(arguments);
}

void flip_byte(const fs::path& file, std::streamoff offset) {
  std::fstream stream(file, std::ios::in | std::ios::out | std::ios::binary);
  stream.seekg(offset);
  char byte = 0;
  stream.read(&byte, 1);
  stream.seekp(offset);
  byte = static_cast<char>(byte ^ 0x5a);
  stream.write(&byte, 1);
  REQUIRE(stream.good());
}

}  // namespace

TEST_CASE("RAUC accepts the signed firmware bundle and refuses a tampered or foreign one",
          "[board][rauc]") {
  TempDir work("yw-rauc");
  const fs::path keys = work / "keys";
  const fs::path other_keys = work / "other-keys";
  for (const auto& dir : {keys, other_keys}) {
    auto made = run_command({(source_dir() / "tools/rauc-dev-keys").string(), dir.string()});
    INFO(made.err);
    REQUIRE(made.exit_code == 0);
  }
  struct stat info {};
  REQUIRE(::stat((keys / "signing.key.pem").c_str(), &info) == 0);
  CHECK((info.st_mode & 0077) == 0);  // the private key is the owner's only

  const fs::path rootfs = install_into(work / "rootfs");
  const fs::path bundle = work / "yardwatch-x86-generic.raucb";
  auto built = run_command(
      {(source_dir() / "tools/rauc-bundle").string(), "--board", "x86-generic", "--rootfs-dir",
       rootfs.string(), "--cert", (keys / "signing.cert.pem").string(), "--key",
       (keys / "signing.key.pem").string(), "--version", "0.1.0-test", "--out", bundle.string()});
  INFO(built.out << built.err);
  REQUIRE(built.exit_code == 0);

  const std::string ca = "--keyring=" + (keys / "ca.cert.pem").string();
  const std::string conf =
      "--conf=" + (source_dir() / "board/x86-generic/rauc/system.conf").string();
  // Accepted: the signature chains to the development CA; the board's system.conf parses.
  auto info_ok = rauc({conf, "info", ca, bundle.string()});
  INFO(info_ok.out << info_ok.err);
  REQUIRE(info_ok.exit_code == 0);
  CHECK_THAT(info_ok.out, Catch::Contains("yardwatch-x86-generic"));
  CHECK_THAT(info_ok.out, Catch::Contains("0.1.0-test"));
  CHECK_THAT(info_ok.out + info_ok.err, Catch::Contains("Verified"));
  // The whole payload checks against the signed verity hash tree.
  auto extracted = rauc({conf, "extract", ca, bundle.string(), (work / "extracted").string()});
  INFO(extracted.err);
  REQUIRE(extracted.exit_code == 0);
  CHECK(fs::file_size(work / "extracted/rootfs.ext4") > 0);

  // Refused: a key the device does not trust.
  auto foreign =
      rauc({"info", "--keyring=" + (other_keys / "ca.cert.pem").string(), bundle.string()});
  CHECK(foreign.exit_code != 0);

  // Refused: one byte changed in the payload (the root filesystem image).
  const fs::path tampered_payload = work / "tampered-payload.raucb";
  fs::copy_file(bundle, tampered_payload);
  flip_byte(tampered_payload, static_cast<std::streamoff>(fs::file_size(bundle) / 3));
  auto payload = rauc({conf, "extract", ca, tampered_payload.string(), (work / "t1").string()});
  INFO(payload.err);
  CHECK(payload.exit_code != 0);
  CHECK_THAT(payload.err, Catch::Contains("corrupted") || Catch::Contains("failed"));

  // Refused: one byte changed in the signature at the end.
  const fs::path tampered_signature = work / "tampered-signature.raucb";
  fs::copy_file(bundle, tampered_signature);
  flip_byte(tampered_signature, static_cast<std::streamoff>(fs::file_size(bundle) - 600));
  auto signature = rauc({conf, "info", ca, tampered_signature.string()});
  INFO(signature.err);
  CHECK(signature.exit_code != 0);
}

TEST_CASE("both boards' RAUC system.conf parse and describe two root filesystem slots",
          "[board][rauc]") {
  for (const std::string board : {"x86-generic", "rpi-cm4"}) {
    INFO(board);
    const fs::path conf = source_dir() / "board" / board / "rauc/system.conf";
    const std::string text = read_file(conf);
    CHECK_THAT(text, Catch::Contains("compatible=yardwatch-" + board));
    CHECK_THAT(text, Catch::Contains("[slot.rootfs.0]") && Catch::Contains("[slot.rootfs.1]"));
    CHECK_THAT(text, Catch::Contains("bundle-formats=-plain"));
    // RAUC itself loads it (a bad bootloader or slot type is refused at this point).
    auto status =
        run_command({"/usr/bin/rauc", "--conf=" + conf.string(), "info", "/nonexistent.raucb"});
    CHECK_THAT(status.err, !Catch::Contains("Failed to load system config"));
  }
}
