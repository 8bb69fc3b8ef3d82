#pragma once

// verify.html, built from this folder at build time (build.mjs), embedded in the binary so the
// appliance can put it into every police bundle without node or a network.

#include <cstdint>
#include <span>

namespace yardwatch::verify_page {

std::span<const uint8_t> html();

}  // namespace yardwatch::verify_page
