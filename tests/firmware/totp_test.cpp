#include "yardwatch/firmware/totp.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

using namespace yardwatch;
using namespace yardwatch::firmware;

namespace {

std::vector<uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

// The seeds of RFC 6238 Appendix B: "12345678901234567890" repeated to the hash's length.
const std::vector<uint8_t> kSeedSha1 = bytes_of("12345678901234567890");
const std::vector<uint8_t> kSeedSha256 = bytes_of("12345678901234567890123456789012");
const std::vector<uint8_t> kSeedSha512 =
    bytes_of("1234567890123456789012345678901234567890123456789012345678901234");

size_t count(const std::string& haystack, std::string_view needle) {
  size_t found = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++found;
  }
  return found;
}

}  // namespace

TEST_CASE("TOTP matches the RFC 6238 Appendix B test vectors", "[totp]") {
  struct Vector {
    int64_t time;
    const char* sha1;
    const char* sha256;
    const char* sha512;
  };
  const Vector vectors[] = {
      {59, "94287082", "46119246", "90693936"},
      {1111111109, "07081804", "68084774", "25091201"},
      {1111111111, "14050471", "67062674", "99943326"},
      {1234567890, "89005924", "91819424", "93441116"},
      {2000000000, "69279037", "90698825", "38618901"},
      {20000000000, "65353130", "77737706", "47863826"},
  };
  for (const auto& vector : vectors) {
    INFO("time " << vector.time);
    CHECK(totp_at(kSeedSha1, vector.time, 8, TotpAlgorithm::kSha1) == vector.sha1);
    CHECK(totp_at(kSeedSha256, vector.time, 8, TotpAlgorithm::kSha256) == vector.sha256);
    CHECK(totp_at(kSeedSha512, vector.time, 8, TotpAlgorithm::kSha512) == vector.sha512);
  }
}

TEST_CASE("HOTP matches the RFC 4226 Appendix D test values", "[totp]") {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t counter = 0; counter < 10; ++counter) {
    INFO("counter " << counter);
    CHECK(hotp(kSeedSha1, counter) == expected[counter]);
  }
  // The default is 6 digits with SHA-1, and leading zeros are kept.
  CHECK(totp_at(kSeedSha1, 1111111109) == "081804");
  CHECK(hotp(kSeedSha1, 0, 0).empty());
  CHECK(hotp(kSeedSha1, 0, 10).empty());
}

TEST_CASE("base32 follows RFC 4648", "[totp]") {
  struct Vector {
    const char* plain;
    const char* encoded;
    const char* padded;
  };
  const Vector vectors[] = {
      {"", "", ""},
      {"f", "MY", "MY======"},
      {"fo", "MZXQ", "MZXQ===="},
      {"foo", "MZXW6", "MZXW6==="},
      {"foob", "MZXW6YQ", "MZXW6YQ="},
      {"fooba", "MZXW6YTB", "MZXW6YTB"},
      {"foobar", "MZXW6YTBOI", "MZXW6YTBOI======"},
  };
  for (const auto& vector : vectors) {
    INFO(vector.plain);
    const auto plain = bytes_of(vector.plain);
    CHECK(base32_encode(plain) == vector.encoded);
    auto decoded = base32_decode(vector.encoded);
    REQUIRE(decoded.ok());
    CHECK(decoded.value() == plain);
    auto from_padded = base32_decode(vector.padded);
    REQUIRE(from_padded.ok());
    CHECK(from_padded.value() == plain);
  }

  SECTION("lower case and spaces are accepted") {
    auto decoded = base32_decode("mzxw 6ytb oi");
    REQUIRE(decoded.ok());
    CHECK(decoded.value() == bytes_of("foobar"));
  }
  SECTION("anything else is refused") {
    for (const char* bad :
         {"MZXW1", "MZ-XW", "MZXW6YTB0I", "MY==MY", "MZX\n", "M", "MZX", "MZXW6Y"}) {
      INFO(bad);
      auto decoded = base32_decode(bad);
      REQUIRE_FALSE(decoded.ok());
      CHECK(decoded.error().kind == ErrorKind::kInvalidArgument);
    }
  }
  SECTION("random secrets round-trip") {
    std::set<std::vector<uint8_t>> seen;
    for (int i = 0; i < 100; ++i) {
      const auto secret = totp_generate_secret();
      REQUIRE(secret.size() == kTotpSecretBytes);
      seen.insert(secret);
      const auto text = base32_encode(secret);
      CHECK(text.size() == 32);  // 160 bits, 5 bits a character
      auto decoded = base32_decode(text);
      REQUIRE(decoded.ok());
      CHECK(decoded.value() == secret);
    }
    CHECK(seen.size() == 100);
  }
  SECTION("every length round-trips") {
    std::vector<uint8_t> bytes;
    for (int length = 0; length < 40; ++length) {
      auto decoded = base32_decode(base32_encode(bytes));
      REQUIRE(decoded.ok());
      CHECK(decoded.value() == bytes);
      bytes.push_back(static_cast<uint8_t>(length * 37 + 11));
    }
  }
}

TEST_CASE("TOTP verification accepts one step either side and nothing further", "[totp]") {
  const auto secret = totp_generate_secret();
  const int64_t now = 1'790'000'010;  // the first second of a step
  const int64_t step = now / kTotpStepSeconds;
  for (int64_t offset = -1; offset <= 1; ++offset) {
    INFO("offset " << offset << " steps");
    const auto code = totp_at(secret, now + offset * kTotpStepSeconds);
    REQUIRE(code.size() == 6);
    auto matched = totp_verify(secret, code, now, 0);
    REQUIRE(matched.has_value());
    CHECK(*matched == step + offset);
  }
  for (int64_t offset : {-3, -2, 2, 3}) {
    INFO("offset " << offset << " steps");
    const auto code = totp_at(secret, now + offset * kTotpStepSeconds);
    // A code of a far step could equal a near one by chance (1 in 10^6 per step).
    bool collides = false;
    for (int64_t near = -1; near <= 1; ++near) {
      collides = collides || code == totp_at(secret, now + near * kTotpStepSeconds);
    }
    if (!collides) CHECK_FALSE(totp_verify(secret, code, now, 0).has_value());
  }
  // The last second of a step and the first of the next.
  CHECK(totp_verify(secret, totp_at(secret, now + 29), now, 0) == step);
  CHECK(totp_verify(secret, totp_at(secret, now + 30), now + 29, 0) == step + 1);

  SECTION("malformed codes are refused") {
    const auto code = totp_at(secret, now);
    CHECK_FALSE(totp_verify(secret, "", now, 0).has_value());
    CHECK_FALSE(totp_verify(secret, code.substr(0, 5), now, 0).has_value());
    CHECK_FALSE(totp_verify(secret, code + "0", now, 0).has_value());
    CHECK_FALSE(totp_verify(secret, code.substr(0, 5) + "x", now, 0).has_value());
    CHECK(totp_verify(secret, code.substr(0, 3) + " " + code.substr(3), now, 0) == step);
  }
  SECTION("another secret's code is refused") {
    const auto other = totp_generate_secret();
    const auto code = totp_at(other, now);
    if (code != totp_at(secret, now - 30) && code != totp_at(secret, now) &&
        code != totp_at(secret, now + 30)) {
      CHECK_FALSE(totp_verify(secret, code, now, 0).has_value());
    }
  }
}

TEST_CASE("a TOTP code is never accepted twice", "[totp]") {
  const auto secret = bytes_of("12345678901234567890");
  const int64_t now = 1'790'000'025;
  const int64_t step = now / kTotpStepSeconds;
  const auto code = totp_at(secret, now);

  auto first = totp_verify(secret, code, now, 0);
  REQUIRE(first == step);
  // The same code again, within the same step and the next (where it is still in the window).
  CHECK_FALSE(totp_verify(secret, code, now, *first).has_value());
  CHECK_FALSE(totp_verify(secret, code, now + 30, *first).has_value());

  // A newer code used first makes the older, still valid one useless.
  const auto newer = totp_at(secret, now + 30);
  auto newer_step = totp_verify(secret, newer, now, 0);
  REQUIRE(newer_step == step + 1);
  CHECK_FALSE(totp_verify(secret, code, now, *newer_step).has_value());
  const auto older = totp_at(secret, now - 30);
  CHECK_FALSE(totp_verify(secret, older, now, *newer_step).has_value());
  // The following step's code is still fine.
  CHECK(totp_verify(secret, totp_at(secret, now + 60), now + 30, *newer_step) == step + 2);
}

TEST_CASE("the otpauth URI names the account, the secret and the parameters", "[totp]") {
  const auto secret = bytes_of("foobar");
  CHECK(totp_uri("anna", secret) ==
        "otpauth://totp/Yardwatch:anna?secret=MZXW6YTBOI&issuer=Yardwatch&algorithm=SHA1&"
        "digits=6&period=30");
  // A name cannot add parameters or change the path.
  CHECK(totp_uri("j de vries&secret=X?#/:", secret) ==
        "otpauth://totp/Yardwatch:j%20de%20vries%26secret%3DX%3F%23%2F%3A?secret=MZXW6YTBOI&"
        "issuer=Yardwatch&algorithm=SHA1&digits=6&period=30");
  CHECK(totp_uri("joëlle", secret).starts_with("otpauth://totp/Yardwatch:jo%C3%ABlle?secret="));
  CHECK(totp_uri("a.b_c-d~e", secret).starts_with("otpauth://totp/Yardwatch:a.b_c-d~e?"));
}

TEST_CASE("the enrolment QR code is drawn with half blocks", "[totp]") {
  const auto uri = totp_uri("anna", totp_generate_secret());
  auto drawn = qr_text(uri);
  REQUIRE(drawn.ok());
  const std::string& text = drawn.value();
  REQUIRE_FALSE(text.empty());
  CHECK(count(text, "█") > 0);
  CHECK((count(text, "▀") + count(text, "▄")) > 0);

  // Square: every line as wide as the symbol plus the quiet zone, two module rows a line.
  std::vector<std::string> lines;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    REQUIRE(end != std::string::npos);
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  auto width_of = [](const std::string& line) {
    return count(line, "█") + count(line, "▀") + count(line, "▄") + count(line, " ");
  };
  const size_t modules = width_of(lines.front());
  CHECK(modules >= 21 + 4);
  CHECK(lines.size() == (modules + 1) / 2);
  for (const auto& line : lines) CHECK(width_of(line) == modules);
  // The quiet zone (light) surrounds the symbol: the first line is two light module rows.
  CHECK(count(lines.front(), "█") == modules);

  // Longer than a QR code holds.
  auto too_long = qr_text(std::string(5000, 'x'));
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.error().kind == ErrorKind::kInvalidArgument);
}
