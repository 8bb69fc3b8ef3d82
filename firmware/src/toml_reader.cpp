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
}  // namespace

bool Reader::parse(std::string_view text) {
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
