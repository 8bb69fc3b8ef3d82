// Police exports (R5): a director's wizard creates the signed, encrypted bundle on a medium the
// appliance offers (a USB stick, or the directory yardwatchd was told to use), and gets the
// handover receipt. The rules (directors only, legal basis, recipient, passphrase strength,
// audit) are the firmware's ExportService; no path is built from the request: the medium is
// chosen by its id from the appliance's list and the bundle's directory name is made here from
// the time.

#include <fcntl.h>
#include <httplib.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "context.h"
#include "yardwatch/firmware/export_receipt.h"
#include "yardwatch/recorder/bundle_format.h"

namespace yardwatch::web_admin {

namespace {

using firmware::Permission;

constexpr const char* kExportId = R"(([0-9A-Za-z-]{8,64}))";

json record_json(const firmware::ExportRecord& record) {
  return json{{"id", record.id},
              {"created", iso(record.created_utc_us)},
              {"approved_by", record.approved_by},
              {"case_reference", record.case_reference},
              {"legal_basis", record.legal_basis},
              {"recipient", record.recipient},
              {"requested_by", record.requested_by},
              {"cameras", record.cameras},
              {"from", iso(record.from_utc_us)},
              {"to", iso(record.to_utc_us)},
              {"state", record.state},
              {"manifest_sha256", record.manifest_sha256}};
}

// "police-export-20261130T203000Z": a fresh, plain directory name.
std::string bundle_directory_name(int64_t now_utc_us) {
  std::string stamp = hal::format_iso8601_utc((now_utc_us / 1'000'000) * 1'000'000);
  std::string compact;
  for (char c : stamp) {
    if (c != '-' && c != ':') compact += c;
  }
  return "police-export-" + compact;
}

Result<std::vector<std::string>> camera_list(const json& body) {
  auto found = body.find("cameras");
  if (found == body.end() || !found->is_array() || found->empty() || found->size() > 64) {
    return make_error(ErrorKind::kInvalidArgument, "'cameras' must list at least one camera");
  }
  std::vector<std::string> names;
  for (const auto& item : *found) {
    if (!item.is_string() || item.get_ref<const std::string&>().size() > 64) {
      return make_error(ErrorKind::kInvalidArgument, "'cameras' must be camera names");
    }
    names.push_back(item.get<std::string>());
  }
  return names;
}

// What a refused second person is audited against: the export that was asked for.
firmware::AuditEvent attempted_export(const firmware::ExportRequest& request) {
  firmware::AuditEvent event;
  event.action = "police_export";
  event.object_type = "export";
  std::string cameras;
  for (const auto& name : request.cameras) cameras += (cameras.empty() ? "" : ",") + name;
  event.camera = cameras;
  event.range_from_utc_us = request.from_utc_us;
  event.range_to_utc_us = request.to_utc_us;
  event.purpose = request.legal_basis;
  event.details =
      json{{"case", request.case_reference}}.dump(-1, ' ', false, json::error_handler_t::replace);
  return event;
}

}  // namespace

void add_export_routes(Router& router, WebContext& context) {
  const Access directors = Access::any_of({Permission::kPoliceExport});

  router.add({Method::kGet, "/api/v1/exports/media", directors, 0,
              [&context](Request&) {
                if (context.options.media == nullptr) {
                  return json_reply(200, json{{"media", json::array()}});
                }
                auto media = context.options.media->list();
                if (!media.ok()) return error_reply(media.error());
                json list = json::array();
                for (const auto& medium : media.value()) {
                  list.push_back(json{{"id", medium.id},
                                      {"label", medium.label},
                                      {"free_bytes", medium.free_bytes},
                                      {"total_bytes", medium.total_bytes}});
                }
                return json_reply(200, json{{"media", list}});
              },
              "the media a bundle can be written to (USB sticks, or the configured directory)"});

  router.add({Method::kGet, "/api/v1/exports", directors, 0,
              [&context](Request&) {
                auto records = context.services.exports.list();
                if (!records.ok()) return error_reply(records.error());
                json list = json::array();
                for (const auto& record : records.value()) list.push_back(record_json(record));
                return json_reply(200, json{{"exports", list}});
              },
              "the police exports made so far"});

  router.add({Method::kPost, "/api/v1/exports", directors, kSmallBody,
              [&context](Request& request) {
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                const json& fields = body.value();
                firmware::ExportRequest export_request;
                auto cameras = camera_list(fields);
                auto from = time_field(fields, "from");
                auto to = time_field(fields, "to");
                auto case_reference = string_field(fields, "case_reference", 500);
                auto legal_basis = string_field(fields, "legal_basis", 500);
                auto recipient = string_field(fields, "recipient", 500);
                auto requested_by = string_field(fields, "requested_by", 500, false);
                auto passphrase = string_field(fields, "passphrase", 1024);
                auto media_id = string_field(fields, "media_id", 1024);
                for (const auto* field : {&case_reference, &legal_basis, &recipient, &requested_by,
                                          &passphrase, &media_id}) {
                  if (!field->ok()) return error_reply(field->error());
                }
                if (!cameras.ok()) return error_reply(cameras.error());
                if (!from.ok()) return error_reply(from.error());
                if (!to.ok()) return error_reply(to.error());
                if (context.options.media == nullptr) {
                  return error_reply(503, "unavailable",
                                     "no export medium is configured on this appliance");
                }
                export_request.cameras = cameras.value();
                export_request.from_utc_us = from.value();
                export_request.to_utc_us = to.value();
                export_request.case_reference = case_reference.value();
                export_request.legal_basis = legal_basis.value();
                export_request.recipient = recipient.value();
                export_request.requested_by = requested_by.value();
                export_request.passphrase = std::move(passphrase).value();
                export_request.media_id = media_id.value();
                export_request.directory_name =
                    bundle_directory_name(context.appliance.clock().now_utc_us());
                const std::string directory = export_request.directory_name;
                // Four-eyes: the second person approves within this request (never stored).
                const bool second_given = fields.contains("second_person");
                std::set<int64_t> camera_ids;
                for (const auto& name : export_request.cameras) {
                  auto camera = context.appliance.catalog().camera_by_name(name);
                  if (camera.ok()) camera_ids.insert(camera.value().id);
                }
                auto approval = four_eyes_approval(context, request, fields, camera_ids,
                                                   attempted_export(export_request));
                if (!approval.ok()) return footage_error_reply(approval.error(), true);
                if (approval.value()) export_request.second_approval = &*approval.value();
                auto outcome = context.services.exports.create_export(
                    *request.principal, std::move(export_request), *context.options.media);
                if (!outcome.ok()) return footage_error_reply(outcome.error(), second_given);
                const auto& result = outcome.value();
                json reply = record_json(result.record);
                reply["directory"] = directory;
                reply["files"] = result.manifest.files.size();
                reply["bytes_written"] = result.bytes_written;
                reply["receipt_text"] =
                    firmware::receipt_text(result.manifest, result.record.manifest_sha256);
                return json_reply(201, reply);
              },
              "creates a police export (case, legal basis, recipient, cameras, range, passphrase, "
              "medium; with four-eyes on, second_person {name, password, totp})"});

  router.add({Method::kGet, std::string("/api/v1/exports/") + kExportId + "/receipt", directors, 0,
              [&context](Request& request) {
                auto record =
                    context.services.exports.receipt(*request.principal, request.params[0]);
                if (!record.ok()) return error_reply(record.error());
                auto manifest = recorder::bundle_format::parse_manifest(record->manifest);
                if (!manifest.ok()) return error_reply(manifest.error());
                return json_reply(
                    200, json{{"export", record_json(record.value())},
                              {"receipt_text",
                               firmware::receipt_text(manifest.value(), record->manifest_sha256)}});
              },
              "the handover receipt of a complete export, as text (audited)"});

  router.add(
      {Method::kGet, std::string("/api/v1/exports/") + kExportId + "/receipt.pdf", directors, 0,
       [&context](Request& request) {
         auto record = context.services.exports.receipt(*request.principal, request.params[0]);
         if (!record.ok()) return error_reply(record.error());
         auto manifest = recorder::bundle_format::parse_manifest(record->manifest);
         if (!manifest.ok()) return error_reply(manifest.error());
         // Rendered to a private temporary file (the receipt writer wants a path) and removed.
         std::string pattern = (context.appliance.data_dir() / ".receipt-XXXXXX").string();
         const int fd = ::mkstemp(pattern.data());
         if (fd < 0) return error_reply(errno_error(errno, "a temporary receipt file"));
         ::close(fd);
         struct Remove {
           std::string path;
           ~Remove() { ::unlink(path.c_str()); }
         } remove{pattern};
         auto written =
             firmware::write_receipt_pdf(pattern, manifest.value(), record->manifest_sha256);
         if (!written.ok()) return error_reply(written.error());
         std::ifstream in(pattern, std::ios::binary);
         std::ostringstream bytes;
         bytes << in.rdbuf();
         Reply reply = bytes_reply("application/pdf", bytes.str());
         reply.headers.emplace_back("Content-Disposition",
                                    "attachment; filename=\"receipt-" + record->id + ".pdf\"");
         return reply;
       },
       "the handover receipt as PDF, to print and sign (audited)"});
}

}  // namespace yardwatch::web_admin
