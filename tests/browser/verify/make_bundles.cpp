// Writes the bundles the browser test (verify.test.mjs) checks with verify.html and with
// yardwatch-verify: a real bundle from real encrypted segments, and damaged or forged copies.
// Run by CTest as the fixture of that test: YW_BROWSER_BUNDLES=DIR yw_make_test_bundles.
// DIR/cases.json lists every case; DIR/verify.html is the page under test.

#include <sodium.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../../recorder/sample_bundle.h"
#include "verify_page.h"
#include "yardwatch/recorder/bundle_format.h"

namespace {

namespace fs = std::filesystem;
namespace format = yardwatch::recorder::bundle_format;
using nlohmann::json;

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

void flip(const fs::path& path, size_t position) {
  auto bytes = read_bytes(path);
  REQUIRE(position < bytes.size());
  bytes[position] ^= 0x01;
  write_bytes(path, bytes);
}

TEST_CASE("bundles for the browser test of verify.html", "[browser]") {
  const char* out_env = std::getenv("YW_BROWSER_BUNDLES");
  REQUIRE(out_env != nullptr);
  const fs::path out = out_env;
  fs::remove_all(out);
  fs::create_directories(out / "bundles");
  const auto page = yardwatch::verify_page::html();
  write_bytes(out / "verify.html", page);
  const fs::path good_passphrase = out / "passphrase.txt";
  std::ofstream(good_passphrase) << yardwatch::recorder::test::kSamplePassphrase << "\n";
  const fs::path wrong_passphrase = out / "wrong-passphrase.txt";
  std::ofstream(wrong_passphrase) << "correct horse battery stapel\n";

  const fs::path intact = out / "bundles" / "intact";
  auto sample = yardwatch::recorder::test::write_sample_bundle(out / "work", intact, page, 100);
  const auto& files = sample.result.manifest.files;
  REQUIRE(files.size() == 3);

  json cases = json::array();
  auto add = [&](const std::string& name, const fs::path& passphrase,
                 const std::string& expect_fingerprint = "") {
    cases.push_back(json{{"name", name},
                         {"dir", (out / "bundles" / name).string()},
                         {"passphrase_file", passphrase.string()},
                         {"expect_fingerprint", expect_fingerprint}});
  };
  auto copy = [&](const std::string& name) {
    fs::copy(intact, out / "bundles" / name);
    return out / "bundles" / name;
  };
  add("intact", good_passphrase, sample.fingerprint);
  fs::copy(intact, out / "bundles" / "wrong-passphrase");
  add("wrong-passphrase", wrong_passphrase);

  flip(copy("flip-manifest") / "manifest.json", 200);
  add("flip-manifest", good_passphrase);
  flip(copy("flip-signature") / "manifest.sig", 5);
  add("flip-signature", good_passphrase);
  flip(copy("flip-footage-header") / files[0].name, 40);
  add("flip-footage-header", good_passphrase);
  flip(copy("flip-footage-body") / files[1].name, files[1].encrypted_bytes / 2);
  add("flip-footage-body", good_passphrase);
  flip(copy("flip-readme") / "README.txt", 10);
  add("flip-readme", good_passphrase);
  flip(copy("flip-verify-page") / "verify.html", page.size() / 2);
  add("flip-verify-page", good_passphrase);
  fs::remove(copy("removed") / files[2].name);
  add("removed", good_passphrase);
  std::ofstream(copy("added") / "extra.mp4") << "not from the appliance";
  add("added", good_passphrase);
  fs::resize_file(copy("truncated") / files[0].name, files[0].encrypted_bytes - 100);
  add("truncated", good_passphrase);
  {
    const fs::path dir = copy("swapped");
    fs::rename(dir / files[0].name, dir / "tmp");
    fs::rename(dir / files[2].name, dir / files[0].name);
    fs::rename(dir / "tmp", dir / files[2].name);
  }
  add("swapped", good_passphrase);
  fs::remove(copy("unsigned") / "manifest.sig");
  add("unsigned", good_passphrase);
  {
    // Edited and re-signed with another key that the manifest now names: only the fingerprint
    // from the handover form exposes it.
    const fs::path dir = copy("resigned-other-key");
    std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> other_public{};
    std::array<uint8_t, crypto_sign_SECRETKEYBYTES> other_secret{};
    crypto_sign_keypair(other_public.data(), other_secret.data());
    json manifest = json::parse(sample.result.manifest_bytes);
    manifest["case"]["reference"] = "PL0900-9999999999";
    manifest["device"]["public_key"] = format::to_hex(other_public);
    manifest["device"]["fingerprint"] = format::key_fingerprint(other_public);
    const std::string forged = manifest.dump(2) + "\n";
    write_bytes(dir / "manifest.json",
                std::span(reinterpret_cast<const uint8_t*>(forged.data()), forged.size()));
    write_bytes(dir / "manifest.sig", format::sign_manifest(forged, other_secret));
    add("resigned-other-key", good_passphrase, sample.fingerprint);
  }

  // One bundle with the appliance's real Argon2id cost (256 MiB), to show a browser copes.
  {
    yardwatch::recorder::test::FootageStore store(out / "work-default");
    const auto stream = yardwatch::recorder::test::encode_stream(
        yardwatch::recorder::VideoCodec::kH264, 50, 25, 160, 120);
    const auto camera = store.add_camera("schoolplein");
    const int64_t t0 = yardwatch::hal::parse_iso8601_utc_us("2026-11-25T10:00:00Z").value();
    store.write_segment(camera, stream, 0, 50, t0);
    auto sources = yardwatch::recorder::plan_export_sources(store.catalog(), {"schoolplein"}, t0,
                                                            t0 + 2'000'000);
    REQUIRE(sources.ok());
    yardwatch::recorder::BundleRequest request;
    request.export_id = format::new_export_id();
    request.created_utc_us = t0 + 60'000'000;
    request.clock_at_export = "synchronised";
    request.device_id = "0123456789abcdef0123456789abcdef";
    request.device_name = "OBS De Regenboog";
    request.case_reference = "PL0900-2026123456";
    request.legal_basis = "vordering nr. 2026/4411";
    request.recipient = "Politie Amsterdam";
    request.requested_by = {"Politie Amsterdam", "requesting authority"};
    request.approved_by = {"directeur", "director"};
    request.from_utc_us = t0;
    request.to_utc_us = t0 + 2'000'000;
    request.sources = std::move(sources).value();
    request.passphrase = yardwatch::recorder::test::kSamplePassphrase;
    request.verify_page = page;
    auto target = yardwatch::hal::open_directory_target(out / "bundles" / "default-kdf");
    REQUIRE(target.ok());
    auto written =
        yardwatch::recorder::write_bundle(store.storage(), store.keys(), request, *target.value());
    REQUIRE(written.ok());
    add("default-kdf", good_passphrase);
  }

  std::ofstream(out / "cases.json") << cases.dump(2) << "\n";
  fs::remove_all(out / "work");
  fs::remove_all(out / "work-default");
}

}  // namespace
