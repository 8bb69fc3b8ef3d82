#pragma once

// Small pieces the firmware's registers and journal share (requests, breaches, exports, the audit
// export): one notion of valid text, one way to record a refusal.

#include <string>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/hal/result.h"

namespace yardwatch::firmware {

// The journal and the registers are written as JSON by nlohmann, which insists on UTF-8; asking
// it keeps one notion of "valid" for all of them.
bool valid_utf8(const std::string& text);

// Appends `event` as a refusal (not allowed, the error's message as the reason) for `by`, and
// returns the error. Best effort: a journal that cannot take the entry does not hide the refusal.
Error deny(AuditJournal& audit, const Principal& by, AuditEvent event, Error error);

}  // namespace yardwatch::firmware
