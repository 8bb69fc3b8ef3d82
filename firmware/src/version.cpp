#include "yardwatch/firmware/version.h"

namespace yardwatch::firmware {

std::string_view version() { return "0.1.0"; }

}  // namespace yardwatch::firmware
