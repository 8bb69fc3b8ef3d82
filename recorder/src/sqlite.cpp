#include "yardwatch/recorder/sqlite.h"

#include <utility>

namespace yardwatch::recorder::sql {

Error sqlite_error(sqlite3* db, int code, std::string_view what) {
  ErrorKind kind = ErrorKind::kInternal;
  switch (code & 0xff) {
    case SQLITE_FULL:
      kind = ErrorKind::kResourceExhausted;
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_IOERR:
      kind = ErrorKind::kDataLoss;
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      kind = ErrorKind::kUnavailable;
      break;
    case SQLITE_CANTOPEN:
      kind = ErrorKind::kNotFound;
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      kind = ErrorKind::kPermissionDenied;
      break;
    case SQLITE_CONSTRAINT:
      kind = ErrorKind::kAlreadyExists;
      break;
    default:
      break;
  }
  std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  return Error{kind, std::string(what) + ": " + detail};
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), statement_(std::exchange(other.statement_, nullptr)) {}

Statement::~Statement() {
  if (statement_ != nullptr) sqlite3_finalize(statement_);
}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(statement_, index, value);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text64(statement_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Statement& Statement::bind(int index, std::span<const uint8_t> blob) {
  sqlite3_bind_blob64(statement_, index, blob.data(), blob.size(), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(statement_, index);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(db_, rc, "sqlite step");
}

Status Statement::run() {
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, step());
    if (!has_row) return {};
  }
}

void Statement::reset() { sqlite3_reset(statement_); }

int64_t Statement::column_int(int index) const { return sqlite3_column_int64(statement_, index); }

bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(statement_, index) == SQLITE_NULL;
}

std::string Statement::column_text(int index) const {
  const auto* text = sqlite3_column_text(statement_, index);
  if (text == nullptr) return {};
  return {reinterpret_cast<const char*>(text),
          static_cast<size_t>(sqlite3_column_bytes(statement_, index))};
}

std::vector<uint8_t> Statement::column_blob(int index) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(statement_, index));
  if (data == nullptr) return {};
  return {data, data + sqlite3_column_bytes(statement_, index)};
}

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& path, bool create) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<Database> db(new Database(raw));
  if (rc != SQLITE_OK) {
    return sqlite_error(raw, rc, "open catalog " + path.string());
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 10000);
  // WAL so readers (yardwatch status) never block the recorder; FULL so a committed row
  // survives a power cut; secure_delete so deleted key material is overwritten (DESIGN §4).
  YW_TRY(
      db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
               "PRAGMA secure_delete=ON;"));
  return db;
}

Database::~Database() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* statement = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_, rc, "prepare");
  return Statement(db_, statement);
}

Status Database::exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return sqlite_error(nullptr, rc, "sql: " + detail);
  }
  return {};
}

int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int Database::changes() const { return sqlite3_changes(db_); }

Result<int64_t> Database::user_version() {
  YW_ASSIGN_OR_RETURN(Statement statement, prepare("PRAGMA user_version"));
  YW_ASSIGN_OR_RETURN(bool has_row, statement.step());
  if (!has_row) return make_error(ErrorKind::kInternal, "PRAGMA user_version returned nothing");
  return statement.column_int(0);
}

Result<bool> Database::checkpoint_truncate() {
  if (sqlite3_get_autocommit(db_) == 0) {
    return make_error(ErrorKind::kFailedPrecondition,
                      "a WAL checkpoint cannot run inside a transaction");
  }
  int wal_frames = 0;
  int copied_frames = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &wal_frames,
                                           &copied_frames);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return false;
  if (rc != SQLITE_OK) return sqlite_error(db_, rc, "WAL checkpoint");
  // After TRUNCATE both counts are 0 on success; anything else means frames were left.
  return wal_frames == 0 || copied_frames == wal_frames;
}

Result<Transaction> Transaction::begin(Database& db) {
  const bool nested = sqlite3_get_autocommit(db.handle()) == 0;
  YW_TRY(db.exec(nested ? "SAVEPOINT yw_nested" : "BEGIN IMMEDIATE"));
  return Transaction(&db, nested);
}

Transaction::Transaction(Transaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), nested_(other.nested_) {}

Transaction::~Transaction() {
  if (db_ == nullptr) return;
  if (nested_) {
    (void)db_->exec("ROLLBACK TO yw_nested; RELEASE yw_nested");
  } else {
    (void)db_->exec("ROLLBACK");
  }
}

Status Transaction::commit() {
  Database* db = std::exchange(db_, nullptr);
  auto status = db->exec(nested_ ? "RELEASE yw_nested" : "COMMIT");
  if (!status.ok()) {
    (void)db->exec(nested_ ? "ROLLBACK TO yw_nested; RELEASE yw_nested" : "ROLLBACK");
  }
  return status;
}

}  // namespace yardwatch::recorder::sql
