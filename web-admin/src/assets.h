#pragma once

// The browser UI (web-admin/ui), embedded in the binary at build time: served from memory by
// exact name, so no file path is ever built from a request.

#include <string_view>
#include <vector>

namespace yardwatch::web_admin {

struct EmbeddedAsset {
  std::string_view path;  // relative to web-admin/ui, e.g. "public/index.html"
  std::string_view bytes;
};

const std::vector<EmbeddedAsset>& embedded_assets();

}  // namespace yardwatch::web_admin
