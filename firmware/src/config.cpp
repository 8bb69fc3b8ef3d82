#include "yardwatch/firmware/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "toml_reader.h"
#include "yardwatch/firmware/settings.h"
#include "yardwatch/hal/unique_fd.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

namespace fs = std::filesystem;

namespace {

std::string check_path(const std::string& path) {
  if (path.empty()) return {};
  if (path.front() != '/') return "must be an absolute path like /srv/yardwatch/data";
  for (const auto& part : fs::path(path)) {
    if (part == "..") return "must not contain '..'";
  }
  if (std::any_of(path.begin(), path.end(), [](unsigned char c) { return std::iscntrl(c); })) {
    return "must not contain control characters";
  }
  return {};
}

std::string check_uuid(const std::string& uuid) {
  // ext4/xfs/btrfs: 8-4-4-4-12 hex digits; vfat: XXXX-XXXX. Lowercase, as blkid prints it.
  auto hex_groups = [&uuid](std::initializer_list<size_t> groups) {
    size_t position = 0;
    size_t index = 0;
    for (size_t group : groups) {
      if (index++ > 0) {
        if (position >= uuid.size() || uuid[position] != '-') return false;
        ++position;
      }
      for (size_t i = 0; i < group; ++i, ++position) {
        if (position >= uuid.size()) return false;
        const char c = uuid[position];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
          return false;
        }
      }
    }
    return position == uuid.size();
  };
  if (uuid.empty() || hex_groups({8, 4, 4, 4, 12}) || hex_groups({4, 4})) return {};
  return "'" + uuid + "' is not a filesystem UUID (as `blkid` prints it, e.g. " +
         "0d8a5a52-6b0e-4c1e-9a43-1f2e3d4c5b6a)";
}

bool parse_address(const std::string& text, bool& is_v6, unsigned char* bytes) {
  if (inet_pton(AF_INET, text.c_str(), bytes) == 1) {
    is_v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), bytes) == 1) {
    is_v6 = true;
    return true;
  }
  return false;
}

std::string check_listen(const std::string& listen) {
  const std::string example = " (e.g. 0.0.0.0:8443 or [::]:8443)";
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 >= listen.size()) {
    return "'" + listen + "' is not address:port" + example;
  }
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return "an IPv6 address is written in brackets: [" + host + "]:" + port;
  }
  unsigned char bytes[16];
  bool is_v6 = false;
  if (!parse_address(host, is_v6, bytes)) {
    return "'" + host + "' is not an IP address" + example;
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return "'" + port + "' is not a port number" + example;
  }
  const int number = std::stoi(port);
  if (number < 1 || number > 65535) return "port " + port + " is out of range 1–65535";
  return {};
}

std::string check_network(const std::string& network) {
  const size_t slash = network.find('/');
  const std::string address = network.substr(0, slash);
  unsigned char bytes[16] = {};
  bool is_v6 = false;
  if (!parse_address(address, is_v6, bytes)) {
    return "'" + network + "' is not an IP address or network like 192.168.50.0/24";
  }
  if (slash == std::string::npos) return {};
  const std::string prefix_text = network.substr(slash + 1);
  if (prefix_text.empty() || prefix_text.size() > 3 ||
      !std::all_of(prefix_text.begin(), prefix_text.end(),
                   [](unsigned char c) { return std::isdigit(c); })) {
    return "'" + network + "' has no valid prefix length";
  }
  const int prefix = std::stoi(prefix_text);
  const int bits = is_v6 ? 128 : 32;
  if (prefix < 0 || prefix > bits) {
    return "'" + network + "': the prefix must be 0–" + std::to_string(bits);
  }
  for (int bit = prefix; bit < bits; ++bit) {
    if ((bytes[bit / 8] & (0x80 >> (bit % 8))) != 0) {
      return "'" + network + "' has host bits set; the network is written with zeros there";
    }
  }
  return {};
}

std::string check_address(const std::string& address) {
  unsigned char bytes[16];
  bool is_v6 = false;
  if (parse_address(address, is_v6, bytes)) return {};
  return "'" + address + "' is not an IP address (the firewall needs addresses, not names)";
}

std::string quote(const std::string& text) {
  // TOML basic string: the values here are validated (paths, addresses), but escape anyway.
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string list(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i > 0 ? ", " : "") + quote(values[i]);
  return out + "]";
}

std::string join(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& value : values) out += (out.empty() ? "" : ",") + value;
  return out;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

Status write_all(int fd, const std::string& bytes, const fs::path& path) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(errno, "write " + path.string());
    written += static_cast<size_t>(n);
  }
  return {};
}

// The value of a changeable key as the string change_config takes.
std::string value_of(const Config& config, const std::string& key) {
  if (key == "web.listen") return config.listen;
  if (key == "web.metrics_listen") return config.metrics_listen;
  if (key == "network.monitoring") return join(config.monitoring);
  if (key == "storage.min_free_mb") return std::to_string(config.min_free_mb);
  if (key == "recording.segment_seconds") return std::to_string(config.segment_seconds);
  if (key == "network.school_lan") return join(config.school_lan);
  if (key == "network.camera_network") return join(config.camera_network);
  if (key == "network.ntp_servers") return join(config.ntp_servers);
  if (key == "retention.default_days") return std::to_string(config.default_retention_days);
  if (key == "retention.space_reserve_mb") return std::to_string(config.space_reserve_mb);
  if (key == "retention.space_reserve_seconds") return std::to_string(config.space_reserve_seconds);
  if (key == "policy.require_totp") return config.require_totp ? "true" : "false";
  if (key == "policy.four_eyes") return config.four_eyes ? "true" : "false";
  return {};
}

Status set_value(Config& config, const std::string& key, const std::string& value) {
  auto number = [&value, &key](int64_t min, int64_t max) -> Result<int64_t> {
    if (value.empty() || value.size() > 12 ||
        !std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
      return make_error(ErrorKind::kInvalidArgument, key + " must be a whole number");
    }
    const int64_t parsed = std::stoll(value);
    if (parsed < min || parsed > max) {
      return make_error(
          ErrorKind::kInvalidArgument,
          key + " must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return parsed;
  };
  auto boolean = [&value, &key]() -> Result<bool> {
    if (value == "true" || value == "1") return true;
    if (value == "false" || value == "0") return false;
    return make_error(ErrorKind::kInvalidArgument, key + " must be true or false");
  };
  if (key == "web.listen") {
    config.listen = value;
  } else if (key == "web.metrics_listen") {
    config.metrics_listen = value;
  } else if (key == "network.monitoring") {
    config.monitoring = split(value);
  } else if (key == "storage.min_free_mb") {
    YW_ASSIGN_OR_RETURN(auto parsed, number(1, 1 << 20));
    config.min_free_mb = static_cast<uint64_t>(parsed);
  } else if (key == "recording.segment_seconds") {
    YW_ASSIGN_OR_RETURN(auto parsed, number(2, 3600));
    config.segment_seconds = static_cast<int>(parsed);
  } else if (key == "network.school_lan") {
    config.school_lan = split(value);
  } else if (key == "network.camera_network") {
    config.camera_network = split(value);
  } else if (key == "network.ntp_servers") {
    config.ntp_servers = split(value);
  } else if (key == "retention.default_days") {
    YW_ASSIGN_OR_RETURN(auto parsed, number(1, 28));
    config.default_retention_days = static_cast<int>(parsed);
  } else if (key == "retention.space_reserve_mb") {
    YW_ASSIGN_OR_RETURN(auto parsed, number(0, int64_t{1} << 30));
    config.space_reserve_mb = static_cast<uint64_t>(parsed);
  } else if (key == "retention.space_reserve_seconds") {
    YW_ASSIGN_OR_RETURN(config.space_reserve_seconds, number(0, 86400));
  } else if (key == "policy.require_totp") {
    YW_ASSIGN_OR_RETURN(config.require_totp, boolean());
  } else if (key == "policy.four_eyes") {
    YW_ASSIGN_OR_RETURN(config.four_eyes, boolean());
  } else {
    std::string known;
    for (const auto& each : changeable_config_keys()) known += (known.empty() ? "" : ", ") + each;
    return make_error(ErrorKind::kInvalidArgument,
                      "'" + key + "' cannot be changed here (changeable: " + known +
                          "); installation settings are edited in the file by root");
  }
  return {};
}

std::string setting_key_of(const std::string& config_key) {
  if (config_key == "policy.require_totp") return "policy.require_totp";
  if (config_key == "policy.four_eyes") return "policy.four_eyes";
  return {};
}

}  // namespace

Result<Config> parse_config(std::string_view text, std::string_view source) {
  toml_reader::Reader reader{std::string(source)};
  if (!reader.parse(text)) return make_error(ErrorKind::kInvalidArgument, reader.joined_errors());
  Config config;
  std::optional<BoardDescription> board;
  if (auto name = reader.string("board", [&board](const std::string& value) -> std::string {
        auto found = board_description(value);
        if (!found.ok()) return found.error().message;
        board = std::move(found).value();
        return {};
      })) {
    config.board = *name;
  }
  reader.table("web");
  if (auto listen = reader.string("web.listen", check_listen)) config.listen = *listen;
  if (auto metrics = reader.string("web.metrics_listen", [](const std::string& value) {
        return value.empty() ? std::string() : check_listen(value);
      })) {
    config.metrics_listen = *metrics;
  }
  reader.table("storage");
  if (auto value = reader.string("storage.data_dir", check_path)) config.data_dir = *value;
  if (auto value = reader.string("storage.mount_point", check_path)) config.mount_point = *value;
  if (auto value = reader.string("storage.volume_uuid", check_uuid)) config.volume_uuid = *value;
  if (auto value = reader.string("storage.key_dir", check_path)) config.key_dir = *value;
  if (auto value = reader.integer("storage.min_free_mb", 1, 1 << 20)) {
    config.min_free_mb = static_cast<uint64_t>(*value);
  }
  reader.table("recording");
  if (auto value = reader.integer("recording.segment_seconds", 2, 3600)) {
    config.segment_seconds = static_cast<int>(*value);
  }
  reader.table("network");
  if (auto value = reader.strings("network.school_lan", check_network)) config.school_lan = *value;
  if (auto value = reader.strings("network.camera_network", check_network)) {
    config.camera_network = *value;
  }
  if (auto value = reader.strings("network.ntp_servers", check_address)) {
    config.ntp_servers = *value;
  }
  if (auto value = reader.strings("network.monitoring", check_network)) {
    config.monitoring = *value;
  }
  reader.table("retention");
  if (auto value = reader.integer("retention.default_days", 1, 28)) {
    config.default_retention_days = static_cast<int>(*value);
  }
  if (auto value = reader.integer("retention.space_reserve_mb", 0, int64_t{1} << 30)) {
    config.space_reserve_mb = static_cast<uint64_t>(*value);
  }
  if (auto value = reader.integer("retention.space_reserve_seconds", 0, 86400)) {
    config.space_reserve_seconds = *value;
  }
  reader.table("policy");
  if (auto value = reader.boolean("policy.require_totp")) config.require_totp = *value;
  if (auto value = reader.boolean("policy.four_eyes")) config.four_eyes = *value;
  reader.reject_unknown();

  // Rules across keys, once every key is known to be well-formed.
  if (reader.ok()) {
    if (!board) board = board_description(config.board).value();
    const fs::path data_dir = config.data_dir.empty() ? board->data_dir : config.data_dir;
    const fs::path mount_point =
        config.mount_point.empty() ? board->mount_point : config.mount_point;
    const fs::path key_dir = config.key_dir.empty() ? board->key_dir : config.key_dir;
    if (board->require_volume_uuid && config.volume_uuid.empty()) {
      reader.error_at("storage.volume_uuid",
                      "storage.volume_uuid is required on board " + board->name +
                          ": the filesystem UUID of the data disk (`blkid`), so that a swapped "
                          "or missing disk is refused");
    }
    if (!mount_point.empty() && !data_dir.empty()) {
      const auto relative = data_dir.lexically_relative(mount_point);
      if (relative.empty() || *relative.begin() == ".." || relative == ".") {
        reader.error_at(config.data_dir.empty() ? "storage.mount_point" : "storage.data_dir",
                        "the data directory " + data_dir.string() + " must lie inside the mount " +
                            "point " + mount_point.string() + " (not be the mount point itself)");
      }
    }
    if (!key_dir.empty() && !data_dir.empty()) {
      const auto relative = key_dir.lexically_relative(data_dir);
      if (!relative.empty() && *relative.begin() != "..") {
        reader.error_at("storage.key_dir",
                        "the key directory must be outside the data directory: a copy of the "
                        "data volume must never carry its own keys");
      }
    }
  }
  if (!reader.ok()) return make_error(ErrorKind::kInvalidArgument, reader.joined_errors());
  return config;
}

Result<Config> load_config(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return errno_error(errno != 0 ? errno : ENOENT, "read the configuration " + path.string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1 << 20)) {
    return make_error(ErrorKind::kInvalidArgument, path.string() + " is larger than 1 MiB");
  }
  return parse_config(text.str(), path.string());
}

std::string render_config(const Config& config) {
  std::ostringstream out;
  out << "# Yardwatch appliance configuration (firmware/design/appliance.md).\n"
         "# Read at start by yardwatchd and yardwatch; an unknown key or a bad value stops them\n"
         "# with its line number. Changes made in the web admin are written back here (this\n"
         "# file is then rewritten in this form, comments included) and audited.\n\n";
  out << "# The board: host-sim, x86-generic or rpi-cm4 (board/<name>/board.toml).\n";
  out << "board = " << quote(config.board) << "\n\n";
  out << "[web]\n# Address and port of the HTTPS admin; the firewall admits the school LAN only.\n";
  out << "listen = " << quote(config.listen) << "\n";
  out << "# Plain-HTTP /metrics for the school board's Prometheus, e.g. \"0.0.0.0:9464\" (\"\": "
         "off);\n"
         "# the firewall admits network.monitoring only. No personal data is in it.\n";
  out << "metrics_listen = " << quote(config.metrics_listen) << "\n\n";
  out << "[storage]\n"
         "# Installation settings (root edits them here). Empty: the board's default.\n";
  out << "data_dir = " << quote(config.data_dir.string()) << "\n";
  out << "mount_point = " << quote(config.mount_point.string()) << "\n";
  out << "# The data disk's filesystem UUID (blkid); a disk with another UUID is refused.\n";
  out << "volume_uuid = " << quote(config.volume_uuid) << "\n";
  out << "key_dir = " << quote(config.key_dir.string()) << "\n";
  out << "# Below this much free space (MiB) no new segment is started.\n";
  out << "min_free_mb = " << config.min_free_mb << "\n\n";
  out << "[recording]\n# Length of one encrypted segment file, 2–3600 seconds.\n";
  out << "segment_seconds = " << config.segment_seconds << "\n\n";
  out << "[network]\n"
         "# Addresses or networks (CIDR, IPv4 or IPv6). The firewall lets HTTPS in from\n"
         "# school_lan, RTSP out to camera_network, NTP out to ntp_servers (empty: any) and\n"
         "# /metrics in from monitoring.\n";
  out << "school_lan = " << list(config.school_lan) << "\n";
  out << "camera_network = " << list(config.camera_network) << "\n";
  out << "ntp_servers = " << list(config.ntp_servers) << "\n";
  out << "monitoring = " << list(config.monitoring) << "\n\n";
  out << "[retention]\n# Default for new cameras, 1–28 days (rule R2: at most four weeks).\n";
  out << "default_days = " << config.default_retention_days << "\n";
  out << "# Disk pressure: below space_reserve_mb of free space plus space_reserve_seconds of\n"
         "# every recording camera's bitrate, the oldest footage that no hold or restriction\n"
         "# protects is deleted early (an alarm says the effective retention dropped). 0 and 0:\n"
         "# never.\n";
  out << "space_reserve_mb = " << config.space_reserve_mb << "\n";
  out << "space_reserve_seconds = " << config.space_reserve_seconds << "\n\n";
  out << "[policy]\n# Admins and directors must sign in with TOTP.\n";
  out << "require_totp = " << (config.require_totp ? "true" : "false") << "\n";
  out << "# Police exports need a second director (enforced from issue #8 on).\n";
  out << "four_eyes = " << (config.four_eyes ? "true" : "false") << "\n";
  return out.str();
}

Status write_config_file(const fs::path& path, const Config& config) {
  const std::string text = render_config(config);
  const fs::path directory = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::string temporary = (directory / ("." + path.filename().string() + ".XXXXXX")).string();
  hal::UniqueFd fd(::mkstemp(temporary.data()));
  if (!fd.valid()) return errno_error(errno, "create a temporary file in " + directory.string());
  auto discard = [&temporary] { ::unlink(temporary.c_str()); };
  // Keep the old file's mode (and its group, which lets the service write it back).
  struct stat old_info {};
  mode_t mode = 0640;
  if (::stat(path.c_str(), &old_info) == 0) {
    mode = old_info.st_mode & 07777;
    if (::fchown(fd.get(), static_cast<uid_t>(-1), old_info.st_gid) != 0) {
      // Not the group's member: the mode below still applies; nothing else to do.
    }
  }
  if (::fchmod(fd.get(), mode) != 0) {
    discard();
    return errno_error(errno, "chmod " + temporary);
  }
  if (auto written = write_all(fd.get(), text, temporary); !written.ok()) {
    discard();
    return written;
  }
  if (::fsync(fd.get()) != 0) {
    const int error = errno;
    discard();
    return errno_error(error, "fsync " + temporary);
  }
  fd.reset();
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    discard();
    return errno_error(error, "replace " + path.string());
  }
  hal::UniqueFd dir_fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid() || ::fsync(dir_fd.get()) != 0) {
    return errno_error(errno, "fsync " + directory.string());
  }
  return {};
}

const std::vector<std::string>& changeable_config_keys() {
  static const std::vector<std::string> keys = {"web.listen",
                                                "web.metrics_listen",
                                                "network.monitoring",
                                                "storage.min_free_mb",
                                                "recording.segment_seconds",
                                                "network.school_lan",
                                                "network.camera_network",
                                                "network.ntp_servers",
                                                "retention.default_days",
                                                "retention.space_reserve_mb",
                                                "retention.space_reserve_seconds",
                                                "policy.require_totp",
                                                "policy.four_eyes"};
  return keys;
}

Result<Config> change_config(const fs::path& path, recorder::Catalog& catalog, AuditJournal& audit,
                             const Actor& by, const std::string& key, const std::string& value) {
  AuditEvent event;
  event.action = "config_change";
  event.object_type = "setting";
  event.object_id = key;
  auto deny = [&](const Error& error) -> Error {
    event.allowed = false;
    event.reason = error.message;
    event.details = nlohmann::json{{"key", key}, {"to", value}}.dump();
    (void)audit.append(by, event);
    return error;
  };
  auto current = load_config(path);
  if (!current.ok()) return deny(current.error());
  Config changed = current.value();
  const std::string previous = value_of(changed, key);
  if (auto set = set_value(changed, key, value); !set.ok()) return deny(set.error());
  // The whole file is validated as yardwatchd would at start: what is written always loads.
  auto validated = parse_config(render_config(changed), path.string());
  if (!validated.ok()) return deny(validated.error());
  event.details =
      nlohmann::json{{"key", key}, {"from", previous}, {"to", value_of(changed, key)}}.dump();
  {
    std::lock_guard lock(catalog.mutex());
    YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(catalog.database()));
    YW_TRY(audit.append(by, event));
    YW_TRY(write_config_file(path, validated.value()));
    YW_TRY(transaction.commit());
  }
  if (const std::string setting = setting_key_of(key); !setting.empty()) {
    YW_TRY(set_setting(catalog, audit, by, setting, value_of(changed, key) == "true" ? "1" : "0"));
  }
  return validated;
}

Result<Config> change_config(const fs::path& path, recorder::Catalog& catalog, AuditJournal& audit,
                             const Principal& by, const std::string& key,
                             const std::string& value) {
  AuditEvent attempted;
  attempted.action = "config_change";
  attempted.object_type = "setting";
  attempted.object_id = key;
  YW_TRY(authorize(audit, by, Permission::kManageCameras, std::nullopt, attempted));
  return change_config(path, catalog, audit, by.actor(), key, value);
}

Status apply_policy_settings(const Config& config, recorder::Catalog& catalog,
                             AuditJournal& audit) {
  const std::pair<const char*, bool> switches[] = {{"policy.require_totp", config.require_totp},
                                                   {"policy.four_eyes", config.four_eyes}};
  for (const auto& [key, on] : switches) {
    const std::string wanted = on ? "1" : "0";
    auto current = get_setting(catalog, key);
    if (current.ok() && current.value() == wanted) continue;
    if (!current.ok() && current.error().kind != ErrorKind::kNotFound) return current.error();
    YW_TRY(set_setting(catalog, audit, Actor::system(), key, wanted));
  }
  return {};
}

}  // namespace yardwatch::firmware
