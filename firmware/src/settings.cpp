#include "yardwatch/firmware/settings.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "yardwatch/firmware/dpia.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

namespace {
bool valid_setting(const std::string& key, const std::string& value) {
  // policy.four_eyes is stored now and enforced by the four-eyes issue (#8).
  if (key == "policy.require_totp" || key == "policy.four_eyes")
    return value == "0" || value == "1";
  // The date of the last DPIA (R10): YYYY-MM-DD, a real date (dpia.h).
  if (key == "policy.dpia_date") return parse_civil_date(value).has_value();
  // Where the appliance stands (the kwaliteitskaart, R9): 1–200 characters, one line.
  if (key == "device.location") {
    return !value.empty() && value.size() <= 200 &&
           std::none_of(value.begin(), value.end(), [](char c) { return c >= 0 && c < 0x20; }) &&
           [&] {
             try {
               (void)nlohmann::json(value).dump();  // valid UTF-8
               return true;
             } catch (const nlohmann::json::exception&) {
               return false;
             }
           }();
  }
  // The appliance's name in police bundles and on their handover receipts.
  if (key == "device.name") {
    return !value.empty() && value.size() <= 100 &&
           std::none_of(value.begin(), value.end(), [](char c) { return c >= 0 && c < 0x20; }) &&
           [&] {
             try {
               (void)nlohmann::json(value).dump();
               return true;
             } catch (const nlohmann::json::exception&) {
               return false;
             }
           }();
  }
  return false;
}
}  // namespace

Result<std::string> get_setting(recorder::Catalog& catalog, const std::string& key) {
  std::lock_guard lock(catalog.mutex());
  YW_ASSIGN_OR_RETURN(auto query,
                      catalog.database().prepare("SELECT value FROM settings WHERE key = ?1"));
  query.bind(1, key);
  YW_ASSIGN_OR_RETURN(bool found, query.step());
  if (!found) return make_error(ErrorKind::kNotFound, "no setting '" + key + "'");
  return query.column_text(0);
}

Status set_setting(recorder::Catalog& catalog, AuditJournal& audit, const Actor& by,
                   const std::string& key, const std::string& value) {
  AuditEvent event;
  event.action = "setting_change";
  event.object_type = "setting";
  event.object_id = key;
  if (!valid_setting(key, value)) {
    event.allowed = false;
    event.reason = "unknown setting or value";
    (void)audit.append(by, event);
    return make_error(ErrorKind::kInvalidArgument,
                      "unknown setting or value: '" + key + "' = '" + value +
                          "' (known: policy.require_totp = 1 | 0; policy.four_eyes = 1 | 0; "
                          "device.name = 1–100 characters; device.location = 1–200 characters; "
                          "policy.dpia_date = YYYY-MM-DD)");
  }
  std::lock_guard lock(catalog.mutex());
  auto& db = catalog.database();
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(db));
  std::string previous;
  if (auto current = get_setting(catalog, key); current.ok()) previous = current.value();
  YW_ASSIGN_OR_RETURN(auto upsert, db.prepare("INSERT INTO settings(key, value) VALUES (?1, ?2) "
                                              "ON CONFLICT(key) DO UPDATE SET value = ?2"));
  YW_TRY(upsert.bind(1, key).bind(2, value).run());
  event.details = nlohmann::json{{"from", previous}, {"to", value}}.dump();
  YW_TRY(audit.append(by, event));
  return transaction.commit();
}

}  // namespace yardwatch::firmware
