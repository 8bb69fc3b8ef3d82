#pragma once

// The system journal (systemd-journald through libsystemd): structured messages that outlive a
// console scroll-back, e.g. the provisioning record and a factory reset. Where no journal runs
// (a container, a development machine) the message is dropped; callers print it too.

#include <map>
#include <string>
#include <string_view>

namespace yardwatch::hal {

enum class JournalPriority { kError = 3, kWarning = 4, kNotice = 5, kInfo = 6 };

// MESSAGE=`message`, PRIORITY, SYSLOG_IDENTIFIER=`identifier`, and each extra field as
// YARDWATCH_<NAME>=value (names are upper-cased; only [A-Z0-9_] are kept). true if journald took
// it.
bool journal_send(JournalPriority priority, std::string_view identifier, std::string_view message,
                  const std::map<std::string, std::string>& fields = {});

}  // namespace yardwatch::hal
