#include "yardwatch/web_admin/api.h"

namespace yardwatch::web_admin {

std::string_view api_prefix() { return "/api/v1/"; }

}  // namespace yardwatch::web_admin
