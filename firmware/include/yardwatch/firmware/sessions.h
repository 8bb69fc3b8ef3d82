#pragma once

// Sign-in sessions for the web admin: 256-bit random tokens, stored only as BLAKE2b-256 hashes;
// idle timeout 15 min, absolute lifetime 8 h; a fresh token at every sign-in; revoked at
// sign-out, password change, role change or when the account is disabled.

#include <cstdint>
#include <string>

#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

constexpr int64_t kSessionIdleUs = 15 * 60'000'000LL;
constexpr int64_t kSessionAbsoluteUs = 8 * 3600'000'000LL;
// How often a session's last_seen is written (so idle expiry is exact to within this).
constexpr int64_t kSessionTouchUs = 30'000'000LL;

struct NewSession {
  std::string token;       // base64url, given to the browser once (cookie)
  std::string csrf_token;  // base64url, echoed in a header on state changes
};

struct SessionInfo {
  int64_t account_id = 0;
  std::string csrf_token;
  std::string client_address;
  int64_t created_utc_us = 0;
  int64_t last_seen_utc_us = 0;
};

class SessionStore {
 public:
  SessionStore(recorder::Catalog& catalog, const hal::Clock& clock);
  Result<NewSession> create(int64_t account_id, const std::string& client_address);
  // kPermissionDenied for unknown, idle-expired or too old sessions (expired ones are deleted);
  // otherwise refreshes last_seen.
  Result<SessionInfo> validate(const std::string& token);
  Status revoke(const std::string& token);
  Status revoke_all(int64_t account_id);

 private:
  recorder::Catalog& catalog_;
  const hal::Clock& clock_;
};

}  // namespace yardwatch::firmware
