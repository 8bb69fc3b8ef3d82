#pragma once

// The appliance's nftables ruleset: board/common/nftables.nft (compiled in) with the HTTPS port
// and the school's networks from the configuration. `yardwatch firewall render` writes it; the
// yardwatch-firewall.service loads it with `nft -f` (board/README.md).

#include <string>

#include "yardwatch/firmware/config.h"

namespace yardwatch::firmware {

// The complete ruleset for `nft -f`: a `define https_port`, the template, and `add element`
// lines for the school LAN, camera and NTP networks (split into IPv4 and IPv6; NTP to any
// address when no server is configured). `source` names the configuration in the header.
std::string render_firewall(const Config& config, const std::string& source);

}  // namespace yardwatch::firmware
