// The configuration file parser (firmware/config.h parse_config, toml++ underneath) on arbitrary
// text. A configuration it accepts must render back to text that it accepts again as the same
// configuration (render_config promises that), so a parse that "succeeds" with nonsense is
// caught too.

#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_target.h"
#include "yardwatch/firmware/config.h"

namespace yardwatch::fuzz {

std::vector<Input> generated_seeds() {
  firmware::Config config;
  config.camera_network = {"10.20.0.0/16", "fd00::/8"};
  config.ntp_servers = {"10.0.0.1"};
  config.monitoring = {"10.0.0.9"};
  config.metrics_listen = "0.0.0.0:9100";
  const std::string text = firmware::render_config(config);
  const std::string defaults = firmware::render_config(firmware::Config{});
  return {Input(text.begin(), text.end()), Input(defaults.begin(), defaults.end())};
}

}  // namespace yardwatch::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace yardwatch;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = firmware::parse_config(text, "fuzz.toml");
  if (!parsed.ok()) return 0;
  const std::string rendered = firmware::render_config(parsed.value());
  auto again = firmware::parse_config(rendered, "rendered.toml");
  if (!again.ok() || firmware::render_config(again.value()) != rendered) std::abort();
  return 0;
}
