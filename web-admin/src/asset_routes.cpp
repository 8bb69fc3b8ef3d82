// The UI's files. The sign-in page and what it needs (public/) are public; the rest of the
// application (app/) is served only to a signed-in person.

#include <httplib.h>

#include <map>

#include "assets.h"
#include "context.h"

namespace yardwatch::web_admin {

namespace {

std::string content_type(std::string_view path) {
  static const std::map<std::string_view, std::string> types{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"}};
  const size_t dot = path.rfind('.');
  if (dot != std::string_view::npos) {
    auto found = types.find(path.substr(dot));
    if (found != types.end()) return found->second;
  }
  return "application/octet-stream";
}

Reply asset_reply(const std::string& path) {
  for (const auto& asset : embedded_assets()) {
    if (asset.path != path) continue;
    Reply reply = bytes_reply(content_type(path), std::string(asset.bytes));
    reply.headers.emplace_back("Cache-Control", "no-cache");
    return reply;
  }
  return error_reply(404, "not_found", "no such file");
}

// Letters, digits, '-', '_' in each part, one extension: no "..", no "//", no encoded tricks.
constexpr const char* kAssetPath = R"(((?:[A-Za-z0-9_-]+/){0,3}[A-Za-z0-9_-]+\.[a-z]{2,4}))";

}  // namespace

void add_asset_routes(Router& router, WebContext&) {
  router.add({Method::kGet, "/", Access::public_route(), 0,
              [](Request&) { return asset_reply("public/index.html"); }, "the web admin's page"});
  router.add({Method::kGet, std::string("/ui/public/") + kAssetPath, Access::public_route(), 0,
              [](Request& request) { return asset_reply("public/" + request.params[0]); },
              "sign-in assets: the page's script, style and translations"});
  router.add({Method::kGet, std::string("/ui/app/") + kAssetPath, Access::signed_in(), 0,
              [](Request& request) { return asset_reply("app/" + request.params[0]); },
              "the application's modules, for signed-in people"});
}

}  // namespace yardwatch::web_admin
