#pragma once

// The web admin arrives with issue 6; until then this library only fixes the API prefix that
// DESIGN §8 promises.

#include <string_view>

namespace yardwatch::web_admin {

std::string_view api_prefix();

}  // namespace yardwatch::web_admin
