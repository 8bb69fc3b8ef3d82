// Police exports end to end, the way a director and a police lab use them: real RTSP cameras
// (yardwatch-camsim), real recording by yardwatchd, `yardwatch export create`, then
// `yardwatch-verify`, ffprobe and ffmpeg on what comes out. The gap comes from a camera taken
// off the network through camsim's control socket.

#include <sodium.h>
#include <sys/mount.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "appliance_fixture.h"
#include "test_support.h"
#include "yardwatch/hal/clock.h"

using namespace yardwatch::testing;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const std::string kDirectorPassword = "bestuur-wachtwoord-2026";
const std::string kViewerPassword = "kijk-wachtwoord-2026-xyz";
const std::string kPassphrase = "fiets schuur regen boog";

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string sha256_hex(const std::string& bytes) {
  std::array<uint8_t, 32> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : digest) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

void add_account(ApplianceFixture& appliance, const std::string& name, const std::string& role,
                 const std::string& password) {
  const std::string temporary = "tijdelijk-wachtwoord-0001";
  std::vector<std::string> args = {"user",   "add", "--name",          name,
                                   "--role", role,  "--password-stdin"};
  if (role == "viewer") args.insert(args.end(), {"--cameras", "schoolplein,poort"});
  auto added = appliance.cli(args, temporary + "\n");
  INFO(added.err);
  REQUIRE(added.exit_code == 0);
  auto changed =
      appliance.cli({"user", "passwd", "--user", name}, temporary + "\n" + password + "\n");
  INFO(changed.err);
  REQUIRE(changed.exit_code == 0);
}

// An appliance that recorded two cameras for a few seconds each, with 2-second segments.
struct Recorded {
  TempDir work{"yw-export"};
  std::unique_ptr<CamSim> cameras;
  std::unique_ptr<ApplianceFixture> appliance;
  fs::path passphrase_file;

  explicit Recorded(bool with_gap) {
    CamSimOptions sim;
    sim.cameras = 2;
    sim.codec = "h264,h265";
    sim.bitrate_kbit = 600;
    sim.gop = 25;
    cameras = std::make_unique<CamSim>(sim, work.path());
    appliance = std::make_unique<ApplianceFixture>(work.path());
    appliance->add_camera("schoolplein", cameras->url(1));
    appliance->add_camera("poort", cameras->url(2));
    REQUIRE(appliance->cli({"setting", "set", "policy.require_totp", "0"}).exit_code == 0);
    REQUIRE(appliance->cli({"setting", "set", "device.name", "OBS De Regenboog"}).exit_code == 0);
    add_account(*appliance, "directeur", "director", kDirectorPassword);
    add_account(*appliance, "conciErge", "viewer", kViewerPassword);
    appliance->create_test_viewer();
    passphrase_file = work / "passphrase.txt";
    std::ofstream(passphrase_file) << kPassphrase << "\n";

    appliance->start_daemon({"--segment-seconds", "2"});
    REQUIRE(appliance->wait_for_state("schoolplein", "recording", 20s));
    REQUIRE(appliance->wait_for_state("poort", "recording", 20s));
    std::this_thread::sleep_for(4s);
    if (with_gap) {
      REQUIRE(cameras->control("offline cam2") == "ok");
      REQUIRE(appliance->wait_for_state("poort", "disconnected", 15s));
      std::this_thread::sleep_for(2s);
      REQUIRE(cameras->control("online cam2") == "ok");
      REQUIRE(appliance->wait_for_state("poort", "recording", 20s));
      std::this_thread::sleep_for(4s);
    }
    REQUIRE(appliance->stop_daemon() == 0);
  }

  // The earliest start and latest end of everything recorded.
  std::pair<int64_t, int64_t> recorded_range() const {
    int64_t from = INT64_MAX;
    int64_t to = INT64_MIN;
    for (const std::string camera : {"schoolplein", "poort"}) {
      for (const auto& segment : appliance->segments(camera)) {
        from = std::min(from, segment["start_utc_us"].get<int64_t>());
        to = std::max(to, segment["end_utc_us"].get<int64_t>());
      }
    }
    REQUIRE(from < to);
    return {from, to};
  }

  CommandResult export_create(std::vector<std::string> args, const std::string& user,
                              const std::string& password) const {
    std::vector<std::string> argv = {"export",
                                     "create",
                                     "--user",
                                     user,
                                     "--password-stdin",
                                     "--passphrase-file",
                                     passphrase_file.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return appliance->cli(argv, password + "\n");
  }

  json audit(const std::string& action) const {
    auto result = appliance->cli({"audit", "list", "--action", action, "--json"});
    REQUIRE(result.exit_code == 0);
    return json::parse(result.out)["entries"];
  }
};

json ffprobe(const fs::path& path) {
  auto result = run_command({"/usr/bin/ffprobe", "-v", "error", "-count_frames", "-show_streams",
                             "-show_format", "-of", "json", path.string()});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return json::parse(result.out);
}

// The access units of the first video stream in decode order, as ffmpeg reads them.
std::string packets(const fs::path& path) {
  auto result = run_command({"/usr/bin/ffmpeg", "-v", "error", "-i", path.string(), "-map", "0:v:0",
                             "-c", "copy", "-f", "data", "-"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return result.out;
}

}  // namespace

TEST_CASE("R5: a police export of two cameras with a gap verifies, plays and keeps every frame",
          "[integration][export]") {
  Recorded recorded(true);
  auto& appliance = *recorded.appliance;
  const auto [from, to] = recorded.recorded_range();
  const fs::path bundle = recorded.work / "stick-bundle";
  const fs::path receipt = recorded.work / "receipt.pdf";
  auto created = recorded.export_create(
      {"--camera", "schoolplein,poort", "--from", yardwatch::hal::format_iso8601_utc(from), "--to",
       yardwatch::hal::format_iso8601_utc(to), "--case", "PL0900-2026123456", "--legal-basis",
       "vordering 126nd Sv nr. 2026/4411", "--recipient",
       "Politie Amsterdam, brigadier J. de Vries", "--out", bundle.string(), "--receipt",
       receipt.string(), "--json"},
      "directeur", kDirectorPassword);
  INFO(created.out << created.err);
  REQUIRE(created.exit_code == 0);
  const json result = json::parse(created.out);

  // The reference verifier, with the fingerprint the appliance shows (the handover form's).
  const std::string fingerprint = appliance.status()["device"]["fingerprint"];
  CHECK(result["device_fingerprint"] == fingerprint);
  const fs::path extracted = recorded.work / "extracted";
  auto verified = run_command({binary_path("yardwatch-verify").string(), bundle.string(),
                               "--passphrase-file", recorded.passphrase_file.string(), "--extract",
                               extracted.string(), "--expect-fingerprint", fingerprint});
  INFO(verified.out << verified.err);
  REQUIRE(verified.exit_code == 0);
  CHECK(verified.out.find("RESULT: OK") != std::string::npos);

  const std::string manifest_text = read_text(bundle / "manifest.json");
  const json manifest = json::parse(manifest_text);
  CHECK(manifest["device"]["name"] == "OBS De Regenboog");
  // The camera taken off-line has two ranges and the gap between them.
  const json& cameras = manifest["cameras"];
  REQUIRE(cameras.size() == 2);
  CHECK(cameras[0]["files"].size() == 1);
  CHECK(cameras[1]["files"].size() >= 2);
  REQUIRE(cameras[1]["gaps"].size() >= 1);
  const json& gap = cameras[1]["gaps"][0];
  CHECK(gap["to_utc_us"].get<int64_t>() - gap["from_utc_us"].get<int64_t>() >= 2'000'000);

  for (const auto& file : manifest["files"]) {
    std::string name = file["name"];
    INFO(name);
    name.resize(name.size() - 4);  // ".enc"
    const fs::path mp4 = extracted / name;
    REQUIRE(fs::exists(mp4));
    const json probe = ffprobe(mp4);
    const json& stream = probe["streams"][0];
    CHECK(stream["codec_name"] == (file["codec"] == "h264" ? "h264" : "hevc"));
    CHECK(stream["width"] == 640);
    CHECK(stream["height"] == 360);
    CHECK(std::stoll(stream["nb_read_frames"].get<std::string>()) == file["frames"].get<int64_t>());
    // Duration within one GOP (1 s) of the wall-clock range the manifest states.
    const double duration = std::stod(probe["format"]["duration"].get<std::string>());
    const double wall = static_cast<double>(file["end_utc_us"].get<int64_t>() -
                                            file["start_utc_us"].get<int64_t>()) /
                        1e6;
    CHECK(std::abs(duration - wall) <= 1.0);
    CHECK(std::abs(duration - file["duration_us"].get<double>() / 1e6) < 0.05);
    // The real start time is in the file.
    const std::string start = file["start"];
    CHECK(probe["format"]["tags"]["creation_time"].get<std::string>().substr(0, 19) ==
          start.substr(0, 19));
    CHECK(probe["format"]["tags"]["date"] == start);
    // Byte-identical frames: the exported access units are exactly those of the source segments,
    // decrypted by `yardwatch segment cat`.
    std::string source;
    for (const auto& segment : file["source_segments"]) {
      auto viewed = appliance.view_segment(segment["id"].get<int64_t>());
      REQUIRE(viewed.exit_code == 0);
      const fs::path fragment =
          recorded.work / ("segment-" + std::to_string(segment["id"].get<int64_t>()) + ".mp4");
      std::ofstream(fragment, std::ios::binary) << viewed.out;
      source += packets(fragment);
    }
    CHECK(packets(mp4) == source);
  }

  // Audited: the attempt, and its completion with the manifest hash.
  const json started = recorded.audit("police_export");
  REQUIRE(started.size() == 1);
  CHECK(started[0]["actor"] == "directeur");
  CHECK(started[0]["purpose"] == "vordering 126nd Sv nr. 2026/4411");
  const json completed = recorded.audit("police_export_complete");
  REQUIRE(completed.size() == 1);
  CHECK(completed[0]["details"]["manifest_sha256"] == sha256_hex(manifest_text));
  CHECK(result["manifest_sha256"] == sha256_hex(manifest_text));

  // The handover receipt, as PDF and again later as HTML.
  auto text = run_command({"/usr/bin/pdftotext", "-layout", receipt.string(), "-"});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find(manifest["export_id"].get<std::string>()) != std::string::npos);
  CHECK(text.out.find(fingerprint) != std::string::npos);
  CHECK(text.out.find("PL0900-2026123456") != std::string::npos);
  const fs::path html = recorded.work / "receipt.html";
  auto again = appliance.cli({"export", "receipt", "--user", "directeur", "--password-stdin",
                              "--id", manifest["export_id"], "--out", html.string()},
                             kDirectorPassword + "\n");
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(again.out.find(fingerprint) != std::string::npos);
  CHECK(read_text(html).find(sha256_hex(manifest_text)) != std::string::npos);
}

TEST_CASE(
    "R5: a viewer cannot export, nor a director without a legal basis or a case, and every "
    "attempt is audited",
    "[integration][export]") {
  TempDir work("yw-export-roles");
  ApplianceFixture appliance(work.path());
  appliance.add_camera("schoolplein", "rtsp://127.0.0.1:9/none");
  appliance.add_camera("poort", "rtsp://127.0.0.1:9/none");
  REQUIRE(appliance.cli({"setting", "set", "policy.require_totp", "0"}).exit_code == 0);
  add_account(appliance, "directeur", "director", kDirectorPassword);
  add_account(appliance, "conciErge", "viewer", kViewerPassword);
  const fs::path passphrase = work / "passphrase.txt";
  std::ofstream(passphrase) << kPassphrase << "\n";
  auto attempt = [&](const std::string& user, const std::string& password,
                     std::vector<std::string> extra) {
    std::vector<std::string> args = {"export",
                                     "create",
                                     "--user",
                                     user,
                                     "--password-stdin",
                                     "--camera",
                                     "schoolplein",
                                     "--from",
                                     "2026-11-25T10:00:00Z",
                                     "--to",
                                     "2026-11-25T10:05:00Z",
                                     "--recipient",
                                     "Politie Amsterdam",
                                     "--passphrase-file",
                                     passphrase.string(),
                                     "--out",
                                     (work / "bundle").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return appliance.cli(args, password + "\n");
  };
  auto viewer = attempt("conciErge", kViewerPassword,
                        {"--case", "PL0900-1", "--legal-basis", "vordering nr. 2026/1"});
  CHECK(viewer.exit_code == 1);
  CHECK(viewer.err.find("permission denied") != std::string::npos);
  auto no_basis = attempt("directeur", kDirectorPassword, {"--case", "PL0900-1"});
  CHECK(no_basis.exit_code == 1);
  CHECK(no_basis.err.find("legal basis") != std::string::npos);
  auto no_case = attempt("directeur", kDirectorPassword, {"--legal-basis", "vordering nr. 2026/1"});
  CHECK(no_case.exit_code == 1);
  CHECK(no_case.err.find("case reference") != std::string::npos);
  CHECK_FALSE(fs::exists(work / "bundle"));

  auto entries = appliance.cli({"audit", "list", "--action", "police_export", "--json"});
  REQUIRE(entries.exit_code == 0);
  const json list = json::parse(entries.out)["entries"];
  REQUIRE(list.size() == 3);
  CHECK(list[0]["actor"] == "conciErge");
  for (const auto& entry : list) CHECK(entry["outcome"] == "denied");
  CHECK(list[1]["reason"].get<std::string>().find("legal basis") != std::string::npos);
  CHECK(list[2]["reason"].get<std::string>().find("case reference") != std::string::npos);
}

TEST_CASE(
    "R5: a stick that fills up mid-write gives a clear error, no complete-looking bundle, "
    "and an audit entry",
    "[integration][export]") {
  Recorded recorded(false);
  const auto [from, to] = recorded.recorded_range();
  const fs::path stick = recorded.work / "stick";
  fs::create_directories(stick);
  // A real, small filesystem standing for a nearly full stick.
  auto mounted = run_command(
      {"/bin/mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", stick.string()});
  INFO("mounting a tmpfs needs root (CI runs as root): " << mounted.err);
  REQUIRE(mounted.exit_code == 0);
  struct Unmount {
    fs::path path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{stick};

  auto created = recorded.export_create(
      {"--camera", "schoolplein,poort", "--from", yardwatch::hal::format_iso8601_utc(from), "--to",
       yardwatch::hal::format_iso8601_utc(to), "--case", "PL0900-2026123456", "--legal-basis",
       "vordering 126nd Sv nr. 2026/4411", "--recipient", "Politie Amsterdam", "--out",
       (stick / "bundle").string()},
      "directeur", kDirectorPassword);
  INFO(created.out << created.err);
  CHECK(created.exit_code == 1);
  CHECK(created.err.find("export medium is full") != std::string::npos);
  CHECK_FALSE(fs::exists(stick / "bundle" / "manifest.sig"));
  CHECK_FALSE(fs::exists(stick / "bundle"));  // cleaned up: the stick is still there
  const json failed = recorded.audit("police_export_failed");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0]["reason"].get<std::string>().find("full") != std::string::npos);
}

TEST_CASE(
    "R4: with four-eyes on, the console exports and shows a segment only with a second "
    "person whose password comes from stdin, and names both",
    "[export][four_eyes][R4]") {
  Recorded recorded(false);
  auto& appliance = *recorded.appliance;
  add_account(appliance, "adjunct", "director", kDirectorPassword + "-2");
  REQUIRE(appliance.cli({"setting", "set", "policy.four_eyes", "1"}).exit_code == 0);
  const auto [from, to] = recorded.recorded_range();
  const std::vector<std::string> range = {"--camera",      "schoolplein",
                                          "--from",        yardwatch::hal::format_iso8601_utc(from),
                                          "--to",          yardwatch::hal::format_iso8601_utc(to),
                                          "--case",        "PL0900-2026-44",
                                          "--legal-basis", "vordering art. 126nd Sv nr. 2026/44",
                                          "--recipient",   "Politie Utrecht, agent De Vries"};
  auto with = [&](std::vector<std::string> args, const std::string& name) {
    args.insert(args.end(), range.begin(), range.end());
    args.insert(args.end(), {"--out", (recorded.work / name).string()});
    return args;
  };

  auto alone = recorded.export_create(with({}, "alone"), "directeur", kDirectorPassword);
  CHECK(alone.exit_code == 1);
  CHECK(alone.err.find("four-eyes") != std::string::npos);
  CHECK_FALSE(fs::exists(recorded.work / "alone"));

  auto self = recorded.export_create(with({"--second-user", "directeur"}, "self"), "directeur",
                                     kDirectorPassword + "\n" + kDirectorPassword);
  CHECK(self.exit_code == 1);
  CHECK(self.err.find("someone else") != std::string::npos);

  auto wrong = recorded.export_create(with({"--second-user", "adjunct"}, "wrong"), "directeur",
                                      kDirectorPassword + "\nnot-the-password-of-adjunct");
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.err.find("could not sign in") != std::string::npos);
  CHECK_FALSE(fs::exists(recorded.work / "wrong"));

  auto together =
      recorded.export_create(with({"--second-user", "adjunct", "--json"}, "together"), "directeur",
                             kDirectorPassword + "\n" + kDirectorPassword + "-2\n");
  INFO(together.err);
  REQUIRE(together.exit_code == 0);
  CHECK(fs::exists(recorded.work / "together" / "manifest.json"));
  // The password is not on the command line: --second-user takes a name only.
  auto as_argument = appliance.cli({"export", "create", "--user", "directeur", "--second-password",
                                    "x", "--out", (recorded.work / "arg").string()},
                                   kDirectorPassword + "\n");
  CHECK(as_argument.exit_code != 0);

  int denied = 0;
  bool both_named = false;
  for (const auto& entry : recorded.audit("police_export")) {
    if (entry["actor"] != "directeur") continue;
    if (entry["outcome"] != "allowed") {
      ++denied;
      continue;
    }
    const json& details = entry["details"];
    if (details.is_object() && details.contains("four_eyes") &&
        details["four_eyes"]["approved_by"] == "adjunct") {
      both_named = true;
    }
  }
  CHECK(denied == 3);
  CHECK(both_named);

  // segment cat: the same prompt, the password on stdin.
  const auto segments = appliance.segments("schoolplein");
  REQUIRE_FALSE(segments.empty());
  const std::string id = std::to_string(segments.front()["id"].get<int64_t>());
  const std::vector<std::string> cat = {"segment",
                                        "cat",
                                        "--id",
                                        id,
                                        "--user",
                                        "directeur",
                                        "--password-stdin",
                                        "--purpose",
                                        "incident at the gate on Monday"};
  auto cat_alone = appliance.cli(cat, kDirectorPassword + "\n");
  CHECK(cat_alone.exit_code == 1);
  CHECK(cat_alone.out.empty());
  auto cat_args = cat;
  cat_args.insert(cat_args.end(), {"--second-user", "adjunct"});
  auto cat_together =
      appliance.cli(cat_args, kDirectorPassword + "\n" + kDirectorPassword + "-2\n");
  INFO(cat_together.err);
  CHECK(cat_together.exit_code == 0);
  CHECK(cat_together.out.size() > 1000);
  bool cat_named = false;
  for (const auto& entry : recorded.audit("view_recorded")) {
    const json& details = entry["details"];
    if (entry["outcome"] == "allowed" && entry["actor"] == "directeur" && details.is_object() &&
        details.contains("four_eyes") && details["four_eyes"]["approved_by"] == "adjunct") {
      cat_named = true;
    }
  }
  CHECK(cat_named);
}
