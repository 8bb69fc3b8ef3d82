#include "yardwatch/firmware/accounts.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "yardwatch/firmware/breaches.h"
#include "yardwatch/firmware/totp.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

namespace {

using recorder::sql::Transaction;

constexpr int64_t kTotpPending = -1;  // totp_last_step while an enrolment awaits its first code
constexpr std::string_view kSetupCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

bool password_matches(const std::string& hash, const std::string& password) {
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::string to_lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool valid_account_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(),
                     [](unsigned char c) {
                       return std::isalnum(c) != 0 || c == '.' || c == '-' || c == '_';
                     }) &&
         name != "console" && name != "system";
}

std::vector<uint8_t> totp_associated_data(int64_t account_id) {
  std::string context = "yardwatch-totp-v1:" + std::to_string(account_id);
  return {context.begin(), context.end()};
}

std::vector<uint8_t> wrap_totp_secret(const hal::SecretBytes& master,
                                      const std::vector<uint8_t>& secret, int64_t account_id) {
  std::vector<uint8_t> wrapped(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + secret.size() +
                               crypto_aead_xchacha20poly1305_ietf_ABYTES);
  randombytes_buf(wrapped.data(), crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  auto ad = totp_associated_data(account_id);
  unsigned long long length = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      wrapped.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &length, secret.data(),
      secret.size(), ad.data(), ad.size(), nullptr, wrapped.data(), master.data());
  return wrapped;
}

Result<std::vector<uint8_t>> unwrap_totp_secret(const hal::SecretBytes& master,
                                                const std::vector<uint8_t>& wrapped,
                                                int64_t account_id) {
  constexpr size_t overhead =
      crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (wrapped.size() <= overhead) return make_error(ErrorKind::kDataLoss, "TOTP secret damaged");
  std::vector<uint8_t> secret(wrapped.size() - overhead);
  auto ad = totp_associated_data(account_id);
  unsigned long long length = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          secret.data(), &length, nullptr,
          wrapped.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
          wrapped.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, ad.data(), ad.size(),
          wrapped.data(), master.data()) != 0) {
    return make_error(ErrorKind::kDataLoss, "TOTP secret does not belong to this account");
  }
  return secret;
}

struct AccountRow {
  Account account;
  std::string password_hash;
  std::vector<uint8_t> totp_secret;
  int64_t totp_last_step = 0;
};

constexpr const char* kAccountColumns =
    "id, name, role, must_change_password, disabled, totp_secret, totp_last_step, "
    "created_utc_us, last_login_utc_us, password_hash, language";

AccountRow read_account(const recorder::sql::Statement& row) {
  AccountRow result;
  result.account.id = row.column_int(0);
  result.account.name = row.column_text(1);
  result.account.role = parse_role(row.column_text(2)).value_or(Role::kViewer);
  result.account.must_change_password = row.column_int(3) != 0;
  result.account.disabled = row.column_int(4) != 0;
  result.totp_secret = row.column_blob(5);
  result.totp_last_step = row.column_int(6);
  result.account.has_totp = !result.totp_secret.empty() && result.totp_last_step != kTotpPending;
  result.account.created_utc_us = row.column_int(7);
  if (!row.column_is_null(8)) result.account.last_login_utc_us = row.column_int(8);
  result.password_hash = row.column_text(9);
  result.account.language = row.column_text(10);
  return result;
}

Result<std::optional<AccountRow>> query_account(recorder::sql::Database& db,
                                                const std::string& name) {
  YW_ASSIGN_OR_RETURN(auto query, db.prepare(std::string("SELECT ") + kAccountColumns +
                                             " FROM accounts WHERE name = ?1"));
  query.bind(1, name);
  YW_ASSIGN_OR_RETURN(bool found, query.step());
  if (!found) return std::optional<AccountRow>();
  return std::optional<AccountRow>(read_account(query));
}

Result<std::vector<std::string>> assigned_camera_names(recorder::sql::Database& db,
                                                       int64_t account_id) {
  YW_ASSIGN_OR_RETURN(auto query,
                      db.prepare("SELECT c.name FROM account_cameras a JOIN cameras c ON "
                                 "c.id = a.camera_id WHERE a.account_id = ?1 ORDER BY c.name"));
  query.bind(1, account_id);
  std::vector<std::string> names;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, query.step());
    if (!has_row) break;
    names.push_back(query.column_text(0));
  }
  return names;
}

Result<int64_t> count_active_admins(recorder::sql::Database& db) {
  YW_ASSIGN_OR_RETURN(auto query, db.prepare("SELECT COUNT(*) FROM accounts WHERE role = "
                                             "'admin' AND disabled = 0"));
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  return has_row ? query.column_int(0) : 0;
}

// Admins, enabled or not: the setup code exists only to create the very first one.
Result<int64_t> count_admins(recorder::sql::Database& db) {
  YW_ASSIGN_OR_RETURN(auto query, db.prepare("SELECT COUNT(*) FROM accounts WHERE role = 'admin'"));
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  return has_row ? query.column_int(0) : 0;
}

AuditEvent account_event(const std::string& action, const std::string& name) {
  AuditEvent event;
  event.action = action;
  event.object_type = "account";
  event.object_id = name;
  return event;
}

Error denied(const std::string& message) {
  return make_error(ErrorKind::kPermissionDenied, message);
}

}  // namespace

Result<std::string> hash_password(const std::string& password) {
  std::array<char, crypto_pwhash_STRBYTES> hashed{};
  if (crypto_pwhash_str_alg(hashed.data(), password.data(), password.size(), kPasswordOpsLimit,
                            kPasswordMemLimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error(ErrorKind::kResourceExhausted, "not enough memory to hash the password");
  }
  return std::string(hashed.data());
}

Actor Principal::actor() const {
  return Actor{account_id, name, std::string(role_name(role)), client_address};
}

Status check_password_policy(const std::string& name, const std::string& password) {
  if (password.size() < kMinPasswordLength) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the password must be at least 12 characters long");
  }
  if (password.size() > kMaxPasswordLength) {
    return make_error(ErrorKind::kInvalidArgument, "the password may be at most 128 characters");
  }
  if (!name.empty() && to_lower(password).find(to_lower(name)) != std::string::npos) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the password must not contain the account name");
  }
  return {};
}

Status authorize(AuditJournal& audit, const Principal& principal, Permission permission,
                 std::optional<int64_t> camera_id, const AuditEvent& attempted) {
  std::string why;
  if (!role_allows(principal.role, permission)) {
    why = "role " + std::string(role_name(principal.role)) + " may not " +
          std::string(permission_name(permission));
  } else if (camera_id && limited_to_assigned_cameras(principal.role, permission) &&
             principal.camera_ids.count(*camera_id) == 0) {
    why = "camera not assigned to " + principal.name;
  } else if (principal.must_change_password) {
    why = "the temporary password must be changed first";
  } else if (principal.needs_totp_enrolment) {
    why = "two-factor sign-in (TOTP) must be set up first";
  } else {
    return {};
  }
  AuditEvent denial = attempted;
  denial.allowed = false;
  denial.reason = why;
  (void)audit.append(principal.actor(), denial);
  return denied("permission denied: " + why);
}

AccountService::AccountService(recorder::Catalog& catalog, const hal::Clock& clock,
                               const hal::KeyStore& keys, AuditJournal& audit)
    : catalog_(catalog), clock_(clock), keys_(keys), audit_(audit), throttle_(catalog, clock) {}

bool AccountService::totp_required_for(Role role) {
  if (role != Role::kAdmin && role != Role::kDirector) return false;
  std::lock_guard lock(catalog_.mutex());
  auto query =
      catalog_.database().prepare("SELECT value FROM settings WHERE key = 'policy.require_totp'");
  if (!query.ok()) return true;
  auto has_row = query.value().step();
  if (!has_row.ok() || !has_row.value()) return true;
  return query.value().column_text(0) != "0";
}

Result<std::string> AccountService::issue_setup_code() {
  std::string code;
  for (int i = 0; i < 16; ++i) {
    if (i > 0 && i % 4 == 0) code += '-';
    code +=
        kSetupCodeAlphabet[randombytes_uniform(static_cast<uint32_t>(kSetupCodeAlphabet.size()))];
  }
  YW_ASSIGN_OR_RETURN(std::string hashed, hash_password(code));
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(int64_t admins, count_admins(db));
  if (admins > 0) {
    return make_error(ErrorKind::kFailedPrecondition,
                      "an admin exists already; a setup code is only for the first admin");
  }
  YW_ASSIGN_OR_RETURN(auto retire, db.prepare("UPDATE setup_codes SET used_utc_us = ?1 WHERE "
                                              "used_utc_us IS NULL"));
  const int64_t now = clock_.now_utc_us();
  YW_TRY(retire.bind(1, now).run());
  YW_ASSIGN_OR_RETURN(auto insert, db.prepare("INSERT INTO setup_codes(code_hash, created_utc_us, "
                                              "expires_utc_us) VALUES (?1, ?2, ?3)"));
  YW_TRY(insert.bind(1, hashed).bind(2, now).bind(3, now + kSetupCodeLifetimeUs).run());
  AuditEvent event;
  event.action = "setup_code_issued";
  event.object_type = "setting";
  YW_TRY(audit_.append(Actor::console(), event));
  YW_TRY(transaction.commit());
  return code;
}

Result<Account> AccountService::create_first_admin(const std::string& name,
                                                   const std::string& setup_code,
                                                   const std::string& password,
                                                   const std::string& client_address) {
  const std::string subject = "setup-code";
  YW_ASSIGN_OR_RETURN(auto decision, throttle_.check(subject, client_address));
  if (!decision.allowed) {
    return denied("too many wrong setup codes; try again in " +
                  std::to_string(decision.retry_after_us / 1'000'000 + 1) + " s");
  }
  if (!valid_account_name(name)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "account names are 1–64 letters, digits, '.', '-' or '_'");
  }
  YW_TRY(check_password_policy(name, password));
  YW_ASSIGN_OR_RETURN(std::string password_hash, hash_password(password));

  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  const int64_t now = clock_.now_utc_us();
  Actor actor{std::nullopt, valid_account_name(name) ? name : std::string("(invalid name)"),
              "unauthenticated", client_address};
  AuditEvent event = account_event("create_first_admin", actor.name);
  {
    YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
    YW_ASSIGN_OR_RETURN(int64_t admins, count_admins(db));
    YW_ASSIGN_OR_RETURN(auto codes, db.prepare("SELECT id, code_hash, expires_utc_us FROM "
                                               "setup_codes WHERE used_utc_us IS NULL"));
    std::optional<int64_t> matched;
    bool expired = false;
    while (true) {
      YW_ASSIGN_OR_RETURN(bool has_row, codes.step());
      if (!has_row) break;
      if (password_matches(codes.column_text(1), setup_code)) {
        matched = codes.column_int(0);
        expired = codes.column_int(2) <= now;
      }
    }
    std::string why;
    if (admins > 0) {
      why = "an admin exists already";
    } else if (!matched) {
      why = "wrong or already used setup code";
    } else if (expired) {
      why = "the setup code has expired (run `yardwatch init --new-setup-code`)";
    }
    if (!why.empty()) {
      event.allowed = false;
      event.reason = why;
      YW_TRY(audit_.append(actor, event));
      YW_TRY(transaction.commit());
      if (!matched) (void)throttle_.record_failure(subject, client_address);
      return denied(why);
    }
    YW_ASSIGN_OR_RETURN(auto used, db.prepare("UPDATE setup_codes SET used_utc_us = ?1"));
    YW_TRY(used.bind(1, now).run());
    YW_ASSIGN_OR_RETURN(auto insert,
                        db.prepare("INSERT INTO accounts(name, role, password_hash, "
                                   "must_change_password, created_utc_us, "
                                   "password_changed_utc_us) VALUES (?1, 'admin', ?2, 0, ?3, ?3)"));
    YW_TRY(insert.bind(1, name).bind(2, password_hash).bind(3, now).run());
    actor.account_id = db.last_insert_rowid();
    actor.role = "admin";
    YW_TRY(audit_.append(actor, event));
    YW_TRY(transaction.commit());
  }
  (void)throttle_.record_success(subject);
  return find(name);
}

Status AccountService::authorize_account_admin(const Actor& by, const std::string& action,
                                               const std::string& target) {
  if (by.name == "console" && !by.account_id) return {};  // physical access to the appliance
  if (by.account_id) {
    YW_ASSIGN_OR_RETURN(Principal principal, load_principal(*by.account_id, by.client_address));
    return authorize(audit_, principal, Permission::kManageAccounts, std::nullopt,
                     account_event(action, target));
  }
  return denied("only the console or an admin may manage accounts");
}

Result<std::vector<int64_t>> AccountService::camera_ids(const std::vector<std::string>& names) {
  std::vector<int64_t> ids;
  for (const auto& name : names) {
    YW_ASSIGN_OR_RETURN(auto camera, catalog_.camera_by_name(name));
    ids.push_back(camera.id);
  }
  return ids;
}

Result<Account> AccountService::add_account(const Actor& by, const std::string& name, Role role,
                                            const std::vector<std::string>& cameras,
                                            const std::string& temporary_password) {
  YW_TRY(authorize_account_admin(by, "account_create", name));
  if (!valid_account_name(name)) {
    return make_error(ErrorKind::kInvalidArgument,
                      "account names are 1–64 letters, digits, '.', '-' or '_'");
  }
  if (!cameras.empty() && role != Role::kViewer) {
    return make_error(ErrorKind::kInvalidArgument,
                      "only viewers are limited to cameras; other roles see what their role "
                      "allows");
  }
  YW_TRY(check_password_policy(name, temporary_password));
  YW_ASSIGN_OR_RETURN(auto ids, camera_ids(cameras));
  YW_ASSIGN_OR_RETURN(std::string password_hash, hash_password(temporary_password));
  {
    std::lock_guard lock(catalog_.mutex());
    auto& db = catalog_.database();
    YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
    const int64_t now = clock_.now_utc_us();
    YW_ASSIGN_OR_RETURN(auto insert,
                        db.prepare("INSERT INTO accounts(name, role, password_hash, "
                                   "must_change_password, created_utc_us, "
                                   "password_changed_utc_us) VALUES (?1, ?2, ?3, 1, ?4, ?4)"));
    auto inserted =
        insert.bind(1, name).bind(2, role_name(role)).bind(3, password_hash).bind(4, now).run();
    if (!inserted.ok()) {
      if (inserted.error().kind == ErrorKind::kAlreadyExists) {
        return make_error(ErrorKind::kAlreadyExists, "an account named '" + name + "' exists");
      }
      return std::move(inserted).error();
    }
    const int64_t account_id = db.last_insert_rowid();
    for (int64_t camera_id : ids) {
      YW_ASSIGN_OR_RETURN(auto assign, db.prepare("INSERT INTO account_cameras(account_id, "
                                                  "camera_id) VALUES (?1, ?2)"));
      YW_TRY(assign.bind(1, account_id).bind(2, camera_id).run());
    }
    AuditEvent event = account_event("account_create", name);
    std::string camera_list;
    for (const auto& camera : cameras) camera_list += (camera_list.empty() ? "" : ",") + camera;
    event.details = std::string(R"({"role":")") + std::string(role_name(role)) + "\"}";
    event.camera = camera_list;
    YW_TRY(audit_.append(by, event));
    YW_TRY(transaction.commit());
  }
  return find(name);
}

Status AccountService::ensure_not_last_admin(const std::string& name, const std::string& what) {
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto row, query_account(db, name));
  if (!row) return make_error(ErrorKind::kNotFound, "no account named '" + name + "'");
  if (row->account.role != Role::kAdmin || row->account.disabled) return {};
  YW_ASSIGN_OR_RETURN(int64_t admins, count_active_admins(db));
  if (admins <= 1) {
    return make_error(ErrorKind::kFailedPrecondition,
                      "'" + name + "' is the last active admin and cannot be " + what +
                          "; add another admin first");
  }
  return {};
}

Status AccountService::set_disabled(const Actor& by, const std::string& name, bool disabled) {
  const std::string action = disabled ? "account_disable" : "account_enable";
  YW_TRY(authorize_account_admin(by, action, name));
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  if (disabled) {
    auto last = ensure_not_last_admin(name, "disabled");
    if (!last.ok()) {
      AuditEvent event = account_event(action, name);
      event.allowed = false;
      event.reason = last.error().message;
      YW_TRY(audit_.append(by, event));
      YW_TRY(transaction.commit());
      return last;
    }
  }
  YW_ASSIGN_OR_RETURN(auto update, db.prepare("UPDATE accounts SET disabled = ?1 WHERE name = ?2"));
  YW_TRY(update.bind(1, int64_t{disabled ? 1 : 0}).bind(2, name).run());
  if (db.changes() == 0) return make_error(ErrorKind::kNotFound, "no account named '" + name + "'");
  if (disabled) {
    YW_ASSIGN_OR_RETURN(auto revoke, db.prepare("DELETE FROM sessions WHERE account_id = (SELECT "
                                                "id FROM accounts WHERE name = ?1)"));
    YW_TRY(revoke.bind(1, name).run());
  }
  YW_TRY(audit_.append(by, account_event(action, name)));
  return transaction.commit();
}

Status AccountService::set_role(const Actor& by, const std::string& name, Role role,
                                const std::optional<std::vector<std::string>>& cameras) {
  YW_TRY(authorize_account_admin(by, "account_set_role", name));
  std::vector<int64_t> ids;
  if (cameras) {
    if (role != Role::kViewer && !cameras->empty()) {
      return make_error(ErrorKind::kInvalidArgument, "only viewers are limited to cameras");
    }
    YW_ASSIGN_OR_RETURN(ids, camera_ids(*cameras));
  }
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto row, query_account(db, name));
  if (!row) return make_error(ErrorKind::kNotFound, "no account named '" + name + "'");
  if (role != Role::kAdmin) {
    auto last = ensure_not_last_admin(name, "demoted");
    if (!last.ok()) {
      AuditEvent event = account_event("account_set_role", name);
      event.allowed = false;
      event.reason = last.error().message;
      YW_TRY(audit_.append(by, event));
      YW_TRY(transaction.commit());
      return last;
    }
  }
  YW_ASSIGN_OR_RETURN(auto update, db.prepare("UPDATE accounts SET role = ?1 WHERE id = ?2"));
  YW_TRY(update.bind(1, role_name(role)).bind(2, row->account.id).run());
  if (cameras || role != Role::kViewer) {
    YW_ASSIGN_OR_RETURN(auto clear,
                        db.prepare("DELETE FROM account_cameras WHERE account_id = ?1"));
    YW_TRY(clear.bind(1, row->account.id).run());
    for (int64_t camera_id : ids) {
      YW_ASSIGN_OR_RETURN(auto assign, db.prepare("INSERT INTO account_cameras(account_id, "
                                                  "camera_id) VALUES (?1, ?2)"));
      YW_TRY(assign.bind(1, row->account.id).bind(2, camera_id).run());
    }
  }
  // A role change ends the account's sessions (issue #3, item 5).
  YW_ASSIGN_OR_RETURN(auto revoke, db.prepare("DELETE FROM sessions WHERE account_id = ?1"));
  YW_TRY(revoke.bind(1, row->account.id).run());
  AuditEvent event = account_event("account_set_role", name);
  event.details = std::string(R"({"from":")") + std::string(role_name(row->account.role)) +
                  R"(","to":")" + std::string(role_name(role)) + "\"}";
  YW_TRY(audit_.append(by, event));
  return transaction.commit();
}

Result<std::vector<Account>> AccountService::list() {
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto query, db.prepare(std::string("SELECT ") + kAccountColumns +
                                             " FROM accounts ORDER BY name"));
  std::vector<Account> accounts;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, query.step());
    if (!has_row) break;
    accounts.push_back(read_account(query).account);
  }
  for (auto& account : accounts) {
    YW_ASSIGN_OR_RETURN(account.cameras, assigned_camera_names(db, account.id));
  }
  return accounts;
}

Result<Account> AccountService::find(const std::string& name) {
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto row, query_account(db, name));
  if (!row) return make_error(ErrorKind::kNotFound, "no account named '" + name + "'");
  YW_ASSIGN_OR_RETURN(row->account.cameras, assigned_camera_names(db, row->account.id));
  return row->account;
}

Result<Principal> AccountService::load_principal(int64_t account_id,
                                                 const std::string& client_address) {
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto query, db.prepare("SELECT name, role, must_change_password, disabled, "
                                             "totp_secret IS NOT NULL AND totp_last_step >= 0, "
                                             "language FROM accounts WHERE id = ?1"));
  query.bind(1, account_id);
  YW_ASSIGN_OR_RETURN(bool found, query.step());
  if (!found || query.column_int(3) != 0) return denied("the account is unknown or disabled");
  Principal principal;
  principal.account_id = account_id;
  principal.name = query.column_text(0);
  principal.role = parse_role(query.column_text(1)).value_or(Role::kViewer);
  principal.must_change_password = query.column_int(2) != 0;
  principal.client_address = client_address;
  principal.needs_totp_enrolment = query.column_int(4) == 0 && totp_required_for(principal.role);
  principal.language = query.column_text(5);
  YW_ASSIGN_OR_RETURN(auto cameras, db.prepare("SELECT camera_id FROM account_cameras WHERE "
                                               "account_id = ?1"));
  cameras.bind(1, account_id);
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, cameras.step());
    if (!has_row) break;
    principal.camera_ids.insert(cameras.column_int(0));
  }
  return principal;
}

Result<Principal> AccountService::principal(int64_t account_id, const std::string& client_address) {
  return load_principal(account_id, client_address);
}

Status AccountService::set_language(const Principal& principal, const std::string& language) {
  const auto& supported = supported_languages();
  if (std::find(supported.begin(), supported.end(), language) == supported.end()) {
    return make_error(ErrorKind::kInvalidArgument, "unsupported language; choose nl or en");
  }
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto update, db.prepare("UPDATE accounts SET language = ?1 WHERE id = ?2"));
  YW_TRY(update.bind(1, language).bind(2, principal.account_id).run());
  AuditEvent event = account_event("account_language", principal.name);
  event.details = "{\"language\":\"" + language + "\"}";  // one of the fixed values above
  YW_TRY(audit_.append(principal.actor(), event));
  return transaction.commit();
}

const std::vector<std::string>& supported_languages() {
  static const std::vector<std::string> languages{"nl", "en"};
  return languages;
}

Result<Principal> AccountService::authenticate(const Credentials& credentials) {
  // Whatever was typed as a name goes into the journal only if it is a possible account name, so
  // a hostile name can neither be refused by the journal (and leave a denial unlogged) nor
  // smuggle anything into it.
  const std::string logged_name =
      valid_account_name(credentials.name) ? credentials.name : std::string("(invalid name)");
  Actor attempt{std::nullopt, logged_name, "unauthenticated",
                credentials.client_address.empty() ? "unknown" : credentials.client_address};
  AuditEvent event = account_event("login", logged_name);
  auto deny = [&](const std::string& why, const std::string& shown) -> Error {
    event.allowed = false;
    event.reason = why;
    (void)audit_.append(attempt, event);
    return denied(shown);
  };

  YW_ASSIGN_OR_RETURN(auto decision, throttle_.check(credentials.name, credentials.client_address));
  if (!decision.allowed) {
    const std::string wait = std::to_string(decision.retry_after_us / 1'000'000 + 1);
    return deny("throttled (locked out for another " + wait + " s)",
                "too many failed sign-ins; try again in " + wait + " s");
  }
  std::optional<AccountRow> row;
  {
    std::lock_guard lock(catalog_.mutex());
    YW_ASSIGN_OR_RETURN(row, query_account(catalog_.database(), credentials.name));
  }
  // Hash even for unknown names, so timing does not reveal which accounts exist.
  static const std::string dummy_hash = hash_password("yardwatch-timing-equaliser").value();
  const bool password_ok =
      password_matches(row ? row->password_hash : dummy_hash, credentials.password) &&
      row.has_value();
  bool totp_ok = true;
  std::optional<int64_t> totp_step;
  if (password_ok && row->account.has_totp) {
    auto secret = unwrap_totp_secret(keys_.master_key(), row->totp_secret, row->account.id);
    if (!secret.ok()) return std::move(secret).error();
    totp_step = totp_verify(secret.value(), credentials.totp_code, clock_.now_utc_us() / 1'000'000,
                            std::max<int64_t>(row->totp_last_step, 0));
    totp_ok = totp_step.has_value();
  }
  if (!password_ok || !totp_ok) {
    auto outcome = throttle_.record_failure(credentials.name, credentials.client_address);
    if (outcome.ok() && outcome.value().locked_out) {
      AuditEvent lockout = account_event("login_lockout", logged_name);
      lockout.allowed = false;
      lockout.reason = "locked out for " + std::to_string(outcome.value().lockout_us / 1'000'000) +
                       " s after " + std::to_string(outcome.value().failures) + " failures";
      (void)audit_.append(attempt, lockout);
      (void)catalog_.raise_alarm(
          "login_lockout", std::nullopt,
          "repeated failed sign-ins for '" + logged_name + "' from " + credentials.client_address,
          clock_.now_utc_us());
    }
    Error refused = deny(password_ok ? "wrong or reused TOTP code" : "wrong name or password",
                         password_ok ? (credentials.totp_code.empty() ? "a TOTP code is required"
                                                                      : "wrong or reused TOTP code")
                                     : "wrong name or password");
    // Guessing spread over many names and addresses stays under every lock-out; the burst of
    // failures as a whole is a security incident (R8, breaches.h).
    (void)check_login_burst(catalog_, clock_.now_utc_us());
    return refused;
  }
  if (row->account.disabled) return deny("account disabled", "this account is disabled");
  attempt.account_id = row->account.id;
  attempt.role = std::string(role_name(row->account.role));
  {
    std::lock_guard lock(catalog_.mutex());
    auto& db = catalog_.database();
    YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
    YW_ASSIGN_OR_RETURN(auto update, db.prepare("UPDATE accounts SET last_login_utc_us = ?1, "
                                                "totp_last_step = MAX(totp_last_step, ?2) "
                                                "WHERE id = ?3"));
    YW_TRY(update.bind(1, clock_.now_utc_us())
               .bind(2, totp_step.value_or(row->totp_last_step))
               .bind(3, row->account.id)
               .run());
    YW_TRY(audit_.append(attempt, event));
    YW_TRY(transaction.commit());
  }
  (void)throttle_.record_success(credentials.name);
  return load_principal(row->account.id, credentials.client_address);
}

Status AccountService::change_password(const Credentials& credentials,
                                       const std::string& new_password) {
  YW_ASSIGN_OR_RETURN(Principal principal, authenticate(credentials));
  YW_TRY(check_password_policy(principal.name, new_password));
  if (new_password == credentials.password) {
    return make_error(ErrorKind::kInvalidArgument, "the new password must differ from the old one");
  }
  YW_ASSIGN_OR_RETURN(std::string password_hash, hash_password(new_password));
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto update, db.prepare("UPDATE accounts SET password_hash = ?1, "
                                              "must_change_password = 0, "
                                              "password_changed_utc_us = ?2 WHERE id = ?3"));
  YW_TRY(update.bind(1, password_hash)
             .bind(2, clock_.now_utc_us())
             .bind(3, principal.account_id)
             .run());
  YW_ASSIGN_OR_RETURN(auto revoke, db.prepare("DELETE FROM sessions WHERE account_id = ?1"));
  YW_TRY(revoke.bind(1, principal.account_id).run());
  YW_TRY(audit_.append(principal.actor(), account_event("password_change", principal.name)));
  return transaction.commit();
}

Result<TotpEnrolment> AccountService::begin_totp_enrolment(const Principal& principal) {
  std::vector<uint8_t> secret = totp_generate_secret();
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto row, query_account(db, principal.name));
  if (!row) return make_error(ErrorKind::kNotFound, "no account named '" + principal.name + "'");
  if (row->account.has_totp) {
    return make_error(ErrorKind::kAlreadyExists,
                      "TOTP is already set up for this account; an admin can reset it");
  }
  YW_ASSIGN_OR_RETURN(auto update, db.prepare("UPDATE accounts SET totp_secret = ?1, "
                                              "totp_last_step = ?2 WHERE id = ?3"));
  YW_TRY(update.bind(1, wrap_totp_secret(keys_.master_key(), secret, principal.account_id))
             .bind(2, kTotpPending)
             .bind(3, principal.account_id)
             .run());
  YW_TRY(audit_.append(principal.actor(), account_event("totp_enrol_begin", principal.name)));
  YW_TRY(transaction.commit());
  TotpEnrolment enrolment{base32_encode(secret), totp_uri(principal.name, secret)};
  sodium_memzero(secret.data(), secret.size());
  return enrolment;
}

Status AccountService::confirm_totp_enrolment(const Principal& principal, const std::string& code) {
  std::lock_guard lock(catalog_.mutex());
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto row, query_account(db, principal.name));
  if (!row || row->totp_secret.empty() || row->totp_last_step != kTotpPending) {
    return make_error(ErrorKind::kFailedPrecondition, "no TOTP enrolment is waiting");
  }
  YW_ASSIGN_OR_RETURN(
      auto secret, unwrap_totp_secret(keys_.master_key(), row->totp_secret, principal.account_id));
  auto step = totp_verify(secret, code, clock_.now_utc_us() / 1'000'000, 0);
  AuditEvent event = account_event("totp_enrol_confirm", principal.name);
  if (!step) {
    event.allowed = false;
    event.reason = "wrong code";
    YW_TRY(audit_.append(principal.actor(), event));
    YW_TRY(transaction.commit());
    return denied("wrong TOTP code; check the authenticator app's clock and try again");
  }
  YW_ASSIGN_OR_RETURN(auto update,
                      db.prepare("UPDATE accounts SET totp_last_step = ?1 WHERE id = ?2"));
  YW_TRY(update.bind(1, *step).bind(2, principal.account_id).run());
  YW_TRY(audit_.append(principal.actor(), event));
  return transaction.commit();
}

}  // namespace yardwatch::firmware
