// `yardwatch-verify BUNDLE_DIR` as a police lab uses it: the real binary on a bundle written by
// the real bundle writer from real encrypted segments, then on damaged and forged copies.

#include <sodium.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../recorder/sample_bundle.h"
#include "test_support.h"
#include "yardwatch/recorder/bundle_format.h"

namespace yardwatch::testing {
namespace {

namespace fs = std::filesystem;
namespace format = recorder::bundle_format;
using nlohmann::json;

const std::vector<uint8_t> kPage = {'<', 'p', '>', 'v', 'e', 'r', 'i',
                                    'f', 'y', '<', '/', 'p', '>'};

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

CommandResult verify(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {binary_path("yardwatch-verify").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

// One sample bundle for the whole file (encoding and writing it takes a few seconds); each test
// works on its own copy.
struct Fixture {
  TempDir dir{"yw-verify-bundle"};
  recorder::test::SampleBundle bundle;
  fs::path passphrase_file;

  Fixture() {
    bundle = recorder::test::write_sample_bundle(dir / "work", dir / "original", kPage);
    passphrase_file = dir / "passphrase.txt";
    std::ofstream(passphrase_file) << recorder::test::kSamplePassphrase << "\n";
  }

  fs::path copy(const std::string& name) const {
    const fs::path target = dir / name;
    fs::remove_all(target);
    fs::copy(bundle.dir, target);
    return target;
  }
};

Fixture& fixture() {
  static Fixture instance;
  return instance;
}

std::vector<std::string> bundle_files(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

TEST_CASE("R5: yardwatch-verify accepts an intact bundle and says what is and is not proven",
          "[verify][bundle]") {
  Fixture& f = fixture();
  const fs::path dir = f.copy("intact");
  auto without = verify({dir.string()});
  INFO(without.out << without.err);
  CHECK(without.exit_code == 0);
  CHECK(without.out.find("valid Ed25519 signature") != std::string::npos);
  CHECK(without.out.find(f.bundle.fingerprint) != std::string::npos);
  CHECK(without.out.find("only if " + f.bundle.fingerprint +
                         " matches the fingerprint on the paper handover form") !=
        std::string::npos);
  CHECK(without.out.find("give --passphrase-file") != std::string::npos);
  CHECK(without.out.find("gap: camera poort has no footage") != std::string::npos);

  const fs::path out = f.dir / "extracted";
  fs::remove_all(out);
  auto with = verify({dir.string(), "--passphrase-file", f.passphrase_file.string(), "--extract",
                      out.string(), "--expect-fingerprint", f.bundle.fingerprint});
  INFO(with.out << with.err);
  CHECK(with.exit_code == 0);
  CHECK(with.out.find("RESULT: OK") != std::string::npos);
  CHECK(with.out.find("decrypts with the passphrase") != std::string::npos);
  // The extracted MP4s are the signed ones.
  const auto& manifest = f.bundle.result.manifest;
  REQUIRE(manifest.files.size() == 3);
  for (const auto& file : manifest.files) {
    std::string name = file.name;
    name.resize(name.size() - 4);  // ".enc"
    const auto mp4 = read_bytes(out / name);
    std::array<uint8_t, 32> digest{};
    crypto_hash_sha256(digest.data(), mp4.data(), mp4.size());
    CHECK(format::to_hex(digest) == file.mp4_sha256);
  }
}

TEST_CASE("R5: every single-byte flip in every file of a bundle fails verification naming the file",
          "[verify][bundle]") {
  Fixture& f = fixture();
  const fs::path dir = f.copy("flips");
  std::mt19937 random(20261125);
  int runs = 0;
  for (const auto& name : bundle_files(dir)) {
    const fs::path path = dir / name;
    const std::vector<uint8_t> original = read_bytes(path);
    const size_t size = original.size();
    REQUIRE(size > 0);
    // The edges, the encrypted files' header fields and first messages, and random positions.
    std::set<size_t> positions = {0, size / 3, size / 2, size - 1};
    for (size_t p : {8, 12, 16, 32, 36, 59, 60, 61, 100}) {
      if (p < size) positions.insert(p);
    }
    if (size > format::kMinChunkBytes + 100) positions.insert(format::kMinChunkBytes + 80);
    for (int i = 0; i < 6; ++i)
      positions.insert(std::uniform_int_distribution<size_t>(0, size - 1)(random));
    for (size_t position : positions) {
      std::vector<uint8_t> damaged = original;
      damaged[position] ^= 0x01;
      write_bytes(path, damaged);
      auto result = verify({dir.string(), "--passphrase-file", f.passphrase_file.string()});
      INFO(name << " byte " << position << ":\n" << result.out << result.err);
      CHECK(result.exit_code == 1);
      CHECK(result.out.find("FAILED") != std::string::npos);
      CHECK(result.out.find(name) != std::string::npos);
      CHECK(result.out.find("RESULT: OK") == std::string::npos);
      ++runs;
    }
    write_bytes(path, original);
  }
  CHECK(runs >= 60);
  CHECK(verify({dir.string(), "--passphrase-file", f.passphrase_file.string()}).exit_code == 0);
}

TEST_CASE("R5: a removed, added, swapped or truncated file fails verification naming the file",
          "[verify][bundle]") {
  Fixture& f = fixture();
  const auto& files = f.bundle.result.manifest.files;
  REQUIRE(files.size() >= 2);
  auto expect_failure = [&](const fs::path& dir, const std::string& name, const std::string& why) {
    auto result = verify({dir.string(), "--passphrase-file", f.passphrase_file.string()});
    INFO(result.out << result.err);
    CHECK(result.exit_code == 1);
    CHECK(result.out.find("FAILED " + name) != std::string::npos);
    CHECK(result.out.find(why) != std::string::npos);
  };
  SECTION("removed") {
    const fs::path dir = f.copy("removed");
    fs::remove(dir / files[1].name);
    expect_failure(dir, files[1].name, "is missing");
  }
  SECTION("added") {
    const fs::path dir = f.copy("added");
    std::ofstream(dir / "extra.mp4") << "not from the appliance";
    expect_failure(dir, "extra.mp4", "is not part of this bundle");
  }
  SECTION("swapped") {
    const fs::path dir = f.copy("swapped");
    fs::rename(dir / files[0].name, dir / "tmp");
    fs::rename(dir / files[1].name, dir / files[0].name);
    fs::rename(dir / "tmp", dir / files[1].name);
    expect_failure(dir, files[0].name, "the manifest says");
    expect_failure(dir, files[1].name, "the manifest says");
  }
  SECTION("a header edited to claim another entry") {
    // Two files of equal size swapped would pass the size check; the SHA-256 catches it. The
    // header's entry index, bound into every message, is the second line of defence.
    const fs::path dir = f.copy("swapped-header");
    auto a = read_bytes(dir / files[0].name);
    auto b = read_bytes(dir / files[1].name);
    std::copy_n(b.begin() + 32, 4, a.begin() + 32);  // claim to be entry 1
    write_bytes(dir / files[0].name, a);
    expect_failure(dir, files[0].name, "SHA-256 that does not match");
  }
  SECTION("truncated by one byte and by half") {
    const fs::path dir = f.copy("truncated");
    fs::resize_file(dir / files[0].name, files[0].encrypted_bytes - 1);
    fs::resize_file(dir / files[1].name, files[1].encrypted_bytes / 2);
    expect_failure(dir, files[0].name, "truncated or extended");
    expect_failure(dir, files[1].name, "truncated or extended");
  }
  SECTION("incomplete: no manifest.sig") {
    const fs::path dir = f.copy("unsigned");
    fs::remove(dir / "manifest.sig");
    expect_failure(dir, "manifest.sig", "incomplete");
  }
}

TEST_CASE("R5: a manifest edited and re-signed with another key fails verification",
          "[verify][bundle]") {
  Fixture& f = fixture();
  std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> other_public{};
  std::array<uint8_t, crypto_sign_SECRETKEYBYTES> other_secret{};
  crypto_sign_keypair(other_public.data(), other_secret.data());
  std::string text = f.bundle.result.manifest_bytes;
  const std::string from = "PL0900-2026123456";
  text.replace(text.find(from), from.size(), "PL0900-9999999999");

  SECTION("the device's public key left in the manifest: the signature does not verify") {
    const fs::path dir = f.copy("resigned-same-key");
    write_bytes(dir / "manifest.json",
                std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    write_bytes(dir / "manifest.sig", format::sign_manifest(text, other_secret));
    auto result = verify({dir.string()});
    INFO(result.out);
    CHECK(result.exit_code == 1);
    CHECK(result.out.find("FAILED manifest.json / manifest.sig") != std::string::npos);
  }
  SECTION("the other key put in the manifest: the fingerprint is not the handover form's") {
    const fs::path dir = f.copy("resigned-other-key");
    json manifest = json::parse(text);
    manifest["device"]["public_key"] = format::to_hex(other_public);
    manifest["device"]["fingerprint"] = format::key_fingerprint(other_public);
    const std::string forged = manifest.dump(2) + "\n";
    write_bytes(dir / "manifest.json",
                std::span(reinterpret_cast<const uint8_t*>(forged.data()), forged.size()));
    write_bytes(dir / "manifest.sig", format::sign_manifest(forged, other_secret));
    auto result = verify({dir.string(), "--expect-fingerprint", f.bundle.fingerprint});
    INFO(result.out);
    CHECK(result.exit_code == 1);
    CHECK(result.out.find("FAILED manifest.sig: signed by key " +
                          format::key_fingerprint(other_public)) != std::string::npos);
    // Without the expected fingerprint the verifier cannot know; it shows the forger's key and
    // says that only the handover form settles whose it is.
    auto unanchored = verify({dir.string()});
    CHECK(unanchored.out.find(format::key_fingerprint(other_public)) != std::string::npos);
    CHECK(unanchored.out.find(f.bundle.fingerprint) == std::string::npos);
    CHECK(unanchored.out.find("only if") != std::string::npos);
  }
}

TEST_CASE("R5: a wrong passphrase gives a clear message and extracts nothing", "[verify][bundle]") {
  Fixture& f = fixture();
  const fs::path dir = f.copy("wrong-passphrase");
  const fs::path wrong = f.dir / "wrong.txt";
  std::ofstream(wrong) << "correct horse battery stapel\n";
  const fs::path out = f.dir / "not-extracted";
  fs::remove_all(out);
  auto result =
      verify({dir.string(), "--passphrase-file", wrong.string(), "--extract", out.string()});
  INFO(result.out);
  CHECK(result.exit_code == 1);
  CHECK(result.out.find("FAILED passphrase: wrong passphrase") != std::string::npos);
  CHECK((!fs::exists(out) || fs::is_empty(out)));
}

TEST_CASE("yardwatch-verify refuses unusable input with exit status 2", "[verify][bundle]") {
  Fixture& f = fixture();
  CHECK(verify({(f.dir / "no-such-dir").string()}).exit_code == 2);
  CHECK(verify({f.bundle.dir.string(), "--extract", (f.dir / "x").string()}).exit_code == 2);
  CHECK(verify({f.bundle.dir.string(), "--expect-fingerprint", "12"}).exit_code == 2);
}

}  // namespace
}  // namespace yardwatch::testing
