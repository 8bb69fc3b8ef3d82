#include "toml_reader.h"

namespace yardwatch::firmware::toml_reader {

namespace {
std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::boolean:
      return "true/false";
    case toml::node_type::array:
      return "a list";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}
// Where toml++ 3.3.0 (Debian 12) would hit undefined behaviour: its whitespace test reaches
// __builtin_unreachable for many non-ASCII code points (e.g. U+048A in a key, U+00A7 after a
// line-ending backslash; marzer/tomlplusplus issues 190 and 295, fixed upstream after 3.3.0).
// Such text is refused before toml++ sees it. TOML allows non-ASCII only inside strings and
// comments, so refusing it elsewhere refuses nothing valid; inside a multi-line basic string the
// first character after a line-ending backslash must be ASCII. Found by tests/fuzz/config.
struct UnsafeText {
  int64_t line = 1;
  int64_t column = 1;
  const char* problem = "";
};

std::optional<UnsafeText> find_unsafe_text(std::string_view text) {
  enum class State { kNormal, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  State state = State::kNormal;
  UnsafeText at;
  size_t line_start = 0;
  char last = '\n';  // the last character outside comments that was not blank (newlines are)
  auto starts = [&text](size_t i, std::string_view token) {
    return text.substr(i, token.size()) == token;
  };
  auto fail = [&](size_t i, const char* problem) {
    at.column = static_cast<int64_t>(i - line_start) + 1;
    at.problem = problem;
    return at;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool ascii = static_cast<unsigned char>(c) < 0x80;
    if (c == '\n') {
      ++at.line;
      line_start = i + 1;
      if (state != State::kMultiBasic && state != State::kMultiLiteral) state = State::kNormal;
      continue;
    }
    switch (state) {
      case State::kNormal:
        if (!ascii) return fail(i, "a non-ASCII character outside a string or comment");
        // toml++ 3.3.0 asserts (and, built with clang, assumes) that no value starts with a
        // closing bracket: `[}`, `[1, }`, `a = }`, `a = ]` are invalid TOML; refuse them here.
        if ((c == '}' || (c == ']' && last == '=')) &&
            (last == '[' || last == ',' || last == '=')) {
          return fail(i, "a closing bracket where a value belongs");
        }
        if (c != ' ' && c != '\t' && c != '\r' && c != '#') last = c;  // a string's quote too
        if (c == '#') {
          state = State::kComment;
        } else if (starts(i, "\"\"\"")) {
          state = State::kMultiBasic;
          i += 2;
        } else if (c == '"') {
          state = State::kBasic;
        } else if (starts(i, "'''")) {
          state = State::kMultiLiteral;
          i += 2;
        } else if (c == '\'') {
          state = State::kLiteral;
        }
        break;
      case State::kComment:
        break;
      case State::kBasic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          ++i;
        } else if (c == '"') {
          state = State::kNormal;
        }
        break;
      case State::kLiteral:
        if (c == '\'') state = State::kNormal;
        break;
      case State::kMultiBasic:
        if (c == '\\') {
          size_t next = i + 1;
          while (next < text.size() && (text[next] == ' ' || text[next] == '\t' ||
                                        text[next] == '\r' || text[next] == '\n')) {
            if (text[next] == '\n') {
              ++at.line;
              line_start = next + 1;
            }
            ++next;
          }
          if (next < text.size() && static_cast<unsigned char>(text[next]) >= 0x80) {
            return fail(next, "a non-ASCII character right after a line-ending backslash");
          }
          i = next == i + 1 ? i + 1 : next - 1;  // an escape, or the trimmed whitespace
        } else if (starts(i, "\"\"\"")) {
          i += 2;
          while (i + 1 < text.size() && text[i + 1] == '"') ++i;  // up to two quotes before it
          state = State::kNormal;
        }
        break;
      case State::kMultiLiteral:
        if (starts(i, "'''")) {
          i += 2;
          while (i + 1 < text.size() && text[i + 1] == '\'') ++i;
          state = State::kNormal;
        }
        break;
    }
  }
  return std::nullopt;
}

}  // namespace

bool Reader::parse(std::string_view text) {
  if (auto unsafe = find_unsafe_text(text)) {
    errors_.push_back(source_ + ":" + std::to_string(unsafe->line) + ":" +
                      std::to_string(unsafe->column) + ": " + unsafe->problem);
    return false;
  }
  toml::parse_result result = toml::parse(text, source_);
  if (!result) {
    add_error(result.error().source(), std::string(result.error().description()));
    return false;
  }
  root_ = std::move(result).table();
  return true;
}

void Reader::add_error(const toml::source_region& where, const std::string& message) {
  errors_.push_back(source_ + ":" + std::to_string(where.begin.line) + ":" +
                    std::to_string(where.begin.column) + ": " + message);
}

void Reader::error_at(const std::string& path, const std::string& message) {
  const toml::node* node = root_.at_path(path).node();
  if (node != nullptr) {
    add_error(node->source(), message);
  } else {
    errors_.push_back(source_ + ": " + message);
  }
}

void Reader::table(const std::string& path) {
  known_.insert(path);
  const toml::node* node = root_.at_path(path).node();
  if (node != nullptr && !node->is_table()) {
    add_error(node->source(),
              "'" + path + "' must be a table ([" + path + "]), not " + type_name(*node));
  }
}

std::optional<std::string> Reader::string(
    const std::string& path, const std::function<std::string(const std::string&)>& check) {
  known_.insert(path);
  const toml::node* node = root_.at_path(path).node();
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_string();
  if (value == nullptr) {
    add_error(node->source(), "'" + path + "' must be a string in quotes, not " + type_name(*node));
    return std::nullopt;
  }
  std::string text = value->get();
  if (check) {
    if (std::string problem = check(text); !problem.empty()) {
      add_error(node->source(), "'" + path + "': " + problem);
      return std::nullopt;
    }
  }
  return text;
}

std::optional<bool> Reader::boolean(const std::string& path) {
  known_.insert(path);
  const toml::node* node = root_.at_path(path).node();
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_boolean();
  if (value == nullptr) {
    add_error(node->source(), "'" + path + "' must be true or false, not " + type_name(*node));
    return std::nullopt;
  }
  return value->get();
}

std::optional<int64_t> Reader::integer(const std::string& path, int64_t min, int64_t max) {
  known_.insert(path);
  const toml::node* node = root_.at_path(path).node();
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_integer();
  if (value == nullptr) {
    add_error(node->source(), "'" + path + "' must be a whole number, not " + type_name(*node));
    return std::nullopt;
  }
  const int64_t number = value->get();
  if (number < min || number > max) {
    add_error(node->source(), "'" + path + "' must be between " + std::to_string(min) + " and " +
                                  std::to_string(max) + ", not " + std::to_string(number));
    return std::nullopt;
  }
  return number;
}

std::optional<std::vector<std::string>> Reader::strings(
    const std::string& path, const std::function<std::string(const std::string&)>& check) {
  known_.insert(path);
  const toml::node* node = root_.at_path(path).node();
  if (node == nullptr) return std::nullopt;
  const auto* array = node->as_array();
  if (array == nullptr) {
    add_error(node->source(), "'" + path + "' must be a list of strings like [\"a\", \"b\"], not " +
                                  type_name(*node));
    return std::nullopt;
  }
  std::vector<std::string> values;
  bool good = true;
  for (const toml::node& element : *array) {
    const auto* value = element.as_string();
    if (value == nullptr) {
      add_error(element.source(),
                "'" + path + "' may only hold strings, not " + type_name(element));
      good = false;
      continue;
    }
    if (check) {
      if (std::string problem = check(value->get()); !problem.empty()) {
        add_error(element.source(), "'" + path + "': " + problem);
        good = false;
        continue;
      }
    }
    values.push_back(value->get());
  }
  if (!good) return std::nullopt;
  return values;
}

void Reader::walk(const toml::table& table, const std::string& prefix) {
  for (const auto& [key, node] : table) {
    const std::string path =
        prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    // A quoted key with a dot ("storage.data_dir" = …) would pose as a nested one.
    if (key.str().find('.') != std::string_view::npos || known_.count(path) == 0) {
      add_error(node.source(),
                std::string(node.is_table() ? "unknown table '" : "unknown key '") + path + "'");
      continue;
    }
    if (const auto* child = node.as_table(); child != nullptr) walk(*child, path);
  }
}

void Reader::reject_unknown() { walk(root_, ""); }

std::string Reader::joined_errors() const {
  std::string text;
  for (const auto& error : errors_) {
    if (!text.empty()) text += "\n";
    text += error;
  }
  return text;
}

}  // namespace yardwatch::firmware::toml_reader
