#include "yardwatch/firmware/board.h"

#include <algorithm>

#include "board_files.h"
#include "toml_reader.h"

namespace yardwatch::firmware {

namespace {

std::string absolute_or_empty(const std::string& path) {
  if (path.empty() || path.front() == '/') return {};
  return "must be an absolute path or empty";
}

std::string led_name_check(const std::string& name) {
  if (name.find('/') != std::string::npos || name == "." || name == "..") {
    return "an LED is named by its /sys/class/leds entry, not a path";
  }
  return {};
}

}  // namespace

std::vector<std::string> board_names() {
  std::vector<std::string> names;
  for (const auto& file : embedded_board_files()) names.emplace_back(file.name);
  std::sort(names.begin(), names.end());
  return names;
}

Result<BoardDescription> board_description(std::string_view name) {
  for (const auto& file : embedded_board_files()) {
    if (file.name == name) {
      return parse_board_description(file.text, "board/" + std::string(name) + "/board.toml");
    }
  }
  std::string known;
  for (const auto& each : board_names()) known += (known.empty() ? "" : ", ") + each;
  return make_error(ErrorKind::kNotFound,
                    "unknown board '" + std::string(name) + "' (known boards: " + known + ")");
}

Result<BoardDescription> parse_board_description(std::string_view toml_text,
                                                 std::string_view source) {
  toml_reader::Reader reader{std::string(source)};
  if (!reader.parse(toml_text)) {
    return make_error(ErrorKind::kInvalidArgument, reader.joined_errors());
  }
  BoardDescription board;
  board.name = reader.string("name").value_or("");
  board.summary = reader.string("summary").value_or("");
  reader.table("clock");
  board.simulated_clock = reader.boolean("clock.simulated").value_or(false);
  reader.table("storage");
  board.data_dir = reader.string("storage.data_dir", absolute_or_empty).value_or("");
  board.mount_point = reader.string("storage.mount_point", absolute_or_empty).value_or("");
  board.require_volume_uuid = reader.boolean("storage.require_uuid").value_or(false);
  board.smart_device =
      reader
          .string("storage.smart_device",
                  [](const std::string& value) -> std::string {
                    if (value.empty() || value == "auto" || value.rfind("/dev/", 0) == 0) {
                      return {};
                    }
                    return "must be \"\", \"auto\" or a /dev/ path";
                  })
          .value_or("");
  board.smart_report = reader.string("storage.smart_report", absolute_or_empty).value_or("");
  reader.table("keys");
  const std::string store = reader
                                .string("keys.store",
                                        [](const std::string& value) -> std::string {
                                          if (value == "file" || value == "tpm" || value == "auto")
                                            return {};
                                          return "must be \"file\", \"tpm\" or \"auto\"";
                                        })
                                .value_or("file");
  board.key_store = store == "tpm"    ? hal::KeyStoreKind::kTpm
                    : store == "auto" ? hal::KeyStoreKind::kAuto
                                      : hal::KeyStoreKind::kFile;
  board.key_dir = reader.string("keys.dir", absolute_or_empty).value_or("");
  board.tpm_tcti = reader.string("keys.tpm_tcti").value_or("");
  reader.table("leds");
  board.leds_root = reader.string("leds.root", absolute_or_empty).value_or("");
  for (auto led : {hal::Led::kRecording, hal::Led::kAlarm, hal::Led::kExport}) {
    auto name = reader.string("leds." + std::string(hal::led_name(led)), led_name_check);
    if (name && !name->empty()) board.leds[led] = *name;
  }
  reader.table("media");
  board.media_mount_root = reader.string("media.mount_root", absolute_or_empty).value_or("");
  board.media_loop_devices = reader.boolean("media.loop_devices").value_or(false);
  reader.table("supervision");
  board.systemd_watchdog = reader.boolean("supervision.systemd_watchdog").value_or(false);
  reader.table("provisioning");
  board.label_file = reader.string("provisioning.label", absolute_or_empty).value_or("");
  if (board.name.empty()) reader.error_at("name", "a board description needs a name");
  if (board.require_volume_uuid && board.mount_point.empty()) {
    reader.error_at("storage.require_uuid", "a volume UUID needs storage.mount_point");
  }
  if (board.key_store != hal::KeyStoreKind::kFile && board.tpm_tcti.empty()) {
    reader.error_at("keys.tpm_tcti", "a TPM key store needs keys.tpm_tcti");
  }
  reader.reject_unknown();
  if (!reader.ok()) return make_error(ErrorKind::kInvalidArgument, reader.joined_errors());
  return board;
}

}  // namespace yardwatch::firmware
