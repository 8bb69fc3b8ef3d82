#pragma once

// What the police export (exports.cpp) and the subject access export (subject_exports.cpp) do
// alike around writing a bundle: the manifest header the appliance fills in, and the record of
// how the write ended — its row in `exports` or `subject_exports` and its audit entry. Internal
// to the firmware; the bundle itself is written by recorder::write_bundle/write_subject_bundle.

#include <cstdint>
#include <span>
#include <string>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/catalog.h"
#include "yardwatch/recorder/export_bundle.h"

namespace yardwatch::firmware {

// Which register an export is recorded in.
enum class ExportTable { kPolice, kSubject };  // `exports`, `subject_exports`

// The header fields the appliance vouches for: when (`now`, with the clock's sync state), which
// device, who approved, the verify page and the clock log as the time source of each segment.
void fill_bundle_header(recorder::BundleHeader& header, recorder::Catalog& catalog,
                        const hal::Clock& clock, const Principal& principal, int64_t now,
                        std::span<const uint8_t> verify_page);

// A bundle that did not complete: its row marked failed with the error, `failed` audited, and
// (R8) an `export_failed` alarm with `alarm_text` raised and closed at once, which registers a
// breach for a director to decide on. Best effort: the caller returns the write's error.
void record_export_failure(recorder::Catalog& catalog, const hal::Clock& clock, AuditJournal& audit,
                           const Principal& principal, ExportTable table, const std::string& id,
                           const Error& error, const AuditEvent& failed,
                           const std::string& alarm_text);

// A bundle that completed: its row marked complete with the manifest and its SHA-256, and
// `completed` audited, in one transaction.
Status record_export_complete(recorder::Catalog& catalog, const hal::Clock& clock,
                              AuditJournal& audit, const Principal& principal, ExportTable table,
                              const std::string& id, const recorder::BundleResult& written,
                              const std::string& manifest_sha256, const AuditEvent& completed);

}  // namespace yardwatch::firmware
