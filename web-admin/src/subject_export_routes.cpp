// Subject access exports (R7, R11; firmware/design/subject_export.md): a director answers an
// access request ('inzage') with footage in which other people are blurred. The page
// (ui/app/subject_export.js) shows a frame to draw the requester's box on, has the appliance
// redact the range into a draft held in memory, plays the draft frame by frame, confirms the
// review with the frames it showed, and releases the bundle to a medium the appliance offers.
// Every rule (directors only, an open access request, the 15-minute bound, the review gate,
// restrictions, four-eyes, the audit with the request's reference) is the firmware's
// SubjectExportService; here only input is shaped and bounded. No path comes from the request:
// the medium is chosen by id, the directory name is made here.

#include <httplib.h>

#include <algorithm>

#include "context.h"

namespace yardwatch::web_admin {

namespace {

using firmware::Permission;

constexpr const char* kDraftId = R"(([0-9A-Za-z-]{8,64}))";
// The review report: ranges of frames shown, [first, last] inclusive.
constexpr size_t kMaxReviewRanges = 1000;

json draft_json(const firmware::SubjectDraft& draft) {
  return json{{"id", draft.id},
              {"request_reference", draft.request_reference},
              {"camera", draft.camera},
              {"from", iso(draft.from_utc_us)},
              {"to", iso(draft.to_utc_us)},
              {"blur_outside_selection", draft.blur_outside_selection},
              {"frames", draft.frames},
              {"width", draft.width},
              {"height", draft.height},
              {"start", iso(draft.start_utc_us)},
              {"duration_us", draft.duration_us},
              {"mp4_bytes", draft.mp4_bytes},
              {"frames_with_requester", draft.frames_with_requester},
              {"frames_requester_lost", draft.frames_requester_lost},
              {"prepared_by", draft.prepared_by},
              {"prepared", iso(draft.prepared_utc_us)},
              {"reviewed_by", draft.reviewed_by},
              {"reviewed", optional_time(draft.reviewed_utc_us)}};
}

json record_json(const firmware::SubjectExportRecord& record) {
  return json{{"id", record.id},
              {"request_reference", record.request_reference},
              {"camera", record.camera},
              {"from", iso(record.from_utc_us)},
              {"to", iso(record.to_utc_us)},
              {"blur_outside_selection", record.blur_outside_selection},
              {"created", iso(record.created_utc_us)},
              {"created_by", record.created_by},
              {"reviewed_by", record.reviewed_by},
              {"reviewed", optional_time(record.reviewed_utc_us)},
              {"target", record.target},
              {"state", record.state},
              {"finished", optional_time(record.finished_utc_us)},
              {"manifest_sha256", record.manifest_sha256},
              {"error", record.error}};
}

// "inzage-export-20261130T203000Z": a fresh, plain directory name.
std::string bundle_directory_name(int64_t now_utc_us) {
  std::string stamp = hal::format_iso8601_utc((now_utc_us / 1'000'000) * 1'000'000);
  std::string compact;
  for (char c : stamp) {
    if (c != '-' && c != ':') compact += c;
  }
  return "inzage-export-" + compact;
}

Result<double> fraction_field(const json& object, const std::string& name) {
  auto found = object.find(name);
  if (found == object.end() || !found->is_number() || found->get<double>() < 0 ||
      found->get<double>() > 1) {
    return make_error(ErrorKind::kInvalidArgument,
                      "'selection." + name + "' must be a number from 0 to 1");
  }
  return found->get<double>();
}

// {"at", "x", "y", "width", "height"}: the box in fractions of the picture.
Result<std::optional<recorder::RequesterSelection>> selection_field(const json& body) {
  auto found = body.find("selection");
  if (found == body.end() || found->is_null()) return std::optional<recorder::RequesterSelection>{};
  if (!found->is_object()) {
    return make_error(ErrorKind::kInvalidArgument, "'selection' must be an object");
  }
  recorder::RequesterSelection selection;
  YW_ASSIGN_OR_RETURN(selection.utc_us, time_field(*found, "at"));
  YW_ASSIGN_OR_RETURN(selection.box.x, fraction_field(*found, "x"));
  YW_ASSIGN_OR_RETURN(selection.box.y, fraction_field(*found, "y"));
  YW_ASSIGN_OR_RETURN(selection.box.width, fraction_field(*found, "width"));
  YW_ASSIGN_OR_RETURN(selection.box.height, fraction_field(*found, "height"));
  if (selection.box.width <= 0 || selection.box.height <= 0 ||
      selection.box.x + selection.box.width > 1.0001 ||
      selection.box.y + selection.box.height > 1.0001) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the requester's box must have a size and lie inside the picture");
  }
  return std::optional<recorder::RequesterSelection>(selection);
}

// The frames the client showed, as ranges [[first, last], …]; expanded up to the draft's count
// (anything beyond it cannot count towards the review).
Result<std::vector<uint64_t>> frames_shown(const json& body, uint64_t frames) {
  auto found = body.find("frames_shown");
  if (found == body.end() || !found->is_array() || found->size() > kMaxReviewRanges) {
    return make_error(ErrorKind::kInvalidArgument,
                      "'frames_shown' must be a list of at most 1000 [first, last] ranges");
  }
  std::vector<uint64_t> shown;
  for (const auto& range : *found) {
    if (!range.is_array() || range.size() != 2 || !range[0].is_number_unsigned() ||
        !range[1].is_number_unsigned() || range[1].get<uint64_t>() < range[0].get<uint64_t>()) {
      return make_error(ErrorKind::kInvalidArgument,
                        "each range of 'frames_shown' must be [first, last] frame numbers");
    }
    const uint64_t last = std::min(range[1].get<uint64_t>(), frames == 0 ? 0 : frames - 1);
    for (uint64_t frame = range[0].get<uint64_t>(); frame <= last && frame < frames; ++frame) {
      shown.push_back(frame);
    }
  }
  return shown;
}

}  // namespace

void add_subject_export_routes(Router& router, WebContext& context) {
  const Access directors = Access::any_of({Permission::kManageSubjectRequests});
  const Access readers = Access::any_of({Permission::kReadSubjectRequests});

  router.add({Method::kGet, "/api/v1/subject-exports", readers, 0,
              [&context](Request& request) {
                auto reference = request.query("request");
                if (!reference || reference->empty() || reference->size() > 100) {
                  return error_reply(400, "invalid", "'request' must name a request reference");
                }
                auto records =
                    context.services.subject_exports.list(*request.principal, *reference);
                if (!records.ok()) return error_reply(records.error());
                json list = json::array();
                for (const auto& record : records.value()) list.push_back(record_json(record));
                return json_reply(200, json{{"subject_exports", list}});
              },
              "the subject exports of a request (?request=REF; audited)"});

  router.add({Method::kGet, "/api/v1/subject-exports/frame", directors, 0,
              [&context](Request& request) {
                auto reference = request.query("request");
                auto camera = request.query("camera");
                auto at = time_query(request, "at");
                if (!reference || reference->size() > 100 || !camera || camera->size() > 64) {
                  return error_reply(400, "invalid", "'request' and 'camera' must be given once");
                }
                if (!at.ok()) return error_reply(at.error());
                auto still = context.services.subject_exports.frame(*request.principal, *reference,
                                                                    *camera, at.value());
                if (!still.ok()) return error_reply(still.error());
                Reply reply =
                    bytes_reply("image/jpeg", std::string(still->jpeg.begin(), still->jpeg.end()));
                reply.headers.emplace_back("X-Frame-Time", iso(still->utc_us));
                return reply;
              },
              "one unredacted frame (JPEG) to draw the requester's box on (?request, camera, "
              "at; audited)"});

  router.add({Method::kPost, "/api/v1/subject-exports/drafts", directors, kSmallBody,
              [&context](Request& request) {
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                const json& fields = body.value();
                firmware::SubjectDraftSpec spec;
                auto reference = string_field(fields, "request_reference", 100);
                auto camera = string_field(fields, "camera", 64);
                auto from = time_field(fields, "from");
                auto to = time_field(fields, "to");
                auto selection = selection_field(fields);
                if (!reference.ok()) return error_reply(reference.error());
                if (!camera.ok()) return error_reply(camera.error());
                if (!from.ok()) return error_reply(from.error());
                if (!to.ok()) return error_reply(to.error());
                if (!selection.ok()) return error_reply(selection.error());
                auto blur = fields.find("blur_outside_selection");
                if (blur != fields.end() && !blur->is_boolean()) {
                  return error_reply(400, "invalid",
                                     "'blur_outside_selection' must be true or false");
                }
                spec.request_reference = reference.value();
                spec.camera = camera.value();
                spec.from_utc_us = from.value();
                spec.to_utc_us = to.value();
                spec.selection = selection.value();
                spec.blur_outside_selection = blur != fields.end() && blur->get<bool>();
                auto draft = context.services.subject_exports.prepare(*request.principal, spec);
                if (!draft.ok()) return error_reply(draft.error());
                return json_reply(201, draft_json(draft.value()));
              },
              "redacts a range (at most 15 minutes) of one camera into a draft held in memory "
              "(request_reference, camera, from, to, selection, blur_outside_selection; audited)"});

  router.add({Method::kGet, std::string("/api/v1/subject-exports/drafts/") + kDraftId, directors, 0,
              [&context](Request& request) {
                auto draft =
                    context.services.subject_exports.draft(*request.principal, request.params[0]);
                if (!draft.ok()) return error_reply(draft.error());
                return json_reply(200, draft_json(draft.value()));
              },
              "a draft's state (frames, review)"});

  router.add({Method::kGet, std::string("/api/v1/subject-exports/drafts/") + kDraftId + "/video",
              directors, 0,
              [&context](Request& request) {
                auto video = context.services.subject_exports.draft_video(*request.principal,
                                                                          request.params[0]);
                if (!video.ok()) return error_reply(video.error());
                return bytes_reply("video/mp4", std::string(video->begin(), video->end()));
              },
              "the redacted draft as MP4, for the frame-by-frame review (audited)"});

  router.add({Method::kPost, std::string("/api/v1/subject-exports/drafts/") + kDraftId + "/review",
              directors, kMediumBody,
              [&context](Request& request) {
                auto body = parse_body(request);
                if (!body.ok()) return error_reply(body.error());
                auto draft =
                    context.services.subject_exports.draft(*request.principal, request.params[0]);
                if (!draft.ok()) return error_reply(draft.error());
                auto shown = frames_shown(body.value(), draft->frames);
                if (!shown.ok()) return error_reply(shown.error());
                auto reviewed = context.services.subject_exports.confirm_review(
                    *request.principal, request.params[0], shown.value());
                if (!reviewed.ok()) return error_reply(reviewed.error());
                return json_reply(200, draft_json(reviewed.value()));
              },
              "confirms the review: {\"frames_shown\": [[first, last], …]} must cover every frame "
              "(else 409; audited)"});

  router.add({Method::kDelete, std::string("/api/v1/subject-exports/drafts/") + kDraftId, directors,
              0,
              [&context](Request& request) {
                auto discarded =
                    context.services.subject_exports.discard(*request.principal, request.params[0]);
                if (!discarded.ok()) return error_reply(discarded.error());
                return json_reply(200, json{{"discarded", request.params[0]}});
              },
              "drops a draft (audited)"});

  router.add(
      {Method::kPost, std::string("/api/v1/subject-exports/drafts/") + kDraftId + "/release",
       directors, kSmallBody,
       [&context](Request& request) {
         auto body = parse_body(request);
         if (!body.ok()) return error_reply(body.error());
         auto passphrase = string_field(body.value(), "passphrase", 1024);
         auto media_id = string_field(body.value(), "media_id", 1024);
         if (!passphrase.ok()) return error_reply(passphrase.error());
         if (!media_id.ok()) return error_reply(media_id.error());
         if (context.options.media == nullptr) {
           return error_reply(503, "unavailable",
                              "no export medium is configured on this appliance");
         }
         firmware::SubjectReleaseSpec spec;
         spec.draft_id = request.params[0];
         spec.passphrase = std::move(passphrase).value();
         spec.media_id = media_id.value();
         spec.directory_name = bundle_directory_name(context.appliance.clock().now_utc_us());
         const std::string directory = spec.directory_name;
         // Four-eyes: as for a police export, the second person approves within this request.
         const bool second_given = body.value().contains("second_person");
         std::optional<firmware::FourEyesApproval> approval;
         if (second_given) {
           auto draft = context.services.subject_exports.draft(*request.principal, spec.draft_id);
           if (!draft.ok()) return error_reply(draft.error());
           auto camera = context.appliance.catalog().camera_by_name(draft.value().camera);
           if (!camera.ok()) return error_reply(camera.error());
           firmware::AuditEvent attempted;
           attempted.action = "subject_export";
           attempted.object_type = "subject_export";
           attempted.object_id = spec.draft_id;
           attempted.camera = draft.value().camera;
           attempted.range_from_utc_us = draft.value().from_utc_us;
           attempted.range_to_utc_us = draft.value().to_utc_us;
           attempted.details = json{{"request", draft.value().request_reference}}.dump(
               -1, ' ', false, json::error_handler_t::replace);
           auto approved =
               four_eyes_approval(context, request, body.value(), {camera.value().id}, attempted);
           if (!approved.ok()) return footage_error_reply(approved.error(), true);
           approval = std::move(approved).value();
           if (approval) spec.second_approval = &*approval;
         }
         auto record = context.services.subject_exports.release(*request.principal, std::move(spec),
                                                                *context.options.media);
         if (!record.ok()) return footage_error_reply(record.error(), second_given);
         json reply = record_json(record.value());
         reply["directory"] = directory;
         return json_reply(201, reply);
       },
       "releases a reviewed draft as an encrypted, signed subject bundle (passphrase, media_id; "
       "with four-eyes on, second_person {name, password, totp}; 409 before the review; audited "
       "with the request's reference)"});
}

}  // namespace yardwatch::web_admin
