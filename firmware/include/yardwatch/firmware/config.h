#pragma once

// The appliance's configuration file, /etc/yardwatch/yardwatch.toml (firmware/design/
// appliance.md §Configuration). Read strictly: an unknown key, a value of the wrong type or out
// of range is refused at start with its file, line and column — a typo must never silently fall
// back to a default. Changes made through the web admin or the CLI go through change_config:
// validated like the file, written back atomically, audited.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/firmware/board.h"
#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

inline constexpr const char* kDefaultConfigPath = "/etc/yardwatch/yardwatch.toml";

struct Config {
  std::string board = "host-sim";
  // The HTTPS admin: "0.0.0.0:8443", "[::]:8443", "192.168.10.5:8443".
  std::string listen = "0.0.0.0:8443";
  // Plain-HTTP /metrics for the school board's Prometheus ("" = off), reachable from
  // network.monitoring only.
  std::string metrics_listen;

  std::filesystem::path data_dir;     // empty: the board's default
  std::filesystem::path mount_point;  // empty: the board's default
  std::string volume_uuid;            // the data volume's filesystem UUID (blkid)
  std::filesystem::path key_dir;      // empty: the board's default
  uint64_t min_free_mb = 512;
  int segment_seconds = 60;

  // Networks as addresses or CIDR prefixes (IPv4 or IPv6): who may reach the HTTPS admin, where
  // the cameras are, which NTP servers the appliance may ask (empty: any).
  std::vector<std::string> school_lan = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"};
  std::vector<std::string> camera_network;
  std::vector<std::string> ntp_servers;
  std::vector<std::string> monitoring;  // the Prometheus servers that may scrape /metrics

  int default_retention_days = 28;  // for new cameras; R2 caps it at 28
  // Disk pressure: below this much free space plus space_reserve_seconds of every recording
  // camera's bitrate, the oldest footage that is not held is deleted early (firmware/retention.h
  // SpaceReserve; 0 and 0: never).
  uint64_t space_reserve_mb = 1024;
  int64_t space_reserve_seconds = 120;

  bool require_totp = true;  // admins and directors must use TOTP (policy.require_totp)
  // Police exports need a second director's approval. Stored and shown here; enforced by the
  // four-eyes issue (#8), which reads the `policy.four_eyes` setting.
  bool four_eyes = false;
};

// Parses the file's text. Errors name `source:line:column` for every bad or unknown key (all of
// them, one per line); a board that requires a volume UUID makes storage.volume_uuid required.
Result<Config> parse_config(std::string_view text, std::string_view source);
Result<Config> load_config(const std::filesystem::path& path);

// The canonical text of a configuration, with a comment for every key. parse_config of it gives
// the same Config back.
std::string render_config(const Config& config);

// Writes atomically: a temporary file in the same directory, fsync, rename over the old one,
// fsync of the directory. A crash leaves either the old file or the new one, never a mix.
Status write_config_file(const std::filesystem::path& path, const Config& config);

// The keys change_config accepts and the form of their values: booleans "true"/"false", numbers
// in decimal, lists comma-separated. Installation decisions (board, data directory, mount point,
// volume UUID, key directory) are not among them: they are edited in the file by root.
const std::vector<std::string>& changeable_config_keys();

// One change through the UI or the CLI by `by` (who was authorised by the caller): loads the
// file, applies `key = value`, validates the whole file as at start, writes it back atomically
// and appends a `config_change` audit entry ({"key","from","to"}) in one transaction with the
// write (a refused change is audited as denied). A policy switch also updates the matching
// setting (`set_setting`, itself audited) so that it takes effect at once.
Result<Config> change_config(const std::filesystem::path& path, recorder::Catalog& catalog,
                             AuditJournal& audit, const Actor& by, const std::string& key,
                             const std::string& value);
// The same for a signed-in account: only an admin may change the system (DESIGN §6).
Result<Config> change_config(const std::filesystem::path& path, recorder::Catalog& catalog,
                             AuditJournal& audit, const Principal& by, const std::string& key,
                             const std::string& value);

// At start: the policy switches of the file become the settings the services read (each change
// audited as a `setting_change` by the system). The file is the source of truth.
Status apply_policy_settings(const Config& config, recorder::Catalog& catalog, AuditJournal& audit);

}  // namespace yardwatch::firmware
