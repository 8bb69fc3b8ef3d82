#include "yardwatch/firmware/clock_log.h"

#include <algorithm>

#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

Result<bool> record_clock_state(recorder::Catalog& catalog, const hal::Clock& clock) {
  const std::string state(hal::sync_state_name(clock.sync_state()));
  std::lock_guard lock(catalog.mutex());
  auto& db = catalog.database();
  YW_ASSIGN_OR_RETURN(auto last,
                      db.prepare("SELECT state FROM clock_sync_log ORDER BY id DESC LIMIT 1"));
  YW_ASSIGN_OR_RETURN(bool found, last.step());
  if (found && last.column_text(0) == state) return false;
  YW_ASSIGN_OR_RETURN(
      auto insert, db.prepare("INSERT INTO clock_sync_log(since_utc_us, state) VALUES (?1, ?2)"));
  YW_TRY(insert.bind(1, clock.now_utc_us()).bind(2, state).run());
  return true;
}

Result<std::string> clock_state_during(recorder::Catalog& catalog, int64_t from_utc_us,
                                       int64_t to_utc_us) {
  std::lock_guard lock(catalog.mutex());
  auto& db = catalog.database();
  // Footage recorded before anything was logged has an unknown time source.
  YW_ASSIGN_OR_RETURN(auto before,
                      db.prepare("SELECT 1 FROM clock_sync_log WHERE since_utc_us <= ?1 LIMIT 1"));
  before.bind(1, from_utc_us);
  YW_ASSIGN_OR_RETURN(bool logged_before, before.step());
  if (!logged_before) return std::string("unknown");
  // The state in force at `from` (the last change at or before it) and every change up to `to`.
  YW_ASSIGN_OR_RETURN(auto query, db.prepare(R"sql(
SELECT state FROM (SELECT state FROM clock_sync_log WHERE since_utc_us <= ?1
                   ORDER BY since_utc_us DESC, id DESC LIMIT 1)
UNION ALL
SELECT state FROM clock_sync_log WHERE since_utc_us > ?1 AND since_utc_us < ?2
)sql"));
  query.bind(1, from_utc_us).bind(2, std::max(to_utc_us, from_utc_us + 1));
  bool unknown = false;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, query.step());
    if (!has_row) break;
    const std::string state = query.column_text(0);
    if (state == "unsynchronised") return state;
    if (state != "synchronised") unknown = true;
  }
  return std::string(unknown ? "unknown" : "synchronised");
}

}  // namespace yardwatch::firmware
