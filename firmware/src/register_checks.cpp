#include "register_checks.h"

#include <nlohmann/json.hpp>

namespace yardwatch::firmware {

bool valid_utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

Error deny(AuditJournal& audit, const Principal& by, AuditEvent event, Error error) {
  event.allowed = false;
  event.reason = error.message;
  (void)audit.append(by.actor(), event);
  return error;
}

}  // namespace yardwatch::firmware
