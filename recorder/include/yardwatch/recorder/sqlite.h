#pragma once

// RAII over the SQLite C API: a connection, prepared statements and transactions. Every SQL
// statement in Yardwatch is prepared with bound parameters; nothing is built by concatenation.

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "yardwatch/hal/result.h"

namespace yardwatch::recorder::sql {

class Database;

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds are 1-based like SQLite's.
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, std::span<const uint8_t> blob);
  Statement& bind_null(int index);

  // true: a row is available; false: done.
  Result<bool> step();
  // Runs a statement that returns no rows.
  Status run();
  // Makes the statement ready to run again (bindings stay until rebound).
  void reset();

  [[nodiscard]] int64_t column_int(int index) const;
  [[nodiscard]] bool column_is_null(int index) const;
  [[nodiscard]] std::string column_text(int index) const;
  [[nodiscard]] std::vector<uint8_t> column_blob(int index) const;

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}
  sqlite3* db_;
  sqlite3_stmt* statement_;
};

class Database {
 public:
  // Opens (or creates) the database file with WAL, synchronous=FULL, foreign keys on,
  // secure_delete on and a busy timeout.
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& path, bool create);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Result<Statement> prepare(std::string_view sql);
  // For fixed schema and pragma text only (no parameters).
  Status exec(std::string_view sql);
  [[nodiscard]] int64_t last_insert_rowid() const;
  [[nodiscard]] int changes() const;
  Result<int64_t> user_version();
  // PRAGMA wal_checkpoint(TRUNCATE) through sqlite3_wal_checkpoint_v2 (waits for readers with
  // the busy timeout). true when the whole WAL was copied back and the file truncated to zero
  // bytes; false when a reader kept part of it.
  Result<bool> checkpoint_truncate();

  [[nodiscard]] sqlite3* handle() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// BEGIN IMMEDIATE … COMMIT; rolls back if not committed. Nested inside another transaction it
// becomes a SAVEPOINT, so a firmware service can wrap a catalog operation and its audit entry in
// one transaction while the catalog keeps its own.
class Transaction {
 public:
  static Result<Transaction> begin(Database& db);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  Status commit();

 private:
  Transaction(Database* db, bool nested) : db_(db), nested_(nested) {}
  Database* db_;
  bool nested_ = false;
};

// Translates a SQLite result code into an Error (SQLITE_FULL → kResourceExhausted, CORRUPT →
// kDataLoss, BUSY → kUnavailable …).
Error sqlite_error(sqlite3* db, int code, std::string_view what);

}  // namespace yardwatch::recorder::sql
