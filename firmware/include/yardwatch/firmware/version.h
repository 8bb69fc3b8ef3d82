#pragma once

#include <string_view>

namespace yardwatch::firmware {

std::string_view version();

}  // namespace yardwatch::firmware
