#include "yardwatch/hal/journal.h"

#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <cctype>
#include <vector>

namespace yardwatch::hal {

bool journal_send(JournalPriority priority, std::string_view identifier, std::string_view message,
                  const std::map<std::string, std::string>& fields) {
  std::vector<std::string> assignments;
  assignments.push_back("MESSAGE=" + std::string(message));
  assignments.push_back("PRIORITY=" + std::to_string(static_cast<int>(priority)));
  assignments.push_back("SYSLOG_IDENTIFIER=" + std::string(identifier));
  for (const auto& [name, value] : fields) {
    std::string field = "YARDWATCH_";
    for (char c : name) {
      const auto upper = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if ((upper >= 'A' && upper <= 'Z') || (upper >= '0' && upper <= '9') || upper == '_') {
        field += upper;
      }
    }
    assignments.push_back(field + "=" + value);
  }
  std::vector<iovec> vector;
  vector.reserve(assignments.size());
  for (auto& assignment : assignments) vector.push_back({assignment.data(), assignment.size()});
  return sd_journal_sendv(vector.data(), static_cast<int>(vector.size())) == 0;
}

}  // namespace yardwatch::hal
