// Police bundles onto a USB stick the way a director does it at the console: `yardwatch media
// list`, `media mount`, `export create --media`, `media eject` — with a loop device standing in
// for the stick (host-sim counts file-backed loop devices as sticks) — and then checked by the
// police's verifier from the stick mounted elsewhere. And a stick pulled out in the middle of an
// export: a clear error, no complete-looking bundle, and the failure in the audit journal.

#include "yardwatch/hal/usb_media.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "../recorder/recorded_footage.h"
#include "appliance_fixture.h"
#include "test_support.h"
#include "volume_fixture.h"
#include "yardwatch/firmware/clock_log.h"
#include "yardwatch/firmware/exports.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/firmware/settings.h"

using namespace yardwatch::testing;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
namespace yw = yardwatch;

namespace {

// One UUID per test: CTest runs them side by side, and two sticks with one UUID are one id.
constexpr const char* kStickUuid = "7e57c0de-0000-4b4b-9c9c-0000000057a1";
constexpr const char* kPulledStickUuid = "7e57c0de-0000-4b4b-9c9c-0000000057a2";
const std::string kDirectorPassword = "bestuur-wachtwoord-2026";
const std::string kPassphrase = "fiets schuur regen boog";

void add_director(ApplianceFixture& appliance) {
  const std::string temporary = "tijdelijk-wachtwoord-0001";
  REQUIRE(appliance
              .cli({"user", "add", "--name", "directeur", "--role", "director", "--password-stdin"},
                   temporary + "\n")
              .exit_code == 0);
  REQUIRE(appliance
              .cli({"user", "passwd", "--user", "directeur"},
                   temporary + "\n" + kDirectorPassword + "\n")
              .exit_code == 0);
}

}  // namespace

TEST_CASE(
    "R5: a police bundle onto a USB stick: mounted nosuid,nodev,noexec, written, verified, "
    "ejected, and checked by the police verifier",
    "[integration][media]") {
  TempDir work("yw-usb-export");
  LoopVolume stick(work / "stick.img", kStickUuid, 64);
  const std::string device = stick.attach();
  CamSimOptions sim;
  sim.cameras = 1;
  sim.width = 320;
  sim.height = 180;
  sim.bitrate_kbit = 400;
  CamSim cameras(sim, work.path());
  ApplianceFixture appliance(work.path());
  appliance.add_camera("schoolplein", cameras.url(1));
  REQUIRE(appliance.cli({"setting", "set", "policy.require_totp", "0"}).exit_code == 0);
  add_director(appliance);
  const fs::path passphrase = work / "passphrase.txt";
  std::ofstream(passphrase) << kPassphrase << "\n";
  appliance.start_daemon({"--segment-seconds", "2"});
  REQUIRE(appliance.wait_for_state("schoolplein", "recording", 20s));
  std::this_thread::sleep_for(5s);
  REQUIRE(appliance.stop_daemon() == 0);
  const auto segments = appliance.segments("schoolplein");
  REQUIRE_FALSE(segments.empty());
  const int64_t from = segments.front()["start_utc_us"];
  const int64_t to = segments.back()["end_utc_us"];

  const std::string id = std::string("usb:") + kStickUuid;
  auto listed = appliance.cli_json({"media", "list"});
  INFO(listed.dump(2));
  json ours;
  for (const auto& stick_info : listed["media"]) {
    if (stick_info["id"] == id) ours = stick_info;
  }
  REQUIRE_FALSE(ours.is_null());
  CHECK_FALSE(ours["mounted"].get<bool>());

  // Without mounting it first the export says what to do.
  auto export_args = [&](const std::string& name) {
    return std::vector<std::string>{"export",
                                    "create",
                                    "--user",
                                    "directeur",
                                    "--password-stdin",
                                    "--passphrase-file",
                                    passphrase.string(),
                                    "--camera",
                                    "schoolplein",
                                    "--from",
                                    yw::hal::format_iso8601_utc(from),
                                    "--to",
                                    yw::hal::format_iso8601_utc(to),
                                    "--case",
                                    "PL0900-2026123456",
                                    "--legal-basis",
                                    "vordering 126nd Sv nr. 2026/4411",
                                    "--recipient",
                                    "Politie Amsterdam, brigadier J. de Vries",
                                    "--media",
                                    id,
                                    "--out",
                                    name,
                                    "--json"};
  };

  auto mounted = appliance.cli({"media", "mount", "--media", id});
  INFO(mounted.out << mounted.err);
  REQUIRE(mounted.exit_code == 0);
  listed = appliance.cli_json({"media", "list"});
  fs::path mount_point;
  for (const auto& stick_info : listed["media"]) {
    if (stick_info["id"] == id) mount_point = stick_info["mount_point"].get<std::string>();
  }
  REQUIRE_FALSE(mount_point.empty());
  auto options = run_command({"/usr/bin/findmnt", "-n", "-o", "VFS-OPTIONS", mount_point.string()});
  CHECK_THAT(options.out,
             Catch::Contains("nosuid") && Catch::Contains("nodev") && Catch::Contains("noexec"));

  auto created = appliance.cli(export_args("PL0900-2026123456"), kDirectorPassword + "\n");
  INFO(created.out << created.err);
  REQUIRE(created.exit_code == 0);
  const json result = json::parse(created.out);
  CHECK(result["bundle"] == (mount_point / "PL0900-2026123456").string());

  auto ejected = appliance.cli({"media", "eject", "--media", id});
  INFO(ejected.out << ejected.err);
  REQUIRE(ejected.exit_code == 0);
  CHECK_THAT(ejected.out, Catch::Contains("can be pulled out"));
  CHECK_FALSE(fs::exists(mount_point));

  // The police lab: the stick in another machine (mounted read-only elsewhere), the verifier.
  const fs::path lab = work / "lab";
  fs::create_directories(lab);
  REQUIRE(run_command({"/bin/mount", "-o", "ro", device, lab.string()}).exit_code == 0);
  const std::string fingerprint = appliance.status()["device"]["fingerprint"];
  auto verified =
      run_command({binary_path("yardwatch-verify").string(), (lab / "PL0900-2026123456").string(),
                   "--passphrase-file", passphrase.string(), "--expect-fingerprint", fingerprint});
  INFO(verified.out << verified.err);
  CHECK(verified.exit_code == 0);
  CHECK_THAT(verified.out, Catch::Contains("RESULT: OK"));
  REQUIRE(run_command({"/bin/umount", lab.string()}).exit_code == 0);
}

namespace {

// The stick is pulled out (its mount detached under the writer) once `after_bytes` are in the
// bundle; everything else is the real UsbMedia on a real filesystem.
class PullingMedia final : public yw::hal::RemovableMedia {
 public:
  PullingMedia(yw::hal::UsbMedia& inner, uint64_t after_bytes)
      : inner_(inner), after_bytes_(after_bytes) {}
  yw::Result<std::vector<yw::hal::MediaInfo>> list() override { return inner_.list(); }
  yw::Result<std::unique_ptr<yw::hal::MediaTarget>> create_target(const std::string& id,
                                                                  const std::string& name) override;

 private:
  yw::hal::UsbMedia& inner_;
  uint64_t after_bytes_;
};

class PullingTarget final : public yw::hal::MediaTarget {
 public:
  PullingTarget(std::unique_ptr<yw::hal::MediaTarget> inner, uint64_t after_bytes)
      : inner_(std::move(inner)), after_bytes_(after_bytes) {}
  class File final : public yw::hal::MediaFile {
   public:
    File(std::unique_ptr<yw::hal::MediaFile> inner, PullingTarget& target)
        : inner_(std::move(inner)), target_(target) {}
    yw::Status write(std::span<const uint8_t> bytes) override {
      YW_TRY(inner_->write(bytes));
      target_.written_ += bytes.size();
      if (!target_.pulled_ && target_.written_ >= target_.after_bytes_) {
        target_.pulled_ = true;
        run_command({"/bin/umount", "-l", target_.path().parent_path().string()});
      }
      return {};
    }
    yw::Status finish() override { return inner_->finish(); }
    [[nodiscard]] uint64_t bytes_written() const override { return inner_->bytes_written(); }

   private:
    std::unique_ptr<yw::hal::MediaFile> inner_;
    PullingTarget& target_;
  };
  [[nodiscard]] const fs::path& path() const override { return inner_->path(); }
  yw::Result<std::unique_ptr<yw::hal::MediaFile>> create_file(std::string_view name) override {
    YW_ASSIGN_OR_RETURN(auto file, inner_->create_file(name));
    return std::unique_ptr<yw::hal::MediaFile>(std::make_unique<File>(std::move(file), *this));
  }
  yw::Status rename_file(std::string_view from, std::string_view to) override {
    return inner_->rename_file(from, to);
  }
  yw::Status sync() override { return inner_->sync(); }
  yw::Status read_back(std::string_view name,
                       const std::function<yw::Status(std::span<const uint8_t>)>& sink) override {
    return inner_->read_back(name, sink);
  }
  yw::Result<std::vector<std::string>> list_files() override { return inner_->list_files(); }
  yw::Status check_present() override { return inner_->check_present(); }
  yw::Status remove_all() override { return inner_->remove_all(); }
  yw::Result<uint64_t> free_bytes() override { return inner_->free_bytes(); }

 private:
  std::unique_ptr<yw::hal::MediaTarget> inner_;
  uint64_t after_bytes_;
  uint64_t written_ = 0;
  bool pulled_ = false;
};

yw::Result<std::unique_ptr<yw::hal::MediaTarget>> PullingMedia::create_target(
    const std::string& id, const std::string& name) {
  YW_ASSIGN_OR_RETURN(auto target, inner_.create_target(id, name));
  return std::unique_ptr<yw::hal::MediaTarget>(
      std::make_unique<PullingTarget>(std::move(target), after_bytes_));
}

}  // namespace

TEST_CASE(
    "R5: a USB stick pulled out during an export: a clear error, no complete-looking "
    "bundle, and the failure audited",
    "[integration][media]") {
  using namespace yw::firmware;
  TempDir work("yw-usb-pull");
  LoopVolume stick(work / "stick.img", kPulledStickUuid, 64);
  const std::string device = stick.attach();
  auto appliance = Appliance::init({work / "data", work / "keys", "host-sim"}).value();
  Services services(*appliance);
  const std::vector<uint8_t> page = {'<', 'h', 't', 'm', 'l', '>'};
  services.exports.set_verify_page(page);
  REQUIRE(set_setting(appliance->catalog(), services.audit, Actor::console(), "policy.require_totp",
                      "0")
              .ok());
  const int64_t t0 = appliance->clock().now_utc_us() + 1'000'000;
  yw::hal::SimulatedClock synced(t0 - 1'000'000, yw::hal::SyncState::kSynchronised);
  REQUIRE(record_clock_state(appliance->catalog(), synced).ok());
  yw::recorder::test::FootageStore store(appliance->catalog(), appliance->storage(),
                                         appliance->keys());
  const auto stream =
      yw::recorder::test::encode_stream(yw::recorder::VideoCodec::kH264, 100, 25, 160, 120);
  const auto camera = store.add_camera("schoolplein");
  store.write_segment(camera, stream, 0, 100, t0);
  REQUIRE(services.accounts
              .add_account(Actor::console(), "directeur", Role::kDirector, {},
                           "tijdelijk-wachtwoord-0001")
              .ok());
  REQUIRE(services.accounts
              .change_password({"directeur", "tijdelijk-wachtwoord-0001", "", "console"},
                               kDirectorPassword)
              .ok());
  const Principal director =
      services.accounts.authenticate({"directeur", kDirectorPassword, "", "console"}).value();

  yw::hal::UsbMediaOptions options;
  options.mount_root = work / "media";
  options.eligible = [device](const yw::hal::BlockDeviceInfo& info) { return info.node == device; };
  yw::hal::UsbMedia usb(options);
  const std::string id = std::string("usb:") + kPulledStickUuid;
  REQUIRE(usb.mount(id).ok());
  PullingMedia media(usb, 2000);
  ExportRequest request;
  request.cameras = {"schoolplein"};
  request.from_utc_us = t0;
  request.to_utc_us = t0 + 4'000'000;
  request.case_reference = "PL0900-2026123456";
  request.legal_basis = "vordering 126nd Sv nr. 2026/4411";
  request.recipient = "Politie Amsterdam, brigadier J. de Vries";
  request.passphrase = kPassphrase;
  request.media_id = id;
  request.directory_name = "bundle";
  auto exported = services.exports.create_export(director, request, media);
  REQUIRE_FALSE(exported.ok());
  INFO(exported.error().message);
  CHECK(exported.error().kind == yw::ErrorKind::kUnavailable);
  CHECK_THAT(exported.error().message,
             Catch::Contains("USB stick") && Catch::Contains("pulled out"));
  const auto records = services.exports.list().value();
  REQUIRE(records.size() == 1);
  CHECK(records[0].state == "failed");
  yw::firmware::AuditFilter filter;
  filter.action = "police_export_failed";
  const auto failed = services.audit.list(filter).value();
  REQUIRE(failed.size() == 1);
  CHECK_THAT(failed[0].event.reason, Catch::Contains("pulled out"));
  // The eject afterwards finds nothing mounted (the pull took the mount with it).
  auto ejected = usb.eject(id);
  REQUIRE(ejected.ok());
  CHECK_FALSE(ejected.value().was_mounted);
  // Nothing that looks like a finished bundle reached the stick.
  const fs::path lab = work / "lab";
  fs::create_directories(lab);
  REQUIRE(run_command({"/bin/mount", "-o", "ro", device, lab.string()}).exit_code == 0);
  CHECK_FALSE(fs::exists(lab / "bundle" / "manifest.sig"));
  REQUIRE(run_command({"/bin/umount", lab.string()}).exit_code == 0);
}
