#include "bundle_export.h"

#include <mutex>

#include "yardwatch/firmware/clock_log.h"
#include "yardwatch/firmware/exports.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

namespace {

const char* failed_sql(ExportTable table) {
  return table == ExportTable::kPolice
             ? "UPDATE exports SET state = 'failed', finished_utc_us = ?1, error = ?2 WHERE id = ?3"
             : "UPDATE subject_exports SET state = 'failed', finished_utc_us = ?1, error = ?2 "
               "WHERE id = ?3";
}

const char* complete_sql(ExportTable table) {
  return table == ExportTable::kPolice
             ? "UPDATE exports SET state = 'complete', finished_utc_us = ?1, manifest = ?2, "
               "manifest_sha256 = ?3 WHERE id = ?4"
             : "UPDATE subject_exports SET state = 'complete', finished_utc_us = ?1, "
               "manifest = ?2, manifest_sha256 = ?3 WHERE id = ?4";
}

}  // namespace

void fill_bundle_header(recorder::BundleHeader& header, recorder::Catalog& catalog,
                        const hal::Clock& clock, const Principal& principal, int64_t now,
                        std::span<const uint8_t> verify_page) {
  header.created_utc_us = now;
  header.clock_at_export = std::string(hal::sync_state_name(clock.sync_state()));
  if (auto id = catalog.device_id(); id.ok()) header.device_id = id.value();
  header.device_name = device_name(catalog);
  header.approved_by = {principal.name, std::string(role_name(principal.role))};
  header.verify_page = verify_page;
  header.time_source = [&catalog](int64_t from, int64_t to) {
    auto state = clock_state_during(catalog, from, to);
    return state.ok() ? state.value() : std::string("unknown");
  };
}

void record_export_failure(recorder::Catalog& catalog, const hal::Clock& clock, AuditJournal& audit,
                           const Principal& principal, ExportTable table, const std::string& id,
                           const Error& error, const AuditEvent& failed,
                           const std::string& alarm_text) {
  std::lock_guard lock(catalog.mutex());
  auto& db = catalog.database();
  auto transaction = recorder::sql::Transaction::begin(db);
  if (!transaction.ok()) return;
  if (auto update = db.prepare(failed_sql(table)); update.ok()) {
    (void)update.value().bind(1, clock.now_utc_us()).bind(2, error.message).bind(3, id).run();
  }
  (void)audit.append(principal.actor(), failed);
  // Each failed export is its own incident, so its alarm is raised (which registers it in the
  // breach register) and closed at once; the register entry stays until a director decides.
  const int64_t failed_at = clock.now_utc_us();
  (void)catalog.raise_alarm("export_failed", std::nullopt, alarm_text, failed_at);
  (void)catalog.clear_alarm("export_failed", std::nullopt, failed_at);
  (void)transaction.value().commit();
}

Status record_export_complete(recorder::Catalog& catalog, const hal::Clock& clock,
                              AuditJournal& audit, const Principal& principal, ExportTable table,
                              const std::string& id, const recorder::BundleResult& written,
                              const std::string& manifest_sha256, const AuditEvent& completed) {
  std::lock_guard lock(catalog.mutex());
  auto& db = catalog.database();
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(auto update, db.prepare(complete_sql(table)));
  YW_TRY(update.bind(1, clock.now_utc_us())
             .bind(2, written.manifest_bytes)
             .bind(3, manifest_sha256)
             .bind(4, id)
             .run());
  YW_TRY(audit.append(principal.actor(), completed));
  return transaction.commit();
}

}  // namespace yardwatch::firmware
