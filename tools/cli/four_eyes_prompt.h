#pragma once

// Four-eyes at the console (firmware/four_eyes.h; firmware/design/privacy_desk.md): with
// `--second-user NAME`, `segment cat` and `export create` ask the second person for their
// password and TOTP code — on the terminal without echo, or, when stdin is not a terminal (tests,
// scripts), as the next lines of stdin after the first person's password: the second password,
// then the second TOTP code (an empty or missing line: none). Never from a command-line argument
// (it would show in `ps` and the shell history). The credentials live only for the approval and
// are wiped after it.

#include <set>
#include <string>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/firmware/four_eyes.h"
#include "yardwatch/hal/result.h"

namespace yardwatch::cli {

// Reads the second person's password and TOTP code and asks FourEyesService::approve (a real,
// throttled sign-in) for `first` on `camera_ids`. Refusals are audited by the firmware.
Result<firmware::FourEyesApproval> approve_second_person(firmware::FourEyesService& four_eyes,
                                                         const firmware::Principal& first,
                                                         const std::string& second_user,
                                                         const std::set<int64_t>& camera_ids,
                                                         const firmware::AuditEvent& attempted);

}  // namespace yardwatch::cli
