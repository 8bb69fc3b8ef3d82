#include "yardwatch/firmware/tls_certificate.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>

#include "test_support.h"

using namespace yardwatch;
using namespace yardwatch::firmware;

TEST_CASE("the web admin's certificate is made once, private, and has a SHA-256 fingerprint",
          "[tls]") {
  testing::TempDir dir{"yw-tls"};
  const auto files = tls_files(dir.path());
  REQUIRE(ensure_tls_certificate(dir.path(), "device-1", 1'790'000'000'000'000).ok());
  struct stat info {};
  REQUIRE(::stat(files.private_key.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  auto fingerprint = tls_certificate_fingerprint(files.certificate);
  REQUIRE(fingerprint.ok());
  CHECK(std::regex_match(fingerprint.value(), std::regex("([0-9A-F]{2}:){31}[0-9A-F]{2}")));
  // Matches what openssl says about the same file.
  const auto out =
      testing::run_command({"/usr/bin/openssl", "x509", "-in", files.certificate.string(), "-noout",
                            "-fingerprint", "-sha256"});
  CHECK(out.out.find(fingerprint.value()) != std::string::npos);
  const auto text = testing::run_command(
      {"/usr/bin/openssl", "x509", "-in", files.certificate.string(), "-noout", "-text"});
  CHECK(text.out.find("ecdsa-with-SHA256") != std::string::npos);
  CHECK(text.out.find("DNS:localhost") != std::string::npos);

  // Idempotent: an existing (or board-installed) certificate is kept.
  REQUIRE(ensure_tls_certificate(dir.path(), "device-1", 1'790'000'000'000'000).ok());
  CHECK(tls_certificate_fingerprint(files.certificate).value() == fingerprint.value());

  // Half a pair is refused rather than silently replaced.
  std::filesystem::remove(files.private_key);
  CHECK(ensure_tls_certificate(dir.path(), "device-1", 1'790'000'000'000'000).error().kind ==
        ErrorKind::kFailedPrecondition);
  std::ofstream(files.certificate) << "not a certificate";
  CHECK(tls_certificate_fingerprint(files.certificate).error().kind == ErrorKind::kDataLoss);
}
