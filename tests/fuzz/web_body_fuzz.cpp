// The web admin's JSON request bodies (web-admin/src/context.cpp parse_body and the field
// readers every route uses) on arbitrary bytes. What reaches parse_body in production is at most
// the largest route limit (ServerOptions::max_body_bytes; larger bodies get 413 before they are
// read), so larger inputs are cut to it. A body parse_body accepts must be a JSON object nested
// no deeper than its limit: the target checks that, so a limit that stops holding is a crash.

#include <httplib.h>

#include <cstdlib>
#include <string>

#include "context.h"
#include "fuzz_target.h"
#include "yardwatch/web_admin/server.h"

namespace yardwatch::fuzz {

std::vector<Input> generated_seeds() { return {}; }  // the committed corpus has the route bodies

}  // namespace yardwatch::fuzz

namespace {

using yardwatch::web_admin::json;

int nesting(const json& value) {
  if (!value.is_structured()) return 0;
  int deepest = 0;
  for (const auto& item : value) deepest = std::max(deepest, nesting(item));
  return deepest + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace yardwatch::web_admin;
  const size_t limit = ServerOptions{}.max_body_bytes;
  httplib::Request http;
  http.method = "POST";
  http.path = "/api/v1/holds";
  http.set_header("Content-Type", "application/json; charset=utf-8");
  http.body.assign(reinterpret_cast<const char*>(data), std::min(size, limit));
  Request request{http, {}, "10.0.0.7", std::nullopt, "", ""};

  auto body = parse_body(request);
  if (!body.ok()) return 0;
  const json& object = body.value();
  // kMaxJsonDepth counts the containers around a value, so a container may sit one level deeper.
  if (!object.is_object() || nesting(object) > kMaxJsonDepth + 1) std::abort();
  // The readers the routes use, on the names they read.
  for (const char* name : {"username", "password", "reason", "note", "purpose", "camera",
                           "case_reference", "role", "code"}) {
    auto text = string_field(object, name, kSmallBody, false);
    if (text.ok() &&
        (text.value().size() > kSmallBody || text.value().find('\0') != std::string::npos)) {
      std::abort();
    }
  }
  for (const char* name : {"from", "to", "until", "at"}) (void)time_field(object, name);
  for (const char* name : {"retention_days", "id", "camera_id"}) (void)int_field(object, name);
  (void)json_reply(200, object);  // replies echo input back (invalid UTF-8 is replaced)
  return 0;
}
