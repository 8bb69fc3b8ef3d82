#include "yardwatch/firmware/sessions.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "test_support.h"
#include "yardwatch/firmware/schema.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/catalog.h"

using namespace yardwatch;
using namespace yardwatch::firmware;

namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

struct SessionFixture {
  testing::TempDir dir{"yw-sessions"};
  hal::SimulatedClock clock{1'790'000'000 * kSecond};
  std::unique_ptr<recorder::Catalog> catalog;
  std::unique_ptr<SessionStore> sessions;

  SessionFixture() {
    auto opened = recorder::Catalog::open(dir / "catalog.db", true, firmware_migrations());
    REQUIRE(opened.ok());
    catalog = std::move(opened).value();
    sessions = std::make_unique<SessionStore>(*catalog, clock);
  }

  // The accounts service is not under test here: a row written directly is enough.
  int64_t add_account(const std::string& name) {
    auto& db = catalog->database();
    auto insert = db.prepare(
        "INSERT INTO accounts(name, role, password_hash, created_utc_us, "
        "password_changed_utc_us) VALUES (?1, 'director', '$argon2id$placeholder', "
        "?2, ?2)");
    REQUIRE(insert.ok());
    insert->bind(1, name).bind(2, clock.now_utc_us());
    REQUIRE(insert->run().ok());
    return db.last_insert_rowid();
  }

  void set_disabled(int64_t account_id, bool disabled) {
    auto update = catalog->database().prepare("UPDATE accounts SET disabled = ?2 WHERE id = ?1");
    REQUIRE(update.ok());
    update->bind(1, account_id).bind(2, int64_t{disabled ? 1 : 0});
    REQUIRE(update->run().ok());
  }

  int64_t session_rows() {
    auto query = catalog->database().prepare("SELECT count(*) FROM sessions");
    REQUIRE(query.ok());
    auto has_row = query->step();
    REQUIRE(has_row.ok());
    REQUIRE(has_row.value());
    return query->column_int(0);
  }

  NewSession create(int64_t account_id, const std::string& address = "192.0.2.10") {
    auto session = sessions->create(account_id, address);
    REQUIRE(session.ok());
    return session.value();
  }
};

void check_refused(const Result<SessionInfo>& result, const std::string& message) {
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::kPermissionDenied);
  CHECK(result.error().message == message);
}

bool is_base64url(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '-' || c == '_'; });
}

}  // namespace

TEST_CASE("a session is created and validated", "[sessions]") {
  SessionFixture f;
  const int64_t anna = f.add_account("anna");
  const auto session = f.create(anna, "192.0.2.10");
  // 256 bits in unpadded base64url.
  CHECK(session.token.size() == 43);
  CHECK(session.csrf_token.size() == 43);
  CHECK(is_base64url(session.token));
  CHECK(is_base64url(session.csrf_token));
  CHECK(session.token != session.csrf_token);

  f.clock.advance_us(5 * kMinute);
  auto info = f.sessions->validate(session.token);
  REQUIRE(info.ok());
  CHECK(info->account_id == anna);
  CHECK(info->csrf_token == session.csrf_token);
  CHECK(info->client_address == "192.0.2.10");
  CHECK(info->created_utc_us == f.clock.now_utc_us() - 5 * kMinute);
  CHECK(info->last_seen_utc_us == f.clock.now_utc_us());

  check_refused(f.sessions->validate("not-a-token"), "not signed in");
  check_refused(f.sessions->validate(""), "not signed in");
  check_refused(f.sessions->validate(std::string(10000, 'A')), "not signed in");
  // A token one character off is unknown.
  std::string altered = session.token;
  altered[0] = altered[0] == 'A' ? 'B' : 'A';
  check_refused(f.sessions->validate(altered), "not signed in");

  SECTION("every sign-in gets a fresh token") {
    std::set<std::string> tokens = {session.token, session.csrf_token};
    for (int i = 0; i < 50; ++i) {
      const auto another = f.create(anna);
      tokens.insert(another.token);
      tokens.insert(another.csrf_token);
    }
    CHECK(tokens.size() == 102);
    CHECK(f.sessions->validate(session.token).ok());
  }
  SECTION("an unknown account gets no session") {
    auto refused = f.sessions->create(anna + 100, "192.0.2.10");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::kNotFound);
  }
}

TEST_CASE("a session expires after 15 idle minutes", "[sessions]") {
  SessionFixture f;
  const int64_t anna = f.add_account("anna");
  const auto session = f.create(anna);

  f.clock.advance_us(14 * kMinute + 59 * kSecond);
  REQUIRE(f.sessions->validate(session.token).ok());
  // Each use restarts the idle timer.
  f.clock.advance_us(14 * kMinute + 59 * kSecond);
  REQUIRE(f.sessions->validate(session.token).ok());

  f.clock.advance_us(15 * kMinute + kSecond);
  check_refused(f.sessions->validate(session.token), "session expired");
  // It was deleted: now it is simply unknown.
  CHECK(f.session_rows() == 0);
  check_refused(f.sessions->validate(session.token), "not signed in");
}

TEST_CASE("a session ends after 8 hours even when in use", "[sessions]") {
  SessionFixture f;
  const int64_t anna = f.add_account("anna");
  const auto session = f.create(anna);

  for (int64_t elapsed = 10 * kMinute; elapsed <= 8 * kHour; elapsed += 10 * kMinute) {
    f.clock.advance_us(10 * kMinute);
    INFO("minutes since sign-in: " << elapsed / kMinute);
    REQUIRE(f.sessions->validate(session.token).ok());
  }
  f.clock.advance_us(10 * kMinute);
  check_refused(f.sessions->validate(session.token), "session expired");
  CHECK(f.session_rows() == 0);
}

TEST_CASE("sessions are revoked one by one or all of an account's", "[sessions]") {
  SessionFixture f;
  const int64_t anna = f.add_account("anna");
  const int64_t bert = f.add_account("bert");
  const auto laptop = f.create(anna);
  const auto tablet = f.create(anna);
  const auto berts = f.create(bert);

  REQUIRE(f.sessions->revoke(laptop.token).ok());
  check_refused(f.sessions->validate(laptop.token), "not signed in");
  CHECK(f.sessions->validate(tablet.token).ok());
  // Revoking an unknown or already revoked token is not an error (sign-out twice).
  CHECK(f.sessions->revoke(laptop.token).ok());

  const auto phone = f.create(anna);
  REQUIRE(f.sessions->revoke_all(anna).ok());
  check_refused(f.sessions->validate(tablet.token), "not signed in");
  check_refused(f.sessions->validate(phone.token), "not signed in");
  CHECK(f.sessions->validate(berts.token).ok());
  CHECK(f.session_rows() == 1);
}

TEST_CASE("session tokens are stored only as hashes", "[sessions]") {
  SessionFixture f;
  const int64_t anna = f.add_account("anna");
  const auto session = f.create(anna);
  REQUIRE(f.sessions->validate(session.token).ok());

  auto query = f.catalog->database().prepare(
      "SELECT token_hash, account_id, csrf_token, client_address, created_utc_us, "
      "last_seen_utc_us FROM sessions");
  REQUIRE(query.ok());
  auto has_row = query->step();
  REQUIRE(has_row.ok());
  REQUIRE(has_row.value());
  for (int column = 0; column < 6; ++column) {
    INFO("column " << column);
    CHECK(query->column_text(column).find(session.token) == std::string::npos);
    const auto blob = query->column_blob(column);
    CHECK(std::string(blob.begin(), blob.end()).find(session.token) == std::string::npos);
  }
  std::array<uint8_t, 32> expected{};
  crypto_generichash(expected.data(), expected.size(),
                     reinterpret_cast<const unsigned char*>(session.token.data()),
                     session.token.size(), nullptr, 0);
  CHECK(query->column_blob(0) == std::vector<uint8_t>(expected.begin(), expected.end()));

  // Nor anywhere in the database's files (main file, WAL).
  for (const auto& entry : std::filesystem::directory_iterator(f.dir.path())) {
    INFO(entry.path().string());
    CHECK(testing::read_file(entry.path()).find(session.token) == std::string::npos);
  }
}

TEST_CASE("a disabled account's sessions are refused", "[sessions]") {
  SessionFixture f;
  const int64_t anna = f.add_account("anna");
  const int64_t bert = f.add_account("bert");
  const auto session = f.create(anna);
  const auto berts = f.create(bert);
  REQUIRE(f.sessions->validate(session.token).ok());

  f.set_disabled(anna, true);
  check_refused(f.sessions->validate(session.token), "the account is disabled");
  // Refused and deleted: enabling the account again does not bring the session back.
  f.set_disabled(anna, false);
  check_refused(f.sessions->validate(session.token), "not signed in");
  CHECK(f.sessions->validate(berts.token).ok());

  // Nor can a disabled account sign in anew.
  f.set_disabled(anna, true);
  auto refused = f.sessions->create(anna, "192.0.2.10");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kPermissionDenied);
}

TEST_CASE("a sign-in sweeps expired sessions", "[sessions]") {
  SessionFixture f;
  const int64_t anna = f.add_account("anna");
  const int64_t bert = f.add_account("bert");
  (void)f.create(anna, "192.0.2.10");
  f.clock.advance_us(16 * kMinute);
  (void)f.create(bert, "192.0.2.11");
  CHECK(f.session_rows() == 1);
}

TEST_CASE("a session's last use is written at most every 30 s", "[sessions]") {
  SessionFixture f;
  const int64_t anna = f.add_account("anna");
  const auto session = f.create(anna);
  const int64_t created = f.clock.now_utc_us();
  auto last_seen = [&] {
    auto query = f.catalog->database().prepare("SELECT last_seen_utc_us FROM sessions");
    REQUIRE(query.ok());
    REQUIRE(query->step().value());
    return query->column_int(0);
  };
  f.clock.advance_us(10 * kSecond);
  REQUIRE(f.sessions->validate(session.token).ok());
  CHECK(last_seen() == created);  // a read, not a write (an fsync) per web request
  f.clock.advance_us(25 * kSecond);
  auto info = f.sessions->validate(session.token);
  REQUIRE(info.ok());
  CHECK(last_seen() == created + 35 * kSecond);
  CHECK(info->last_seen_utc_us == created + 35 * kSecond);
  // Idle expiry still counts from the last use, to within those 30 s.
  f.clock.advance_us(14 * kMinute + 50 * kSecond);
  REQUIRE(f.sessions->validate(session.token).ok());
  f.clock.advance_us(15 * kMinute + kSecond);
  check_refused(f.sessions->validate(session.token), "session expired");
}
