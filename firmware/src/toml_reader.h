#pragma once

// Strict reading of a TOML document against a fixed set of keys (private to firmware). Every
// value is read through a typed accessor that records the key as known and checks its type and
// range; afterwards every key that was never asked for is an error. Every error carries
// `source:line:column` so an administrator can go straight to it.

#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace yardwatch::firmware::toml_reader {

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  // false (with the parser's error recorded) when the text is not TOML at all.
  bool parse(std::string_view text);

  // Typed accessors; `path` is "table.key". Absent keys give nullopt without an error.
  std::optional<std::string> string(
      const std::string& path, const std::function<std::string(const std::string&)>& check = {});
  std::optional<bool> boolean(const std::string& path);
  std::optional<int64_t> integer(const std::string& path, int64_t min, int64_t max);
  std::optional<std::vector<std::string>> strings(
      const std::string& path, const std::function<std::string(const std::string&)>& check = {});
  // Declares a table as known (its keys are still checked one by one).
  void table(const std::string& path);

  // An error about a present key (at its line) or, for an absent one, about the document.
  void error_at(const std::string& path, const std::string& message);
  // After all reads: every key or table nobody asked for.
  void reject_unknown();

  [[nodiscard]] bool ok() const { return errors_.empty(); }
  [[nodiscard]] const std::vector<std::string>& errors() const { return errors_; }
  [[nodiscard]] std::string joined_errors() const;

 private:
  void add_error(const toml::source_region& where, const std::string& message);
  void walk(const toml::table& table, const std::string& prefix);

  std::string source_;
  toml::table root_;
  std::set<std::string> known_;
  std::vector<std::string> errors_;
};

}  // namespace yardwatch::firmware::toml_reader
