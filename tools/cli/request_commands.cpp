#include "request_commands.h"

#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "appliance_commands.h"
#include "console_session.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/hal/clock.h"

namespace yardwatch::cli {

namespace {

using nlohmann::json;

std::string iso(int64_t utc_us) { return hal::format_iso8601_utc(utc_us); }

json optional_time(const std::optional<int64_t>& utc_us) {
  return utc_us ? json(iso(*utc_us)) : json(nullptr);
}

json text_or_null(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

struct Options {
  firmware::ApplianceArguments arguments;  // resolved with the configuration file and board
  bool json_output = false;
  SignInOptions sign_in;
  std::string reference;
  std::string kind;
  std::string name;
  std::string contact;
  std::string description;
  std::string received;
  std::vector<std::string> footage;
  std::string deadline;
  std::string reason;
  std::string outcome;
  std::string note;
  std::optional<int64_t> hold;
  std::optional<int64_t> restriction;
  bool all = false;
  bool due = false;
};

void add_common(CLI::App* command, Options& options, bool with_json) {
  add_appliance_options(command, options.arguments);
  if (with_json) command->add_flag("--json", options.json_output, "machine-readable output");
}

void add_sign_in(CLI::App* command, Options& options) {
  add_sign_in_options(command, options.sign_in);
}

// CAMERA=FROM/TO
Result<firmware::FootageConcernedSpec> parse_footage(const std::string& text) {
  const size_t equals = text.find('=');
  const size_t slash = text.find('/', equals == std::string::npos ? 0 : equals);
  if (equals == std::string::npos || slash == std::string::npos || equals == 0) {
    return make_error(ErrorKind::kInvalidArgument,
                      "--footage takes CAMERA=FROM/TO (ISO-8601 UTC), not '" + text + "'");
  }
  firmware::FootageConcernedSpec spec;
  spec.camera = text.substr(0, equals);
  YW_ASSIGN_OR_RETURN(spec.from_utc_us,
                      parse_time(text.substr(equals + 1, slash - equals - 1), "--footage from"));
  YW_ASSIGN_OR_RETURN(spec.to_utc_us, parse_time(text.substr(slash + 1), "--footage to"));
  return spec;
}

// Opens the appliance and its services, signs the person in if the command needs one, and runs
// the body (console_session.h). The appliance's clock (hal::Clock) is the time of "now".
int with_principal(
    const Options& options, bool sign_in,
    const std::function<int(firmware::Services&, const firmware::Principal*, int64_t now)>& body) {
  return with_session(options.arguments, options.sign_in,
                      sign_in ? SignInWhen::kAlways : SignInWhen::kNever,
                      [&](ConsoleSession& session) {
                        return body(session.services, session.principal, session.now_utc_us);
                      });
}

json request_json(const firmware::SubjectRequest& r) {
  json footage = json::array();
  for (const auto& f : r.footage) {
    footage.push_back(
        json{{"camera", f.camera}, {"from", iso(f.from_utc_us)}, {"to", iso(f.to_utc_us)}});
  }
  json actions = json::array();
  for (const auto& a : r.actions) {
    actions.push_back(json{{"kind", std::string(firmware::request_action_name(a.kind))},
                           {"object", text_or_null(a.object_id)},
                           {"summary", a.summary},
                           {"by", a.linked_by},
                           {"at", iso(a.linked_utc_us)}});
  }
  return json{
      {"reference", r.reference},
      {"kind", std::string(firmware::request_kind_name(r.kind))},
      {"status", r.open() ? (r.overdue ? "overdue" : (r.due_soon ? "due" : "open")) : "closed"},
      {"requester", text_or_null(r.requester_name)},
      {"contact", text_or_null(r.requester_contact)},
      {"description", text_or_null(r.description)},
      {"footage", footage},
      {"received", iso(r.received_utc_us)},
      {"deadline", iso(r.deadline_utc_us)},
      {"extended", optional_time(r.extended_utc_us)},
      {"extension_reason", text_or_null(r.extension_reason)},
      {"extended_by", text_or_null(r.extended_by)},
      {"outcome",
       r.outcome ? json(std::string(firmware::request_outcome_name(*r.outcome))) : json(nullptr)},
      {"closing_note", text_or_null(r.closing_note)},
      {"closed", optional_time(r.closed_utc_us)},
      {"closed_by", text_or_null(r.closed_by)},
      {"registered_by", r.registered_by},
      {"registered", iso(r.registered_utc_us)},
      {"minimised", optional_time(r.minimised_utc_us)},
      {"actions", actions}};
}

void print_request_line(const firmware::SubjectRequest& r) {
  const std::string status =
      r.open() ? (r.overdue ? "OVERDUE" : (r.due_soon ? "due soon" : "open"))
               : "closed (" + std::string(firmware::request_outcome_name(*r.outcome)) + ")";
  std::printf("%-20s %-12s %-20s deadline %s%s, %zu action(s)\n", r.reference.c_str(),
              std::string(firmware::request_kind_name(r.kind)).c_str(), status.c_str(),
              iso(r.deadline_utc_us).c_str(), r.extended_utc_us ? " (extended)" : "",
              r.actions.size());
}

int print_request(const Options& options, const firmware::SubjectRequest& r) {
  if (options.json_output) {
    std::printf("%s\n", request_json(r).dump(2).c_str());
    return 0;
  }
  print_request_line(r);
  if (!r.requester_name.empty()) {
    std::printf("  requester: %s%s%s\n", r.requester_name.c_str(),
                r.requester_contact.empty() ? "" : ", ", r.requester_contact.c_str());
  }
  if (!r.description.empty()) std::printf("  asked: %s\n", r.description.c_str());
  std::printf("  received %s, registered by %s\n", iso(r.received_utc_us).c_str(),
              r.registered_by.c_str());
  for (const auto& f : r.footage) {
    std::printf("  footage: %s %s – %s\n", f.camera.c_str(), iso(f.from_utc_us).c_str(),
                iso(f.to_utc_us).c_str());
  }
  if (r.extended_utc_us) {
    std::printf("  extended by %s on %s: %s\n", r.extended_by.c_str(),
                iso(*r.extended_utc_us).c_str(), r.extension_reason.c_str());
  }
  for (const auto& a : r.actions) {
    std::printf("  %s %s by %s: %s\n", iso(a.linked_utc_us).c_str(),
                std::string(firmware::request_action_name(a.kind)).c_str(), a.linked_by.c_str(),
                a.summary.c_str());
  }
  if (r.closed_utc_us) {
    std::printf("  closed by %s on %s%s%s\n", r.closed_by.c_str(), iso(*r.closed_utc_us).c_str(),
                r.closing_note.empty() ? "" : ": ", r.closing_note.c_str());
  }
  return 0;
}

int cmd_add(const Options& o) {
  const auto kind = firmware::parse_request_kind(o.kind);
  if (!kind) {
    return fail(make_error(ErrorKind::kInvalidArgument,
                           "--kind is access (inzage), objection (bezwaar), erasure "
                           "(verwijdering) or restriction (beperking)"));
  }
  firmware::NewSubjectRequest request;
  request.reference = o.reference;
  request.kind = *kind;
  request.requester_name = o.name;
  request.requester_contact = o.contact;
  request.description = o.description;
  for (const auto& text : o.footage) {
    auto spec = parse_footage(text);
    if (!spec.ok()) return fail(spec.error());
    request.footage.push_back(spec.value());
  }
  return with_principal(
      o, true, [&](firmware::Services& services, const firmware::Principal* by, int64_t now) {
        if (o.received.empty()) {
          request.received_utc_us = now;
        } else {
          auto received = parse_time(o.received, "--received");
          if (!received.ok()) return fail(received.error());
          request.received_utc_us = received.value();
        }
        auto added = services.requests.add(*by, request);
        if (!added.ok()) return fail(added.error());
        return print_request(o, added.value());
      });
}

int cmd_list(const Options& o) {
  return with_principal(o, true,
                        [&](firmware::Services& services, const firmware::Principal* by, int64_t) {
                          firmware::RequestFilter filter;
                          filter.include_closed = o.all;
                          filter.due_only = o.due;
                          auto requests = services.requests.list(*by, filter);
                          if (!requests.ok()) return fail(requests.error());
                          if (o.json_output) {
                            json out = json::array();
                            for (const auto& r : requests.value()) out.push_back(request_json(r));
                            std::printf("%s\n", out.dump(2).c_str());
                            return 0;
                          }
                          if (requests.value().empty())
                            std::printf(o.due ? "nothing is due\n" : "no requests\n");
                          for (const auto& r : requests.value()) print_request_line(r);
                          return 0;
                        });
}

// The subject access exports made for a request (R7; firmware/design/subject_export.md).
int cmd_exports(const Options& o) {
  return with_principal(
      o, true, [&](firmware::Services& services, const firmware::Principal* by, int64_t) {
        auto exports = services.subject_exports.list(*by, o.reference);
        if (!exports.ok()) return fail(exports.error());
        if (o.json_output) {
          json out = json::array();
          for (const auto& e : exports.value()) {
            out.push_back(json{{"id", e.id},
                               {"request_reference", e.request_reference},
                               {"camera", e.camera},
                               {"from", iso(e.from_utc_us)},
                               {"to", iso(e.to_utc_us)},
                               {"blur_outside_selection", e.blur_outside_selection},
                               {"created", iso(e.created_utc_us)},
                               {"created_by", e.created_by},
                               {"reviewed_by", text_or_null(e.reviewed_by)},
                               {"reviewed", optional_time(e.reviewed_utc_us)},
                               {"target", e.target},
                               {"state", e.state},
                               {"finished", optional_time(e.finished_utc_us)},
                               {"manifest_sha256", text_or_null(e.manifest_sha256)},
                               {"error", text_or_null(e.error)}});
          }
          std::printf("%s\n", out.dump(2).c_str());
          return 0;
        }
        if (exports.value().empty())
          std::printf("no subject exports for %s\n", o.reference.c_str());
        for (const auto& e : exports.value()) {
          std::printf("%s  %s  %s %s – %s  reviewed by %s  %s  %s\n", e.id.c_str(), e.state.c_str(),
                      e.camera.c_str(), iso(e.from_utc_us).c_str(), iso(e.to_utc_us).c_str(),
                      e.reviewed_by.c_str(), e.target.c_str(), e.error.c_str());
        }
        return 0;
      });
}

int cmd_show(const Options& o) {
  return with_principal(o, true,
                        [&](firmware::Services& services, const firmware::Principal* by, int64_t) {
                          auto request = services.requests.get(*by, o.reference);
                          if (!request.ok()) return fail(request.error());
                          return print_request(o, request.value());
                        });
}

int cmd_extend(const Options& o) {
  auto deadline = parse_time(o.deadline, "--deadline");
  if (!deadline.ok()) return fail(deadline.error());
  return with_principal(
      o, true, [&](firmware::Services& services, const firmware::Principal* by, int64_t) {
        auto request = services.requests.extend(*by, o.reference, deadline.value(), o.reason);
        if (!request.ok()) return fail(request.error());
        return print_request(o, request.value());
      });
}

int cmd_close(const Options& o) {
  const auto outcome = firmware::parse_request_outcome(o.outcome);
  if (!outcome) {
    return fail(make_error(ErrorKind::kInvalidArgument,
                           "--outcome is granted, partially_granted, refused or withdrawn"));
  }
  return with_principal(
      o, true, [&](firmware::Services& services, const firmware::Principal* by, int64_t) {
        auto request = services.requests.close(*by, o.reference, *outcome, o.note);
        if (!request.ok()) return fail(request.error());
        return print_request(o, request.value());
      });
}

int cmd_link(const Options& o) {
  if (o.hold.has_value() == o.restriction.has_value()) {
    return fail(make_error(ErrorKind::kInvalidArgument, "give --hold ID or --restriction ID"));
  }
  return with_principal(
      o, true, [&](firmware::Services& services, const firmware::Principal* by, int64_t) {
        auto request = o.hold ? services.requests.link(*by, o.reference,
                                                       firmware::RequestActionKind::kHold, *o.hold)
                              : services.requests.link(*by, o.reference,
                                                       firmware::RequestActionKind::kRestriction,
                                                       *o.restriction);
        if (!request.ok()) return fail(request.error());
        return print_request(o, request.value());
      });
}

int cmd_purge(const Options& o) {
  return with_principal(o, false,
                        [&](firmware::Services& services, const firmware::Principal*, int64_t) {
                          auto purge = services.requests.purge_closed();
                          if (!purge.ok()) return fail(purge.error());
                          if (o.json_output) {
                            std::printf("%s\n", json{{"removed", purge.value().requests},
                                                     {"references", purge.value().references}}
                                                    .dump(2)
                                                    .c_str());
                          } else {
                            std::printf("removed %lld closed request(s)\n",
                                        static_cast<long long>(purge.value().requests));
                          }
                          return 0;
                        });
}

}  // namespace

RequestCommandRunner register_request_commands(CLI::App& app) {
  auto options = std::make_shared<Options>();
  Options& o = *options;
  auto* requests = app.add_subcommand(
      "requests", "the register of data subjects' requests (R7): directors; privacy officers read");
  requests->require_subcommand(1);

  auto* add = requests->add_subcommand("add", "register a request (directors)");
  add_common(add, o, true);
  add_sign_in(add, o);
  add->add_option("--reference", o.reference, "the school's reference, unique")->required();
  add->add_option("--kind", o.kind, "access|objection|erasure|restriction (or the Dutch names)")
      ->required();
  add->add_option("--name", o.name, "who asked (cleared when the request is closed)")->required();
  add->add_option("--contact", o.contact, "one way to reach them (cleared when closed)");
  add->add_option("--description", o.description, "what was asked, in a line");
  add->add_option("--received", o.received, "when it was received, ISO-8601 UTC (default: now)");
  add->add_option("--footage", o.footage, "CAMERA=FROM/TO, repeatable: the footage concerned");

  auto* list = requests->add_subcommand("list", "open requests, earliest deadline first");
  add_common(list, o, true);
  add_sign_in(list, o);
  list->add_flag("--all", o.all, "also closed requests");
  list->add_flag("--due", o.due, "only overdue requests and those due within 7 days");

  auto* show = requests->add_subcommand("show", "one request with its actions");
  add_common(show, o, true);
  add_sign_in(show, o);
  show->add_option("--reference", o.reference, "the request")->required();

  auto* exports = requests->add_subcommand(
      "exports", "the subject access exports made for a request (directors, privacy officers)");
  add_common(exports, o, true);
  add_sign_in(exports, o);
  exports->add_option("reference,--reference", o.reference, "the request")->required();

  auto* extend =
      requests->add_subcommand("extend", "extend the deadline once, to at most 12 weeks");
  add_common(extend, o, true);
  add_sign_in(extend, o);
  extend->add_option("--reference", o.reference, "the request")->required();
  extend->add_option("--deadline", o.deadline, "the new deadline, ISO-8601 UTC")->required();
  extend->add_option("--reason", o.reason, "why (told to the requester)")->required();

  auto* close = requests->add_subcommand("close", "close with an outcome (drops who asked)");
  add_common(close, o, true);
  add_sign_in(close, o);
  close->add_option("--reference", o.reference, "the request")->required();
  close->add_option("--outcome", o.outcome, "granted|partially_granted|refused|withdrawn")
      ->required();
  close->add_option("--note", o.note, "a line on the answer");

  auto* link = requests->add_subcommand("link", "link a hold or restriction to a request");
  add_common(link, o, true);
  add_sign_in(link, o);
  link->add_option("--reference", o.reference, "the request")->required();
  link->add_option("--hold", o.hold, "hold id");
  link->add_option("--restriction", o.restriction, "restriction id");

  auto* purge = requests->add_subcommand(
      "purge", "remove requests closed more than 2 years ago (audited as system)");
  add_common(purge, o, true);

  return [=]() -> std::optional<int> {
    const Options& opts = *options;
    if (add->parsed()) return cmd_add(opts);
    if (list->parsed()) return cmd_list(opts);
    if (show->parsed()) return cmd_show(opts);
    if (exports->parsed()) return cmd_exports(opts);
    if (extend->parsed()) return cmd_extend(opts);
    if (close->parsed()) return cmd_close(opts);
    if (link->parsed()) return cmd_link(opts);
    if (purge->parsed()) return cmd_purge(opts);
    return std::nullopt;
  };
}

}  // namespace yardwatch::cli
