#pragma once

// An appliance with the web admin in this process, on a free loopback port, with one signed-in
// session per role; requests go over real TLS through cpp-httplib's client.

#include <httplib.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "test_support.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/hal/removable_media.h"
#include "yardwatch/web_admin/server.h"

namespace yardwatch::testing {

struct WebSession {
  std::string cookie;  // "__Host-yw_session=…"
  std::string csrf;
};

class WebFixture {
 public:
  explicit WebFixture(bool with_redirect = false, bool with_metrics = false);
  ~WebFixture();

  std::unique_ptr<httplib::SSLClient> client() const;
  [[nodiscard]] std::string origin() const;
  // Headers of a signed-in request of `role` (cookie, CSRF token, same-origin Origin).
  httplib::Headers headers(const std::string& role) const;
  httplib::Result request(const std::string& method, const std::string& path,
                          const httplib::Headers& headers, const std::string& body = "",
                          const std::string& content_type = "application/json") const;
  // Signs in over HTTP; returns the session.
  WebSession sign_in(const std::string& name, const std::string& password) const;

  TempDir dir{"yw-web"};
  std::unique_ptr<firmware::Appliance> appliance;
  std::unique_ptr<firmware::Services> services;
  // A directory standing for an export stick (dir/"stick"), offered to the export routes.
  std::unique_ptr<hal::DirectoryMedia> media;
  std::unique_ptr<web_admin::WebServer> server;
  std::map<std::string, WebSession> sessions;  // by role name
  std::map<std::string, std::string> account_of_role;
  int64_t camera1 = 0;
  int64_t camera2 = 0;
  int64_t segment1 = 0;  // of camera 1
  int64_t segment2 = 0;  // of camera 2
};

// The `error.code` and `error.message` of a JSON error reply ("" when the body is not one).
std::string error_code(const std::string& body);
std::string error_message(const std::string& body);
// The audit entries of `action`, allowed and refused, oldest first.
std::vector<firmware::AuditEntry> entries_of(const WebFixture& web, const std::string& action);

}  // namespace yardwatch::testing
