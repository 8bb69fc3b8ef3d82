#include "yardwatch/firmware/reset_marker.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "private_file.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kMarkerVersion = 1;
// A marker is a few hundred bytes; anything much larger is not ours.
constexpr std::streamsize kMaxMarkerBytes = 64 * 1024;

json record_json(const ResetRecord& record) {
  return json{{"reset_utc_us", record.reset_utc_us},
              {"reset", hal::format_iso8601_utc(record.reset_utc_us)},
              {"audited", record.audited},
              {"keys", record.keys}};
}

std::vector<ResetRecord> parse_marker(const std::string& text) {
  const json marker = json::parse(text);  // throws on damage; the caller catches
  if (!marker.is_object() || marker.value("version", 0) != kMarkerVersion) {
    throw std::invalid_argument("unknown marker version");
  }
  std::vector<ResetRecord> records;
  for (const auto& entry : marker.at("resets")) {
    ResetRecord record;
    record.reset_utc_us = entry.at("reset_utc_us").get<int64_t>();
    record.audited = entry.at("audited").get<bool>();
    record.keys = entry.at("keys").get<std::string>();
    if (record.reset_utc_us <= 0) throw std::invalid_argument("reset time out of range");
    records.push_back(std::move(record));
  }
  if (records.empty()) throw std::invalid_argument("no resets");
  return records;
}

std::string alarm_message(const ResetRecord& record) {
  // The register entry's description is the kind's title, ": ", then this.
  std::string message = "reset at " + hal::format_iso8601_utc(record.reset_utc_us);
  if (!record.keys.empty()) message += " (" + record.keys + ")";
  message += record.audited
                 ? "; the old audit journal's last entry recorded it before it was deleted"
                 : "; the old audit journal could not record it";
  return message;
}

}  // namespace

fs::path reset_marker_path(const fs::path& data_dir) { return data_dir / "factory-reset.json"; }

Result<std::vector<ResetRecord>> read_reset_marker(const fs::path& data_dir,
                                                   int64_t fallback_utc_us) {
  const fs::path path = reset_marker_path(data_dir);
  std::error_code error;
  if (!fs::exists(path, error)) {
    if (error) return errno_error(error.value(), "look for " + path.string());
    return std::vector<ResetRecord>{};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno_error(errno, "open " + path.string());
  std::string text(static_cast<size_t>(kMaxMarkerBytes) + 1, '\0');
  in.read(text.data(), kMaxMarkerBytes + 1);
  text.resize(static_cast<size_t>(in.gcount()));
  try {
    if (text.size() > static_cast<size_t>(kMaxMarkerBytes)) {
      throw std::invalid_argument("too large");
    }
    return parse_marker(text);
  } catch (const std::exception&) {
    ResetRecord unknown;
    unknown.reset_utc_us = fallback_utc_us;
    unknown.keys = "the reset's own record (" + path.filename().string() +
                   ") was damaged; its time is when the appliance found it";
    return std::vector<ResetRecord>{unknown};
  }
}

Status write_reset_marker(const fs::path& data_dir, const std::vector<ResetRecord>& records) {
  struct stat data_info {};
  if (::stat(data_dir.c_str(), &data_info) != 0) {
    return errno_error(errno, "stat " + data_dir.string());
  }
  json resets = json::array();
  for (const auto& record : records) resets.push_back(record_json(record));
  const json marker{{"version", kMarkerVersion}, {"resets", resets}};
  return write_private_file(reset_marker_path(data_dir), marker.dump(2) + "\n",
                            FileOwner{data_info.st_uid, data_info.st_gid});
}

Result<int> register_reset_marker(recorder::Catalog& catalog, const fs::path& data_dir,
                                  int64_t now_utc_us) {
  YW_ASSIGN_OR_RETURN(auto records, read_reset_marker(data_dir, now_utc_us));
  if (records.empty()) return 0;
  {
    // All resets or none: a marker left behind must not register some of them twice.
    std::lock_guard lock(catalog.mutex());
    YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(catalog.database()));
    for (const auto& record : records) {
      // Each reset is its own incident (as each failed export is): raised and closed at once, the
      // register entry stays until a director decides.
      YW_TRY(catalog.raise_alarm("factory_reset", std::nullopt, alarm_message(record),
                                 record.reset_utc_us));
      YW_TRY(catalog.clear_alarm("factory_reset", std::nullopt, record.reset_utc_us));
    }
    YW_TRY(transaction.commit());
  }
  std::error_code error;
  fs::remove(reset_marker_path(data_dir), error);
  if (error) return errno_error(error.value(), "remove " + reset_marker_path(data_dir).string());
  return static_cast<int>(records.size());
}

}  // namespace yardwatch::firmware
