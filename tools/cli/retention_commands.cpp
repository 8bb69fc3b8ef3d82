#include "retention_commands.h"

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "appliance_commands.h"
#include "console_session.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/cameras.h"
#include "yardwatch/hal/clock.h"

namespace yardwatch::cli {

namespace {

using nlohmann::json;

constexpr int kExitRefused = 3;  // the sweep refused: the clock is not trusted

std::string iso(int64_t utc_us) { return hal::format_iso8601_utc(utc_us); }

json optional_time(const std::optional<int64_t>& utc_us) {
  return utc_us ? json(iso(*utc_us)) : json(nullptr);
}

json text_or_null(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

std::string mib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) items.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

// Everything a command of this file may take; each command registers the options it uses.
struct Options {
  firmware::ApplianceArguments arguments;  // resolved with the configuration file and board
  bool json_output = false;
  SignInOptions sign_in;
  int64_t id = 0;
  std::string cameras;
  std::string camera;
  std::string from;
  std::string to;
  std::string reason;
  std::string case_reference;
  std::string review_by;
  std::string note;
  std::string request;
  bool all = false;
  std::optional<int> retention_days;
  std::optional<int> priority;
};

void add_common(CLI::App* command, Options& options, bool with_json) {
  add_appliance_options(command, options.arguments);
  if (with_json) command->add_flag("--json", options.json_output, "machine-readable output");
}

void add_sign_in(CLI::App* command, Options& options) {
  add_sign_in_options(command, options.sign_in);
}

// Opens the appliance and its services, signs the person in if the command needs one, and runs
// the body (console_session.h).
int with_services(const Options& options, bool sign_in,
                  const std::function<int(firmware::Services&, const firmware::Principal*)>& body) {
  return with_session(
      options.arguments, options.sign_in, sign_in ? SignInWhen::kAlways : SignInWhen::kNever,
      [&](ConsoleSession& session) { return body(session.services, session.principal); });
}

json hold_json(const firmware::Hold& hold) {
  return json{{"id", hold.id},
              {"state", std::string(firmware::hold_state_name(hold.state))},
              {"cameras", hold.cameras},
              {"from", iso(hold.from_utc_us)},
              {"to", iso(hold.to_utc_us)},
              {"reason", hold.reason},
              {"case", hold.case_reference},
              {"review_by", iso(hold.review_by_utc_us)},
              {"overdue", hold.overdue},
              {"created_by", hold.created_by},
              {"created", iso(hold.created_utc_us)},
              {"pending_until", optional_time(hold.pending_until_utc_us)},
              {"decided_by", text_or_null(hold.decided_by)},
              {"decided", optional_time(hold.decided_utc_us)},
              {"decision_note", text_or_null(hold.decision_note)},
              {"released_by", text_or_null(hold.released_by)},
              {"released", optional_time(hold.released_utc_us)}};
}

void print_hold_line(const firmware::Hold& hold) {
  std::string cameras;
  for (const auto& name : hold.cameras) cameras += (cameras.empty() ? "" : ",") + name;
  std::printf(
      "hold %lld  %-8s %s  %s .. %s  case %s  review by %s%s\n", static_cast<long long>(hold.id),
      std::string(firmware::hold_state_name(hold.state)).c_str(), cameras.c_str(),
      iso(hold.from_utc_us).c_str(), iso(hold.to_utc_us).c_str(), hold.case_reference.c_str(),
      iso(hold.review_by_utc_us).c_str(), hold.overdue ? "  OVERDUE" : "");
}

int print_hold(const Options& options, const firmware::Hold& hold, const std::string& what) {
  if (options.json_output) {
    std::cout << hold_json(hold).dump(2) << "\n";
    return 0;
  }
  std::printf("%s\n", what.c_str());
  print_hold_line(hold);
  if (hold.pending_until_utc_us) {
    std::printf(
        "  pending until %s: the footage is kept until then unless a director confirms "
        "or rejects the request\n",
        iso(*hold.pending_until_utc_us).c_str());
  }
  return 0;
}

json restriction_json(const firmware::Restriction& restriction) {
  return json{{"id", restriction.id},
              {"camera", restriction.camera},
              {"from", iso(restriction.from_utc_us)},
              {"to", iso(restriction.to_utc_us)},
              {"request", restriction.request_reference},
              {"reason", restriction.reason},
              {"placed_by", restriction.placed_by},
              {"placed", iso(restriction.placed_utc_us)},
              {"in_force", restriction.in_force()},
              {"lifted_by", text_or_null(restriction.lifted_by)},
              {"lifted", optional_time(restriction.lifted_utc_us)},
              {"lift_request", text_or_null(restriction.lift_request_reference)}};
}

json receipts_json(const std::vector<firmware::DeletionReceipt>& receipts) {
  json list = json::array();
  for (const auto& receipt : receipts) {
    list.push_back(json{{"camera", receipt.camera},
                        {"segments", receipt.segments},
                        {"bytes", receipt.bytes},
                        {"from", iso(receipt.from_utc_us)},
                        {"to", iso(receipt.to_utc_us)}});
  }
  return list;
}

json clock_json(const recorder::ClockVerdict& verdict) {
  return json{{"trusted", verdict.trusted()},
              {"problem", verdict.trusted()
                              ? json(nullptr)
                              : json(std::string(recorder::clock_problem_name(verdict.problem)))},
              {"reason", text_or_null(verdict.reason)},
              {"now", iso(verdict.now_utc_us)},
              {"newest_footage", optional_time(verdict.newest_footage_utc_us)}};
}

int cmd_sweep(const Options& options) {
  return with_services(options, false, [&](firmware::Services& services, auto*) {
    firmware::SweepOptions sweep_options;
    sweep_options.manual = true;
    auto report = services.retention.sweep(sweep_options);
    if (!report.ok()) return fail(report.error());
    const auto& r = report.value();
    if (options.json_output) {
      json expired = r.expired_requests;
      std::cout << json{{"refused", r.refused},
                        {"clock", clock_json(r.clock)},
                        {"deleted", receipts_json(r.deleted)},
                        {"expired_requests", expired},
                        {"finished",
                         {{"files_removed", r.finished.files_removed},
                          {"rows_removed", r.finished.rows_removed},
                          {"checkpoint_complete", r.finished.checkpoint_complete}}}}
                       .dump(2)
                << "\n";
    } else if (r.refused) {
      std::fprintf(stderr, "yardwatch: retention sweep refused, nothing deleted: %s\n",
                   r.clock.reason.c_str());
    } else {
      for (int64_t id : r.expired_requests) {
        std::printf("hold request %lld expired (nobody decided within 72 hours)\n",
                    static_cast<long long>(id));
      }
      for (const auto& receipt : r.deleted) {
        std::printf("deleted %lld segment(s) of %s (%s, %s .. %s)\n",
                    static_cast<long long>(receipt.segments), receipt.camera.c_str(),
                    mib(receipt.bytes).c_str(), iso(receipt.from_utc_us).c_str(),
                    iso(receipt.to_utc_us).c_str());
      }
      if (r.deleted.empty()) std::printf("nothing has expired\n");
      if (!r.finished.checkpoint_complete) {
        std::printf("(the catalog's WAL is in use; the files go at the next sweep)\n");
      }
    }
    return r.refused ? kExitRefused : 0;
  });
}

int cmd_trust_clock(const Options& options) {
  return with_services(options, false, [&](firmware::Services& services, auto*) {
    auto verdict = services.retention.trust_clock(firmware::Actor::console());
    if (!verdict.ok()) return fail(verdict.error());
    if (verdict.value().trusted()) {
      std::printf("the clock (%s) is confirmed; retention deletes again at the next sweep\n",
                  iso(verdict.value().now_utc_us).c_str());
      return 0;
    }
    std::fprintf(stderr, "yardwatch: confirmed, but the clock is still not usable: %s\n",
                 verdict.value().reason.c_str());
    return kExitRefused;
  });
}

int cmd_hold_add(const Options& options) {
  firmware::HoldSpec spec;
  spec.cameras = split_list(options.cameras);
  spec.reason = options.reason;
  spec.case_reference = options.case_reference;
  auto from = parse_time(options.from, "--from");
  auto to = parse_time(options.to, "--to");
  auto review_by = firmware::parse_review_by(options.review_by);
  if (!from.ok()) return fail(from.error());
  if (!to.ok()) return fail(to.error());
  if (!review_by.ok()) return fail(review_by.error());
  spec.from_utc_us = from.value();
  spec.to_utc_us = to.value();
  spec.review_by_utc_us = review_by.value();
  return with_services(options, true, [&](firmware::Services& services, auto* principal) {
    // Directors place holds; everyone else who may (viewers) requests one.
    const bool director = firmware::role_allows(principal->role, firmware::Permission::kPlaceHold);
    auto hold = director ? services.holds.place(*principal, spec)
                         : services.holds.request(*principal, spec);
    if (!hold.ok()) return fail(hold.error());
    return print_hold(options, hold.value(),
                      director ? "placed hold " + std::to_string(hold.value().id)
                               : "requested hold " + std::to_string(hold.value().id) +
                                     " (pending: a director must confirm it)");
  });
}

int cmd_hold_list(const Options& options) {
  return with_services(options, true, [&](firmware::Services& services, auto* principal) {
    firmware::HoldFilter filter;
    filter.include_closed = options.all;
    if (!options.camera.empty()) filter.camera = options.camera;
    auto holds = services.holds.list(*principal, filter);
    if (!holds.ok()) return fail(holds.error());
    if (options.json_output) {
      json list = json::array();
      for (const auto& hold : holds.value()) list.push_back(hold_json(hold));
      std::cout << json{{"holds", list}}.dump(2) << "\n";
      return 0;
    }
    for (const auto& hold : holds.value()) print_hold_line(hold);
    if (holds.value().empty()) std::printf("no holds\n");
    return 0;
  });
}

int cmd_hold_show(const Options& options) {
  return with_services(options, true, [&](firmware::Services& services, auto* principal) {
    auto hold = services.holds.get(*principal, options.id);
    if (!hold.ok()) return fail(hold.error());
    if (options.json_output) return print_hold(options, hold.value(), "");
    const auto& h = hold.value();
    print_hold_line(h);
    std::printf("  reason: %s\n  placed by %s at %s\n", h.reason.c_str(), h.created_by.c_str(),
                iso(h.created_utc_us).c_str());
    if (h.pending_until_utc_us) {
      std::printf("  pending until %s\n", iso(*h.pending_until_utc_us).c_str());
    }
    if (h.decided_utc_us) {
      std::printf("  decided by %s at %s %s\n", h.decided_by.c_str(),
                  iso(*h.decided_utc_us).c_str(), h.decision_note.c_str());
    }
    if (h.released_utc_us) {
      std::printf("  released by %s at %s %s\n", h.released_by.c_str(),
                  iso(*h.released_utc_us).c_str(), h.decision_note.c_str());
    }
    return 0;
  });
}

int cmd_hold_decision(const Options& options, const std::string& which) {
  std::optional<int64_t> review_by;
  if (!options.review_by.empty()) {
    auto parsed = firmware::parse_review_by(options.review_by);
    if (!parsed.ok()) return fail(parsed.error());
    review_by = parsed.value();
  }
  return with_services(options, true, [&](firmware::Services& services, auto* principal) {
    Result<firmware::Hold> hold = make_error(ErrorKind::kInternal, "unknown hold command");
    std::string what;
    if (which == "extend") {
      hold = services.holds.extend(*principal, options.id, review_by.value_or(0));
      what = "extended hold " + std::to_string(options.id);
    } else if (which == "release") {
      hold = services.holds.release(*principal, options.id, options.note);
      what = "released hold " + std::to_string(options.id) +
             "; its footage ages out at the next sweep";
    } else if (which == "confirm") {
      hold = services.holds.confirm(*principal, options.id, review_by);
      what = "confirmed hold " + std::to_string(options.id);
    } else if (which == "reject") {
      hold = services.holds.reject(*principal, options.id, options.note);
      what = "rejected hold request " + std::to_string(options.id);
    }
    if (!hold.ok()) return fail(hold.error());
    return print_hold(options, hold.value(), what);
  });
}

int cmd_footage_erase(const Options& options) {
  auto from = parse_time(options.from, "--from");
  auto to = parse_time(options.to, "--to");
  if (!from.ok()) return fail(from.error());
  if (!to.ok()) return fail(to.error());
  return with_services(options, true, [&](firmware::Services& services, auto* principal) {
    auto receipt = services.subject_footage.erase(*principal, options.camera, from.value(),
                                                  to.value(), options.request);
    if (!receipt.ok()) return fail(receipt.error());
    const auto& r = receipt.value();
    if (options.json_output) {
      std::cout << json{{"camera", r.camera},
                        {"from", iso(r.requested_from_utc_us)},
                        {"to", iso(r.requested_to_utc_us)},
                        {"request", r.request_reference},
                        {"segments", r.segments},
                        {"bytes", r.bytes},
                        {"deleted_from", optional_time(r.deleted_from_utc_us)},
                        {"deleted_to", optional_time(r.deleted_to_utc_us)}}
                       .dump(2)
                << "\n";
      return 0;
    }
    if (r.segments == 0) {
      std::printf("no footage of %s in that range; the request is recorded\n", r.camera.c_str());
    } else {
      std::printf("erased %lld segment(s) of %s (%s, whole segments %s .. %s) for request %s\n",
                  static_cast<long long>(r.segments), r.camera.c_str(), mib(r.bytes).c_str(),
                  iso(*r.deleted_from_utc_us).c_str(), iso(*r.deleted_to_utc_us).c_str(),
                  r.request_reference.c_str());
    }
    return 0;
  });
}

int cmd_footage_restrict(const Options& options) {
  auto from = parse_time(options.from, "--from");
  auto to = parse_time(options.to, "--to");
  if (!from.ok()) return fail(from.error());
  if (!to.ok()) return fail(to.error());
  return with_services(options, true, [&](firmware::Services& services, auto* principal) {
    auto restriction = services.subject_footage.restrict_range(
        *principal, options.camera, from.value(), to.value(), options.request, options.reason);
    if (!restriction.ok()) return fail(restriction.error());
    if (options.json_output) {
      std::cout << restriction_json(restriction.value()).dump(2) << "\n";
      return 0;
    }
    std::printf(
        "restriction %lld on %s %s .. %s: not viewable, not exportable, not deleted "
        "until lifted\n",
        static_cast<long long>(restriction.value().id), options.camera.c_str(),
        iso(from.value()).c_str(), iso(to.value()).c_str());
    return 0;
  });
}

int cmd_footage_unrestrict(const Options& options) {
  return with_services(options, true, [&](firmware::Services& services, auto* principal) {
    auto restriction = services.subject_footage.lift(*principal, options.id, options.request);
    if (!restriction.ok()) return fail(restriction.error());
    if (options.json_output) {
      std::cout << restriction_json(restriction.value()).dump(2) << "\n";
      return 0;
    }
    std::printf("lifted restriction %lld; its footage ages out normally\n",
                static_cast<long long>(options.id));
    return 0;
  });
}

int cmd_footage_restrictions(const Options& options) {
  return with_services(options, true, [&](firmware::Services& services, auto* principal) {
    auto restrictions = services.subject_footage.list(*principal, options.all);
    if (!restrictions.ok()) return fail(restrictions.error());
    if (options.json_output) {
      json list = json::array();
      for (const auto& r : restrictions.value()) list.push_back(restriction_json(r));
      std::cout << json{{"restrictions", list}}.dump(2) << "\n";
      return 0;
    }
    for (const auto& r : restrictions.value()) {
      std::printf("restriction %lld  %s  %s .. %s  request %s%s\n", static_cast<long long>(r.id),
                  r.camera.c_str(), iso(r.from_utc_us).c_str(), iso(r.to_utc_us).c_str(),
                  r.request_reference.c_str(), r.in_force() ? "" : "  (lifted)");
    }
    if (restrictions.value().empty()) std::printf("no restrictions\n");
    return 0;
  });
}

int cmd_camera_set(const Options& options) {
  if (!options.retention_days && !options.priority) {
    return fail(make_error(ErrorKind::kInvalidArgument,
                           "give --retention-days and/or --priority to change"));
  }
  auto appliance = open_appliance_as_service(options.arguments);
  if (!appliance.ok()) return fail(appliance.error());
  firmware::Services services(*appliance.value());
  auto camera = firmware::update_camera(appliance.value()->catalog(), services.audit,
                                        firmware::Actor::console(), options.camera,
                                        {options.retention_days, options.priority});
  if (!camera.ok()) return fail(camera.error());
  std::printf("camera %s: retention %d days, priority %d\n", options.camera.c_str(),
              camera.value().spec.retention_days, camera.value().spec.priority);
  return 0;
}

}  // namespace

CommandRunner register_retention_commands(CLI::App& app) {
  auto options = std::make_shared<Options>();
  Options& o = *options;
  auto* retention = app.add_subcommand("retention", "the retention sweep and its clock guard");
  retention->require_subcommand(1);
  auto* sweep = retention->add_subcommand(
      "sweep", "delete expired footage that no hold or restriction keeps (audited as system)");
  add_common(sweep, o, true);
  auto* trust = retention->add_subcommand(
      "trust-clock", "confirm the clock after a jump so that retention deletes again (audited)");
  add_common(trust, o, false);

  auto* hold = app.add_subcommand("hold", "incident holds (directors; viewers may request)");
  hold->require_subcommand(1);
  auto* hold_add = hold->add_subcommand(
      "add", "place a hold (directors) or request one (viewers: pending, kept 72 h)");
  add_common(hold_add, o, true);
  add_sign_in(hold_add, o);
  hold_add->add_option("--camera", o.cameras, "camera name(s), comma-separated")->required();
  hold_add->add_option("--from", o.from, "start of the footage, ISO-8601 UTC")->required();
  hold_add->add_option("--to", o.to, "end of the footage, ISO-8601 UTC")->required();
  hold_add->add_option("--reason", o.reason, "why (5–500 characters)")->required();
  hold_add->add_option("--case", o.case_reference, "case reference")->required();
  hold_add
      ->add_option("--review-by", o.review_by,
                   "date (2027-03-01: end of that day) or timestamp; at most 6 months ahead")
      ->required();
  auto* hold_list = hold->add_subcommand("list", "open holds (--all: also closed ones)");
  add_common(hold_list, o, true);
  add_sign_in(hold_list, o);
  hold_list->add_flag("--all", o.all, "include released, rejected and expired holds");
  hold_list->add_option("--camera", o.camera, "only holds of this camera");
  auto* hold_show = hold->add_subcommand("show", "one hold");
  add_common(hold_show, o, true);
  add_sign_in(hold_show, o);
  hold_show->add_option("id", o.id, "hold id")->required();
  auto* hold_extend = hold->add_subcommand("extend", "a new review-by date (directors)");
  add_common(hold_extend, o, true);
  add_sign_in(hold_extend, o);
  hold_extend->add_option("id", o.id, "hold id")->required();
  hold_extend->add_option("--review-by", o.review_by, "date or timestamp")->required();
  auto* hold_release = hold->add_subcommand("release", "release a hold (directors)");
  add_common(hold_release, o, true);
  add_sign_in(hold_release, o);
  hold_release->add_option("id", o.id, "hold id")->required();
  hold_release->add_option("--note", o.note, "why it is released (recorded)");
  auto* hold_confirm = hold->add_subcommand("confirm", "confirm a viewer's request (directors)");
  add_common(hold_confirm, o, true);
  add_sign_in(hold_confirm, o);
  hold_confirm->add_option("id", o.id, "hold id")->required();
  hold_confirm->add_option("--review-by", o.review_by, "a new review-by date");
  auto* hold_reject = hold->add_subcommand("reject", "reject a viewer's request (directors)");
  add_common(hold_reject, o, true);
  add_sign_in(hold_reject, o);
  hold_reject->add_option("id", o.id, "hold id")->required();
  hold_reject->add_option("--note", o.note, "why (recorded, shown to the requester)")->required();

  auto* footage = app.add_subcommand("footage", "erasure and restriction on request (R7)");
  footage->require_subcommand(1);
  auto* erase = footage->add_subcommand("erase", "delete a range now (directors; not if held)");
  auto* restrict_command = footage->add_subcommand(
      "restrict", "block viewing, export and deletion of a range (directors)");
  for (auto* command : {erase, restrict_command}) {
    add_common(command, o, true);
    add_sign_in(command, o);
    command->add_option("--camera", o.camera, "camera name")->required();
    command->add_option("--from", o.from, "ISO-8601 UTC")->required();
    command->add_option("--to", o.to, "ISO-8601 UTC")->required();
    command->add_option("--request", o.request, "reference of the data subject's request")
        ->required();
  }
  restrict_command->add_option("--reason", o.reason, "why (recorded)");
  auto* unrestrict = footage->add_subcommand("unrestrict", "lift a restriction (directors)");
  add_common(unrestrict, o, true);
  add_sign_in(unrestrict, o);
  unrestrict->add_option("id", o.id, "restriction id")->required();
  unrestrict->add_option("--request", o.request, "reference of the request that lifts it")
      ->required();
  auto* restrictions =
      footage->add_subcommand("restrictions", "restrictions in force (--all: also lifted ones)");
  add_common(restrictions, o, true);
  add_sign_in(restrictions, o);
  restrictions->add_flag("--all", o.all, "include lifted restrictions");

  CLI::App* camera_set = nullptr;
  if (auto* camera = app.get_subcommand("camera"); camera != nullptr) {
    camera_set = camera->add_subcommand("set", "change a camera's retention or priority");
    add_common(camera_set, o, false);
    camera_set->add_option("--name", o.camera, "camera name")->required();
    camera_set->add_option("--retention-days", o.retention_days, "1–28 days (R2)");
    camera_set->add_option("--priority", o.priority,
                           "0–100, higher records longer when only held footage is left");
  }

  return [=]() -> std::optional<int> {
    const Options& opts = *options;
    if (sweep->parsed()) return cmd_sweep(opts);
    if (trust->parsed()) return cmd_trust_clock(opts);
    if (hold_add->parsed()) return cmd_hold_add(opts);
    if (hold_list->parsed()) return cmd_hold_list(opts);
    if (hold_show->parsed()) return cmd_hold_show(opts);
    if (hold_extend->parsed()) return cmd_hold_decision(opts, "extend");
    if (hold_release->parsed()) return cmd_hold_decision(opts, "release");
    if (hold_confirm->parsed()) return cmd_hold_decision(opts, "confirm");
    if (hold_reject->parsed()) return cmd_hold_decision(opts, "reject");
    if (erase->parsed()) return cmd_footage_erase(opts);
    if (restrict_command->parsed()) return cmd_footage_restrict(opts);
    if (unrestrict->parsed()) return cmd_footage_unrestrict(opts);
    if (restrictions->parsed()) return cmd_footage_restrictions(opts);
    if (camera_set != nullptr && camera_set->parsed()) return cmd_camera_set(opts);
    return std::nullopt;
  };
}

void add_retention_status(json& status, firmware::Services& services) {
  auto retention = services.retention.status();
  if (!retention.ok()) {
    status["retention"] = json{{"error", retention.error().message}};
    return;
  }
  const auto& r = retention.value();
  json overdue = json::array();
  for (const auto& hold : r.overdue_holds) {
    overdue.push_back(json{{"id", hold.id},
                           {"case", hold.case_reference},
                           {"cameras", hold.cameras},
                           {"review_by", iso(hold.review_by_utc_us)}});
  }
  status["retention"] =
      json{{"clock", clock_json(r.clock)},
           {"holds",
            {{"active", r.active_holds}, {"pending", r.pending_requests}, {"overdue", overdue}}},
           {"restrictions_in_force", r.restrictions_in_force}};
  for (auto& entry : status["cameras"]) {
    for (const auto& camera : r.cameras) {
      if (entry["name"] != camera.camera) continue;
      entry["retention_days"] = camera.retention_days;
      entry["effective_retention_days"] = camera.effective_retention_days;
      entry["priority"] = camera.priority;
    }
  }
}

void print_retention_status(const json& status) {
  if (!status.contains("retention") || status["retention"].contains("error")) return;
  const json& retention = status["retention"];
  if (retention["clock"]["trusted"].get<bool>()) {
    std::printf("  retention: running (clock trusted)\n");
  } else {
    std::printf("  retention: PAUSED — %s\n",
                retention["clock"]["reason"].get<std::string>().c_str());
  }
  for (const auto& camera : status["cameras"]) {
    if (!camera.contains("retention_days")) continue;
    const int days = camera["retention_days"].get<int>();
    const int effective = camera["effective_retention_days"].get<int>();
    if (effective < days) {
      std::printf("  %s: effective retention %d of %d days (deleted early for space)\n",
                  camera["name"].get<std::string>().c_str(), effective, days);
    }
  }
  std::printf("  holds: %lld active, %lld pending requests; %lld restriction(s) in force\n",
              static_cast<long long>(retention["holds"]["active"].get<int64_t>()),
              static_cast<long long>(retention["holds"]["pending"].get<int64_t>()),
              static_cast<long long>(retention["restrictions_in_force"].get<int64_t>()));
  for (const auto& hold : retention["holds"]["overdue"]) {
    std::printf("  OVERDUE hold %lld (case %s): review was due %s\n",
                static_cast<long long>(hold["id"].get<int64_t>()),
                hold["case"].get<std::string>().c_str(),
                hold["review_by"].get<std::string>().c_str());
  }
}

}  // namespace yardwatch::cli
