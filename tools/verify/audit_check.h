#pragma once

// `yardwatch-verify --audit`: checks an audit journal export (JSON lines, written by
// firmware::AuditJournal::export_jsonl) using only the byte formats in audit_format.h. The
// input is untrusted: every line, field and type is checked before use.

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace yardwatch::verify {

struct AuditCheck {
  bool ok = false;
  // Where the first check failed: an entry's seq (or the checkpoint's seq) when it is known.
  std::optional<int64_t> first_failing_seq;
  std::optional<int64_t> line;  // 1-based line of the export, for malformed input
  std::string problem;          // one sentence, naming the place

  std::vector<uint8_t> public_key;  // from the device line (empty if unreadable)
  std::string device_id;
  int64_t entries = 0;
  int64_t checkpoints = 0;
  std::optional<int64_t> first_time_utc_us;
  std::optional<int64_t> last_time_utc_us;
  int64_t last_signed_seq = 0;  // the highest seq a valid checkpoint covers
  // From a valid {"type":"anchor"} line: the journal was pruned through this entry at this
  // time, and the export's chain starts after it.
  std::optional<int64_t> pruned_through_seq;
  std::optional<int64_t> pruned_utc_us;
};

AuditCheck check_audit_export(std::istream& input);

}  // namespace yardwatch::verify
