#include "yardwatch/firmware/sessions.h"

#include <sodium.h>

#include <array>
#include <mutex>

namespace yardwatch::firmware {

namespace {

constexpr size_t kTokenBytes = 32;  // 256 bits
constexpr size_t kTokenHashBytes = 32;
constexpr int kBase64Variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
// A real token is 43 characters; anything much longer is not ours and is not worth hashing.
constexpr size_t kMaxTokenLength = 128;

std::string random_token() {
  std::array<uint8_t, kTokenBytes> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::array<char, sodium_base64_ENCODED_LEN(kTokenBytes, kBase64Variant)> text{};
  sodium_bin2base64(text.data(), text.size(), bytes.data(), bytes.size(), kBase64Variant);
  sodium_memzero(bytes.data(), bytes.size());
  std::string token(text.data());
  sodium_memzero(text.data(), text.size());
  return token;
}

// Only this hash is stored: someone who reads the database (a backup, a stolen disk) cannot
// present it as a cookie. A 256-bit random token needs no salt or slow hash.
std::array<uint8_t, kTokenHashBytes> token_hash(const std::string& token) {
  std::array<uint8_t, kTokenHashBytes> hash{};
  crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  return hash;
}

Status delete_session(recorder::sql::Database& db, std::span<const uint8_t> hash) {
  YW_ASSIGN_OR_RETURN(auto remove, db.prepare("DELETE FROM sessions WHERE token_hash = ?1"));
  return remove.bind(1, hash).run();
}

}  // namespace

SessionStore::SessionStore(recorder::Catalog& catalog, const hal::Clock& clock)
    : catalog_(catalog), clock_(clock) {}

Result<NewSession> SessionStore::create(int64_t account_id, const std::string& client_address) {
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  const int64_t now = clock_.now_utc_us();
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(db));
  {
    YW_ASSIGN_OR_RETURN(auto account, db.prepare("SELECT disabled FROM accounts WHERE id = ?1"));
    account.bind(1, account_id);
    YW_ASSIGN_OR_RETURN(bool found, account.step());
    if (!found) {
      return make_error(ErrorKind::kNotFound, "no account with id " + std::to_string(account_id));
    }
    if (account.column_int(0) != 0) {
      return make_error(ErrorKind::kPermissionDenied, "the account is disabled");
    }
  }
  {
    // Expired sessions are otherwise deleted only when presented again; a sign-in sweeps them
    // so that client addresses are not kept longer than the sessions they belong to.
    YW_ASSIGN_OR_RETURN(auto sweep, db.prepare("DELETE FROM sessions WHERE last_seen_utc_us < ?1 "
                                               "OR created_utc_us < ?2"));
    YW_TRY(sweep.bind(1, now - kSessionIdleUs).bind(2, now - kSessionAbsoluteUs).run());
  }

  NewSession session;
  session.token = random_token();
  session.csrf_token = random_token();
  const auto hash = token_hash(session.token);
  YW_ASSIGN_OR_RETURN(auto insert,
                      db.prepare("INSERT INTO sessions(token_hash, account_id, csrf_token, "
                                 "client_address, created_utc_us, last_seen_utc_us) VALUES (?1, "
                                 "?2, ?3, ?4, ?5, ?5)"));
  insert.bind(1, std::span<const uint8_t>(hash)).bind(2, account_id).bind(3, session.csrf_token);
  insert.bind(4, client_address).bind(5, now);
  YW_TRY(insert.run());
  YW_TRY(transaction.commit());
  return session;
}

Result<SessionInfo> SessionStore::validate(const std::string& token) {
  if (token.empty() || token.size() > kMaxTokenLength) {
    return make_error(ErrorKind::kPermissionDenied, "not signed in");
  }
  const auto hash = token_hash(token);
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  const int64_t now = clock_.now_utc_us();
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(db));

  SessionInfo info;
  bool disabled = false;
  {
    YW_ASSIGN_OR_RETURN(
        auto select,
        db.prepare("SELECT s.account_id, s.csrf_token, s.client_address, s.created_utc_us, "
                   "s.last_seen_utc_us, a.disabled FROM sessions s JOIN accounts a ON a.id = "
                   "s.account_id WHERE s.token_hash = ?1"));
    select.bind(1, std::span<const uint8_t>(hash));
    YW_ASSIGN_OR_RETURN(bool found, select.step());
    if (!found) return make_error(ErrorKind::kPermissionDenied, "not signed in");
    info.account_id = select.column_int(0);
    info.csrf_token = select.column_text(1);
    info.client_address = select.column_text(2);
    info.created_utc_us = select.column_int(3);
    info.last_seen_utc_us = select.column_int(4);
    disabled = select.column_int(5) != 0;
  }

  const bool expired = now - info.last_seen_utc_us > kSessionIdleUs ||
                       now - info.created_utc_us > kSessionAbsoluteUs;
  if (expired || disabled) {
    YW_TRY(delete_session(db, hash));
    YW_TRY(transaction.commit());
    return make_error(ErrorKind::kPermissionDenied,
                      expired ? "session expired" : "the account is disabled");
  }

  // last_seen is written at most every kSessionTouchUs: the idle timeout (15 min) does not need
  // a finer grain, and a write (an fsync) on every web request would cap the API's throughput.
  if (now - info.last_seen_utc_us >= kSessionTouchUs) {
    YW_ASSIGN_OR_RETURN(auto touch, db.prepare("UPDATE sessions SET last_seen_utc_us = ?2 WHERE "
                                               "token_hash = ?1"));
    YW_TRY(touch.bind(1, std::span<const uint8_t>(hash)).bind(2, now).run());
    info.last_seen_utc_us = now;
  }
  YW_TRY(transaction.commit());
  return info;
}

Status SessionStore::revoke(const std::string& token) {
  const auto hash = token_hash(token);
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(db));
  YW_TRY(delete_session(db, hash));
  return transaction.commit();
}

Status SessionStore::revoke_all(int64_t account_id) {
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto remove, db.prepare("DELETE FROM sessions WHERE account_id = ?1"));
  YW_TRY(remove.bind(1, account_id).run());
  return transaction.commit();
}

}  // namespace yardwatch::firmware
