#pragma once

// The web admin's route table. Deny by default: a route cannot be declared without saying who
// may call it, the table is the only way a request reaches a handler, and tests enumerate it.
// Who may do what is never decided here: an Access names firmware permissions and the firmware's
// role matrix (roles.h) says which roles hold them.

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/roles.h"

namespace httplib {
struct Request;
}

namespace yardwatch::web_admin {

// The API prefix that DESIGN §8 promises.
constexpr std::string_view kApiPrefix = "/api/v1/";

enum class Method { kGet, kPost, kPut, kDelete };
std::string_view method_name(Method method);
std::optional<Method> parse_method(std::string_view name);
// POST, PUT and DELETE change state: they need a CSRF token and a same-origin Origin.
bool changes_state(Method method);

class Access {
 public:
  enum class Kind {
    kPublic,      // no session (sign-in, first run, health, the sign-in page's assets)
    kSetup,       // signed in, also while the password must be changed or TOTP set up
    kSignedIn,    // signed in, sign-in set up
    kPermission,  // signed in and the role holds one of `permissions`
  };
  static Access public_route() { return Access(Kind::kPublic, {}); }
  static Access setup() { return Access(Kind::kSetup, {}); }
  static Access signed_in() { return Access(Kind::kSignedIn, {}); }
  static Access any_of(std::initializer_list<firmware::Permission> permissions) {
    return Access(Kind::kPermission, permissions);
  }

  [[nodiscard]] Kind kind() const { return kind_; }
  [[nodiscard]] const std::vector<firmware::Permission>& permissions() const {
    return permissions_;
  }
  // Whether a signed-in person with this role may call the route (before the firmware's own
  // object-level checks).
  [[nodiscard]] bool allows(firmware::Role role) const;
  // "public", "signed-in", or the permission names joined with " | ".
  [[nodiscard]] std::string describe() const;

 private:
  Access(Kind kind, std::vector<firmware::Permission> permissions)
      : kind_(kind), permissions_(std::move(permissions)) {}
  Kind kind_;
  std::vector<firmware::Permission> permissions_;
};

// What a handler sees.
struct Request {
  const httplib::Request& http;
  std::vector<std::string> params;  // the route pattern's capture groups
  std::string client_address;
  std::optional<firmware::Principal> principal;  // set for every route but public ones
  std::string session_token;                     // raw cookie value, when signed in
  std::string csrf_token;

  // A query parameter, if given exactly once.
  [[nodiscard]] std::optional<std::string> query(const std::string& name) const;
};

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using Handler = std::function<Reply(Request&)>;

struct Route {
  Method method = Method::kGet;
  std::string pattern;  // an ECMAScript regex matched against the whole path
  Access access = Access::signed_in();
  size_t max_body_bytes = 0;  // requests with a larger body get 413 before it is read
  Handler handler;
  std::string summary;  // one line, for API.md and the tests
};

class Router {
 public:
  void add(Route route);
  [[nodiscard]] const std::vector<Route>& routes() const { return routes_; }

  struct Match {
    const Route* route = nullptr;  // nullptr: no route
    std::vector<std::string> params;
    bool path_known = false;  // some route has this path with another method (405)
  };
  [[nodiscard]] Match match(Method method, const std::string& path) const;

 private:
  std::vector<Route> routes_;
  std::vector<std::regex> compiled_;
};

}  // namespace yardwatch::web_admin
