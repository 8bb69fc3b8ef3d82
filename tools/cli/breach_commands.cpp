#include "breach_commands.h"

#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "appliance_commands.h"
#include "console_session.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/breaches.h"
#include "yardwatch/firmware/dpia.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/hal/clock.h"

namespace yardwatch::cli {

namespace {

using nlohmann::json;

constexpr int64_t kMicrosPerHour = 3600LL * 1'000'000;

std::string iso(int64_t utc_us) { return hal::format_iso8601_utc(utc_us); }

json text_or_null(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

// Whole hours left, rounded down: -1 within the first hour past the deadline.
int64_t hours_left(int64_t remaining_us) {
  return remaining_us >= 0 ? remaining_us / kMicrosPerHour
                           : -((-remaining_us + kMicrosPerHour - 1) / kMicrosPerHour);
}

template <typename T>
json value_or_null(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

struct Options {
  firmware::ApplianceArguments arguments;  // resolved with the configuration file and board
  bool json_output = false;
  SignInOptions sign_in;  // no user: the appliance console (reading only)
  int64_t id = 0;
  bool open_only = false;
  std::string description;
  std::string personal_data;
  std::string encrypted = "unknown";
  std::string assessment;
  std::string detected;
  bool report = false;
  bool no_report = false;
  std::string reasoning;
  std::string reference;
};

void add_common(CLI::App* command, Options& options) {
  add_appliance_options(command, options.arguments);
  command->add_flag("--json", options.json_output, "machine-readable output");
}

void add_sign_in(CLI::App* command, Options& options, bool required) {
  add_sign_in_options(
      command, options.sign_in, required,
      required ? "your personal account (a director)"
               : "your personal account (director or privacy officer; default: the console)");
}

// Opens the appliance as the service user, signs the person in when --user is given (else
// nullptr: the console) and runs the body (console_session.h).
int with_register(
    const Options& options,
    const std::function<int(firmware::Services&, const firmware::Principal*, int64_t now)>& body) {
  return with_session(options.arguments, options.sign_in, SignInWhen::kWhenUserGiven,
                      [&](ConsoleSession& session) {
                        return body(session.services, session.principal, session.now_utc_us);
                      });
}

json breach_json(const firmware::Breach& b) {
  return json{{"id", b.id},
              {"source", b.source},
              {"kind", b.kind},
              {"alarm_id", value_or_null(b.alarm_id)},
              {"camera_id", value_or_null(b.camera_id)},
              {"detected", iso(b.detected_utc_us)},
              {"description", b.description},
              {"personal_data", b.personal_data},
              {"encrypted_inaccessible", b.encrypted_inaccessible},
              {"assessment", text_or_null(b.assessment)},
              {"deadline", iso(b.deadline_utc_us)},
              {"overdue", b.overdue},
              {"hours_left", hours_left(b.remaining_us)},
              {"registered", iso(b.registered_utc_us)},
              {"registered_by", b.registered_by},
              {"decision", value_or_null(b.decision)},
              {"reasoning", text_or_null(b.reasoning)},
              {"report_reference", text_or_null(b.report_reference)},
              {"decided_by", text_or_null(b.decided_by)},
              {"decided", b.decided_utc_us ? json(iso(*b.decided_utc_us)) : json(nullptr)}};
}

std::string status_of(const firmware::Breach& b) {
  if (b.decision) return *b.decision == "report" ? "reported" : "not reported";
  return b.overdue ? "OVERDUE" : "undecided";
}

void print_breach_line(const firmware::Breach& b) {
  std::printf("%-5lld %s  %-20s %-13s deadline %s  %s\n", static_cast<long long>(b.id),
              iso(b.detected_utc_us).c_str(), b.kind.c_str(), status_of(b).c_str(),
              iso(b.deadline_utc_us).c_str(),
              b.description.substr(0, b.description.find('\n')).c_str());
}

int print_breach(const Options& options, const firmware::Breach& b) {
  if (options.json_output) {
    std::printf("%s\n", breach_json(b).dump(2).c_str());
    return 0;
  }
  print_breach_line(b);
  std::printf("  registered %s by %s (%s)\n", iso(b.registered_utc_us).c_str(),
              b.registered_by.c_str(), b.source.c_str());
  std::printf("  personal data affected: %s; encrypted and inaccessible: %s\n",
              b.personal_data.c_str(), b.encrypted_inaccessible.c_str());
  if (!b.assessment.empty()) std::printf("  assessment: %s\n", b.assessment.c_str());
  if (b.decision) {
    std::printf("  decided %s by %s: %s — %s\n", iso(*b.decided_utc_us).c_str(),
                b.decided_by.c_str(), b.decision->c_str(), b.reasoning.c_str());
    if (!b.report_reference.empty()) {
      std::printf("  report reference: %s\n", b.report_reference.c_str());
    }
  } else {
    std::printf("  not decided yet: %lld h left to report to the Autoriteit Persoonsgegevens\n",
                static_cast<long long>(hours_left(b.remaining_us)));
  }
  return 0;
}

int cmd_list(const Options& o) {
  return with_register(o,
                       [&](firmware::Services& services, const firmware::Principal* by, int64_t) {
                         auto entries = services.breaches.list(by);
                         if (!entries.ok()) return fail(entries.error());
                         std::vector<firmware::Breach> shown;
                         for (auto& entry : entries.value()) {
                           if (!o.open_only || !entry.decision) shown.push_back(std::move(entry));
                         }
                         if (o.json_output) {
                           json out = json::array();
                           for (const auto& b : shown) out.push_back(breach_json(b));
                           std::printf("%s\n", out.dump(2).c_str());
                           return 0;
                         }
                         if (shown.empty())
                           std::printf(o.open_only ? "nothing to decide\n" : "no breaches\n");
                         for (const auto& b : shown) print_breach_line(b);
                         return 0;
                       });
}

int cmd_show(const Options& o) {
  return with_register(o,
                       [&](firmware::Services& services, const firmware::Principal* by, int64_t) {
                         auto entry = services.breaches.get(by, o.id);
                         if (!entry.ok()) return fail(entry.error());
                         return print_breach(o, entry.value());
                       });
}

int cmd_add(const Options& o) {
  firmware::ManualBreach breach;
  breach.description = o.description;
  breach.personal_data = o.personal_data;
  breach.encrypted_inaccessible = o.encrypted;
  breach.assessment = o.assessment;
  return with_register(
      o, [&](firmware::Services& services, const firmware::Principal* by, int64_t now) {
        breach.detected_utc_us = now;
        if (!o.detected.empty()) {
          auto detected = hal::parse_iso8601_utc_us(o.detected);
          if (!detected.ok()) {
            return fail(
                make_error(ErrorKind::kInvalidArgument, "--detected: " + detected.error().message));
          }
          breach.detected_utc_us = detected.value();
        }
        auto added = services.breaches.register_manual(*by, breach);
        if (!added.ok()) return fail(added.error());
        return print_breach(o, added.value());
      });
}

int cmd_decide(const Options& o) {
  if (o.report == o.no_report) {
    return fail(make_error(ErrorKind::kInvalidArgument, "give --report or --no-report"));
  }
  firmware::BreachDecision decision;
  decision.decision = o.report ? "report" : "not_report";
  decision.reasoning = o.reasoning;
  decision.report_reference = o.reference;
  if (!o.personal_data.empty()) decision.personal_data = o.personal_data;
  return with_register(o,
                       [&](firmware::Services& services, const firmware::Principal* by, int64_t) {
                         auto decided = services.breaches.decide(*by, o.id, decision);
                         if (!decided.ok()) return fail(decided.error());
                         return print_breach(o, decided.value());
                       });
}

int cmd_dpia_status(const Options& o) {
  return with_register(o, [&](firmware::Services& services, const firmware::Principal*, int64_t) {
    auto status = services.dpia.status();
    if (!status.ok()) return fail(status.error());
    const firmware::DpiaStatus& s = status.value();
    const std::string state(firmware::dpia_state_name(s.state));
    if (o.json_output) {
      std::printf("%s\n", json{{"state", state},
                               {"warning", s.warning()},
                               {"date", value_or_null(s.date)},
                               {"due", value_or_null(s.due_date)},
                               {"days_left", value_or_null(s.days_left)}}
                              .dump(2)
                              .c_str());
      return 0;
    }
    if (!s.date) {
      std::printf(
          "WARNING: no DPIA date recorded: the appliance cannot show that a DPIA was done.\n"
          "  Record it: yardwatch setting set %s YYYY-MM-DD\n",
          firmware::kDpiaDateSetting);
      return 0;
    }
    std::printf("last DPIA %s; next due %s (%lld days)\n", s.date->c_str(), s.due_date->c_str(),
                static_cast<long long>(*s.days_left));
    if (s.state == firmware::DpiaState::kDueSoon) {
      std::printf("WARNING: the DPIA review is due within %d days\n", firmware::kDpiaWarningDays);
    } else if (s.state == firmware::DpiaState::kOverdue) {
      std::printf("WARNING: the DPIA review is overdue (R10: at least every %d years)\n",
                  firmware::kDpiaReviewYears);
    }
    return 0;
  });
}

}  // namespace

BreachCommandRunner register_breach_commands(CLI::App& app) {
  auto options = std::make_shared<Options>();
  Options& o = *options;
  auto* breaches = app.add_subcommand(
      "breaches", "the breach register (R8): directors decide; privacy officers read");
  breaches->require_subcommand(1);

  auto* list = breaches->add_subcommand("list", "every entry, newest first (audited)");
  add_common(list, o);
  add_sign_in(list, o, false);
  list->add_flag("--open", o.open_only, "only entries nobody decided on yet");

  auto* show = breaches->add_subcommand("show", "one entry (audited)");
  add_common(show, o);
  add_sign_in(show, o, false);
  show->add_option("id", o.id, "the entry's id")->required();

  auto* add = breaches->add_subcommand("add", "register an incident by hand (directors)");
  add_common(add, o);
  add_sign_in(add, o, true);
  add->add_option("--description", o.description, "what happened (10–2000 characters)")->required();
  add->add_option("--personal-data", o.personal_data, "were personal data affected")
      ->required()
      ->check(CLI::IsMember({"yes", "no", "unknown"}));
  add->add_option("--encrypted", o.encrypted,
                  "were the data encrypted and inaccessible (default unknown)")
      ->check(CLI::IsMember({"yes", "partly", "no", "not_applicable", "unknown"}));
  add->add_option("--assessment", o.assessment, "what is known about encryption and access");
  add->add_option("--detected", o.detected, "when it was detected, ISO-8601 UTC (default: now)");

  auto* decide = breaches->add_subcommand(
      "decide", "report to the Autoriteit Persoonsgegevens or not, and why (directors)");
  add_common(decide, o);
  add_sign_in(decide, o, true);
  decide->add_option("id", o.id, "the entry's id")->required();
  auto* report = decide->add_flag("--report", o.report, "it is reported (or will be)");
  auto* no_report = decide->add_flag("--no-report", o.no_report, "it is not reported");
  report->excludes(no_report);
  decide->add_option("--reasoning", o.reasoning, "why (10–2000 characters)")->required();
  decide->add_option("--personal-data", o.personal_data, "revise: were personal data affected")
      ->check(CLI::IsMember({"yes", "no", "unknown"}));
  decide->add_option("--reference", o.reference, "the authority's reference, once reported");

  auto* dpia = app.add_subcommand("dpia", "the DPIA reminder (R10)");
  dpia->require_subcommand(1);
  auto* dpia_status =
      dpia->add_subcommand("status", "the last DPIA, when the next is due, and any warning");
  add_common(dpia_status, o);

  return [=]() -> std::optional<int> {
    const Options& opts = *options;
    if (list->parsed()) return cmd_list(opts);
    if (show->parsed()) return cmd_show(opts);
    if (add->parsed()) return cmd_add(opts);
    if (decide->parsed()) return cmd_decide(opts);
    if (dpia_status->parsed()) return cmd_dpia_status(opts);
    return std::nullopt;
  };
}

}  // namespace yardwatch::cli
