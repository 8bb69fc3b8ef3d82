#pragma once

// Policy switches kept in the appliance database (table `settings`). Every change is audited in
// the same transaction. The configuration file of the appliance issue will write through here.

#include <string>

#include "yardwatch/firmware/audit.h"
#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

// Known switches and their allowed values: "policy.require_totp" = "1" | "0",
// "policy.four_eyes" = "1" | "0" (four_eyes.h), "device.name" (1–100 characters),
// "policy.dpia_date" = "YYYY-MM-DD" (the date of the last DPIA, dpia.h).
// On an installed appliance the configuration file is the source of truth of the policy
// switches (config.h, apply_policy_settings).
Status set_setting(recorder::Catalog& catalog, AuditJournal& audit, const Actor& by,
                   const std::string& key, const std::string& value);
Result<std::string> get_setting(recorder::Catalog& catalog, const std::string& key);

}  // namespace yardwatch::firmware
