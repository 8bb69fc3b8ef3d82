#include "yardwatch/firmware/exports.h"

#include <sodium.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "bundle_export.h"
#include "register_checks.h"
#include "yardwatch/firmware/holds.h"
#include "yardwatch/firmware/settings.h"
#include "yardwatch/firmware/subject_footage.h"
#include "yardwatch/recorder/export_bundle.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

namespace {

namespace format = recorder::bundle_format;
using nlohmann::json;

// A field as it may go into the audit journal even when it was refused for being malformed.
std::string printable(const std::string& text) {
  std::string out = text.substr(0, kMaxExportTextBytes);
  if (!valid_utf8(out)) {
    out = json::parse(json(out).dump(-1, ' ', false, json::error_handler_t::replace))
              .get<std::string>();
  }
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c >= 0 && c < 0x20; }, ' ');
  return out;
}

// Why a free-text field of a request is unusable, or nullopt.
std::optional<std::string> text_problem(const std::string& what, const std::string& value,
                                        size_t min_length) {
  const bool blank = std::all_of(value.begin(), value.end(), [](char c) { return c == ' '; });
  if (value.size() < min_length || blank) return "a police export needs " + what;
  if (value.size() > kMaxExportTextBytes) {
    return what + " is longer than " + std::to_string(kMaxExportTextBytes) + " bytes";
  }
  if (!valid_utf8(value)) return what + " is not valid UTF-8 text";
  if (std::any_of(value.begin(), value.end(), [](char c) { return c >= 0 && c < 0x20; })) {
    return what + " contains control characters (line breaks, tabs)";
  }
  return std::nullopt;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

ExportRecord read_record(const recorder::sql::Statement& row) {
  ExportRecord r;
  r.id = row.column_text(0);
  r.created_utc_us = row.column_int(1);
  r.approved_by = row.column_text(2);
  r.case_reference = row.column_text(3);
  r.legal_basis = row.column_text(4);
  r.recipient = row.column_text(5);
  r.requested_by = row.column_text(6);
  const json cameras = json::parse(row.column_text(7), nullptr, false);
  if (cameras.is_array()) {
    for (const auto& camera : cameras) {
      if (camera.is_string()) r.cameras.push_back(camera.get<std::string>());
    }
  }
  r.from_utc_us = row.column_int(8);
  r.to_utc_us = row.column_int(9);
  r.target = row.column_text(10);
  r.state = row.column_text(11);
  if (!row.column_is_null(12)) r.finished_utc_us = row.column_int(12);
  r.manifest = row.column_text(13);
  r.manifest_sha256 = row.column_text(14);
  r.error = row.column_text(15);
  return r;
}

constexpr const char* kRecordColumns =
    "id, created_utc_us, approved_by, case_reference, legal_basis, recipient, requested_by, "
    "cameras, from_utc_us, to_utc_us, target, state, finished_utc_us, COALESCE(manifest, ''), "
    "COALESCE(manifest_sha256, ''), error";

}  // namespace

std::string device_name(recorder::Catalog& catalog) {
  if (auto name = get_setting(catalog, "device.name"); name.ok() && !name.value().empty()) {
    return name.value();
  }
  auto id = catalog.device_id();
  return "Yardwatch " + (id.ok() ? id.value().substr(0, 8) : std::string("appliance"));
}

ExportService::ExportService(recorder::Catalog& catalog, const hal::Storage& storage,
                             const hal::KeyStore& keys, const hal::Clock& clock,
                             AuditJournal& audit)
    : catalog_(catalog), storage_(storage), keys_(keys), clock_(clock), audit_(audit) {}

Result<ExportOutcome> ExportService::create_export(const Principal& principal,
                                                   ExportRequest request,
                                                   hal::RemovableMedia& media) {
  struct Wipe {
    std::string& secret;
    ~Wipe() { sodium_memzero(secret.data(), secret.size()); }
  } wipe{request.passphrase};

  const format::ExportId export_id = format::new_export_id();
  const std::string id_text = format::export_id_text(export_id);
  const std::string requested_by =
      request.requested_by.empty() ? request.recipient : request.requested_by;
  const std::string target_text = request.media_id + "/" + request.directory_name;

  AuditEvent event;
  event.action = "police_export";
  event.object_type = "export";
  event.object_id = id_text;
  event.camera = printable(joined(request.cameras));
  event.range_from_utc_us = request.from_utc_us;
  event.range_to_utc_us = request.to_utc_us;
  event.purpose = printable(request.legal_basis);
  event.details =
      json{
          {"case", printable(request.case_reference)},
          {"recipient", printable(request.recipient)},
          {"requested_by", printable(requested_by)},
          {"cameras",
           json::parse(json(request.cameras).dump(-1, ' ', false, json::error_handler_t::replace))},
          {"target", printable(target_text)}}
          .dump();
  // The role first: someone who may not export learns nothing else.
  YW_TRY(authorize(audit_, principal, Permission::kPoliceExport, std::nullopt, event));

  auto refuse = [&](ErrorKind kind, const std::string& why) -> Error {
    AuditEvent denial = event;
    denial.allowed = false;
    denial.reason = printable(why);
    (void)audit_.append(principal.actor(), denial);
    return make_error(kind, why);
  };
  if (auto problem = text_problem("a case reference (--case)", request.case_reference, 1)) {
    return refuse(ErrorKind::kInvalidArgument, *problem);
  }
  if (auto problem = text_problem(
          "the legal basis: the reference of the official demand, e.g. the vordering number "
          "(--legal-basis)",
          request.legal_basis, kMinLegalBasisLength)) {
    return refuse(ErrorKind::kInvalidArgument, *problem);
  }
  if (auto problem = text_problem("a recipient: the authority and officer (--recipient)",
                                  request.recipient, 1)) {
    return refuse(ErrorKind::kInvalidArgument, *problem);
  }
  if (auto problem = text_problem("who requested it", requested_by, 1)) {
    return refuse(ErrorKind::kInvalidArgument, *problem);
  }
  if (auto weak = format::check_passphrase(request.passphrase); !weak.ok()) {
    return refuse(ErrorKind::kInvalidArgument, weak.error().message);
  }
  if (verify_page_.empty()) {
    return refuse(ErrorKind::kFailedPrecondition,
                  "this build has no verify.html to put into the bundle");
  }
  // Four-eyes (policy switch): a second authorised person approved this export for every
  // camera in it, or nothing is written.
  {
    std::set<int64_t> camera_ids;
    for (const auto& name : request.cameras) {
      if (auto camera = catalog_.camera_by_name(name); camera.ok()) {
        camera_ids.insert(camera.value().id);
      }
    }
    YW_TRY(
        check_four_eyes(catalog_, audit_, principal, request.second_approval, camera_ids, event));
  }
  auto sources = recorder::plan_export_sources(catalog_, request.cameras, request.from_utc_us,
                                               request.to_utc_us);
  if (!sources.ok()) return refuse(sources.error().kind, sources.error().message);

  const int64_t now = clock_.now_utc_us();
  std::optional<Error> restricted;
  {
    std::lock_guard lock(catalog_.mutex());
    auto& db = catalog_.database();
    YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(db));
    // R7: restricted footage never leaves the appliance. Checked in the transaction that holds
    // the range, so a restriction placed meanwhile cannot slip between the two.
    for (const auto& name : request.cameras) {
      YW_ASSIGN_OR_RETURN(auto camera, catalog_.camera_by_name(name));
      YW_ASSIGN_OR_RETURN(
          auto in_force,
          restrictions_in_force(catalog_, camera.id, request.from_utc_us, request.to_utc_us));
      if (!in_force.empty()) {
        restricted =
            make_error(ErrorKind::kFailedPrecondition,
                       "refused: footage of " + name +
                           " in this range is restricted on a data subject's "
                           "request (restriction " +
                           std::to_string(in_force.front().id) + ", request " +
                           in_force.front().request_reference +
                           "); restricted footage cannot be exported until a director lifts the "
                           "restriction");
        break;
      }
    }
    if (!restricted) {
      // R2: the exported range is held so that its source cannot age out while the case runs:
      // a director's hold (audited `hold_place`) in the same transaction as the export's record
      // and audit entry. It stays if writing the bundle fails (the demand stands; a director
      // releases it when the case is closed).
      HoldSpec hold;
      hold.cameras = request.cameras;
      hold.from_utc_us = request.from_utc_us;
      hold.to_utc_us = request.to_utc_us;
      hold.reason = "police export";
      hold.case_reference = request.case_reference;
      hold.review_by_utc_us = now + kMaxReviewAheadUs;
      YW_ASSIGN_OR_RETURN(Hold placed,
                          HoldService(catalog_, clock_, audit_).place(principal, hold));
      json details = json::parse(event.details);
      details["hold"] = placed.id;
      event.details = details.dump();
      YW_ASSIGN_OR_RETURN(
          auto insert,
          db.prepare("INSERT INTO exports(id, created_utc_us, account_id, approved_by, "
                     "case_reference, legal_basis, recipient, requested_by, cameras, "
                     "from_utc_us, to_utc_us, target, state) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'writing')"));
      insert.bind(1, id_text).bind(2, now).bind(3, principal.account_id).bind(4, principal.name);
      insert.bind(5, request.case_reference)
          .bind(6, request.legal_basis)
          .bind(7, request.recipient);
      insert.bind(8, requested_by).bind(9, json(request.cameras).dump());
      insert.bind(10, request.from_utc_us).bind(11, request.to_utc_us).bind(12, target_text);
      YW_TRY(insert.run());
      YW_TRY(audit_.append(principal.actor(), event));
      YW_TRY(transaction.commit());
    }
  }
  // Refused outside the transaction, so the denial's audit entry is not rolled back with it.
  if (restricted) return refuse(restricted->kind, restricted->message);

  // R8: a bundle that did not complete may be half on a stick: a security incident.
  auto finish_failed = [&](const Error& error) -> Error {
    AuditEvent failed = event;
    failed.action = "police_export_failed";
    failed.reason = printable(error.message);
    record_export_failure(catalog_, clock_, audit_, principal, ExportTable::kPolice, id_text, error,
                          failed,
                          "export " + id_text + " (case " + printable(request.case_reference) +
                              ") to " + printable(target_text) + ": " + printable(error.message));
    return error;
  };

  auto target = media.create_target(request.media_id, request.directory_name);
  if (!target.ok()) return finish_failed(target.error());

  recorder::BundleRequest bundle;
  fill_bundle_header(bundle, catalog_, clock_, principal, now, verify_page_);
  bundle.export_id = export_id;
  bundle.case_reference = request.case_reference;
  bundle.legal_basis = request.legal_basis;
  bundle.recipient = request.recipient;
  bundle.requested_by = {requested_by, "requesting authority"};
  bundle.from_utc_us = request.from_utc_us;
  bundle.to_utc_us = request.to_utc_us;
  bundle.sources = std::move(sources).value();
  bundle.passphrase = request.passphrase;
  bundle.kdf_opslimit = request.kdf_opslimit;
  bundle.kdf_memlimit = request.kdf_memlimit;
  auto written = recorder::write_bundle(storage_, keys_, bundle, *target.value());
  sodium_memzero(bundle.passphrase.data(), bundle.passphrase.size());
  if (!written.ok()) return finish_failed(written.error());

  ExportOutcome outcome;
  const std::string manifest_sha256 = format::to_hex(written.value().manifest_sha256);
  {
    json files = json::array();
    for (const auto& file : written.value().manifest.files) {
      files.push_back(json{{"name", file.name},
                           {"camera", file.camera},
                           {"start", hal::format_iso8601_utc(file.start_utc_us)},
                           {"end", hal::format_iso8601_utc(file.end_utc_us)},
                           {"mp4_sha256", file.mp4_sha256}});
    }
    AuditEvent completed = event;
    completed.action = "police_export_complete";
    completed.details = json{
        {"case", request.case_reference},
        {"recipient", request.recipient},
        {"manifest_sha256", manifest_sha256},
        {"device_fingerprint", written.value().manifest.device_fingerprint},
        {"files", files},
        {"bytes", written.value().bytes_written},
        {"target",
         target_text}}.dump();
    if (request.second_approval != nullptr) {
      add_four_eyes_details(completed, *request.second_approval);
    }
    YW_TRY(record_export_complete(catalog_, clock_, audit_, principal, ExportTable::kPolice,
                                  id_text, written.value(), manifest_sha256, completed));
  }
  YW_ASSIGN_OR_RETURN(outcome.record, find(id_text));
  outcome.manifest = std::move(written.value().manifest);
  outcome.bytes_written = written.value().bytes_written;
  outcome.source_bytes_read = written.value().source_bytes_read;
  return outcome;
}

Result<ExportRecord> ExportService::receipt(const Principal& principal, const std::string& id) {
  AuditEvent event;
  event.action = "police_export_receipt";
  event.object_type = "export";
  event.object_id = printable(id);
  YW_TRY(authorize(audit_, principal, Permission::kPoliceExport, std::nullopt, event));
  auto record = find(id);
  if (!record.ok() || record.value().state != "complete") {
    event.allowed = false;
    event.reason = record.ok() ? "the export did not complete" : "no such export";
    (void)audit_.append(principal.actor(), event);
    if (!record.ok()) return std::move(record).error();
    return make_error(ErrorKind::kFailedPrecondition,
                      "export " + id + " did not complete (" + record.value().error + ")");
  }
  event.purpose = record.value().legal_basis;
  YW_TRY(audit_.append(principal.actor(), event));
  return record;
}

Result<std::vector<ExportRecord>> ExportService::list() {
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto query,
                      catalog_.database().prepare(std::string("SELECT ") + kRecordColumns +
                                                  " FROM exports ORDER BY created_utc_us, id"));
  std::vector<ExportRecord> records;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, query.step());
    if (!has_row) break;
    records.push_back(read_record(query));
  }
  return records;
}

Result<ExportRecord> ExportService::find(const std::string& id) {
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto query,
                      catalog_.database().prepare(std::string("SELECT ") + kRecordColumns +
                                                  " FROM exports WHERE id = ?1"));
  query.bind(1, id);
  YW_ASSIGN_OR_RETURN(bool found, query.step());
  if (!found) return make_error(ErrorKind::kNotFound, "no export with id " + id);
  return read_record(query);
}

}  // namespace yardwatch::firmware
