#include "yardwatch/web_admin/router.h"

#include <httplib.h>

namespace yardwatch::web_admin {

std::string_view method_name(Method method) {
  switch (method) {
    case Method::kGet:
      return "GET";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kDelete:
      return "DELETE";
  }
  return "GET";
}

std::optional<Method> parse_method(std::string_view name) {
  for (Method method : {Method::kGet, Method::kPost, Method::kPut, Method::kDelete}) {
    if (method_name(method) == name) return method;
  }
  return std::nullopt;
}

bool changes_state(Method method) { return method != Method::kGet; }

bool Access::allows(firmware::Role role) const {
  switch (kind_) {
    case Kind::kPublic:
    case Kind::kSetup:
    case Kind::kSignedIn:
      return true;
    case Kind::kPermission:
      for (auto permission : permissions_) {
        if (firmware::role_allows(role, permission)) return true;
      }
      return false;
  }
  return false;
}

std::string Access::describe() const {
  switch (kind_) {
    case Kind::kPublic:
      return "public";
    case Kind::kSetup:
      return "signed-in (also during sign-in setup)";
    case Kind::kSignedIn:
      return "signed-in";
    case Kind::kPermission: {
      std::string text;
      for (auto permission : permissions_) {
        if (!text.empty()) text += " | ";
        text += firmware::permission_name(permission);
      }
      return text;
    }
  }
  return "";
}

std::optional<std::string> Request::query(const std::string& name) const {
  if (http.get_param_value_count(name.c_str()) != 1) return std::nullopt;
  return http.get_param_value(name.c_str());
}

void Router::add(Route route) {
  compiled_.emplace_back(route.pattern, std::regex::ECMAScript | std::regex::optimize);
  routes_.push_back(std::move(route));
}

Router::Match Router::match(Method method, const std::string& path) const {
  Match result;
  for (size_t i = 0; i < routes_.size(); ++i) {
    std::smatch groups;
    if (!std::regex_match(path, groups, compiled_[i])) continue;
    if (routes_[i].method != method) {
      result.path_known = true;
      continue;
    }
    result.route = &routes_[i];
    for (size_t g = 1; g < groups.size(); ++g) result.params.push_back(groups[g].str());
    return result;
  }
  return result;
}

}  // namespace yardwatch::web_admin
