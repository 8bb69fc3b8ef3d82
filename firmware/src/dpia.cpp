#include "yardwatch/firmware/dpia.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "yardwatch/firmware/settings.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

namespace {

namespace chrono = std::chrono;

constexpr int64_t kDayUs = 24LL * 3600 * 1'000'000;
constexpr const char* kWarningLatch = "dpia.warning";

int digits(std::string_view text) {
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

std::optional<chrono::year_month_day> parse_civil_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const int year = digits(text.substr(0, 4));
  const int month = digits(text.substr(5, 2));
  const int day = digits(text.substr(8, 2));
  if (year < 2000 || year > 2999 || month < 1 || day < 1) return std::nullopt;
  chrono::year_month_day date{chrono::year{year}, chrono::month{static_cast<unsigned>(month)},
                              chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  return date;
}

std::string format_civil_date(chrono::year_month_day date) {
  char text[16];
  std::snprintf(text, sizeof(text), "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

int64_t civil_date_utc_us(chrono::year_month_day date) {
  const auto days = chrono::sys_days(date).time_since_epoch().count();
  return static_cast<int64_t>(days) * kDayUs;
}

std::string_view dpia_state_name(DpiaState state) {
  switch (state) {
    case DpiaState::kUnknown:
      return "unknown";
    case DpiaState::kCurrent:
      return "current";
    case DpiaState::kDueSoon:
      return "due_soon";
    case DpiaState::kOverdue:
      return "overdue";
  }
  return "unknown";
}

DpiaStatus dpia_status_at(std::optional<chrono::year_month_day> date, int64_t now_utc_us) {
  DpiaStatus status;
  if (!date) return status;
  // Three years on; a DPIA of 29 February is due on 1 March (sys_days normalises the day).
  const chrono::year_month_day mark =
      (date->year() + chrono::years{kDpiaReviewYears}) / date->month() / date->day();
  const chrono::year_month_day due{chrono::sys_days(mark)};
  status.date = format_civil_date(*date);
  status.due_date = format_civil_date(due);
  status.due_utc_us = civil_date_utc_us(due);
  const int64_t until = *status.due_utc_us - now_utc_us;
  // Whole days left, rounded down (so "0" on the last day and "-1" the day after).
  status.days_left = until >= 0 ? until / kDayUs : -((-until + kDayUs - 1) / kDayUs);
  if (until <= 0) {
    status.state = DpiaState::kOverdue;
  } else if (until <= static_cast<int64_t>(kDpiaWarningDays) * kDayUs) {
    status.state = DpiaState::kDueSoon;
  } else {
    status.state = DpiaState::kCurrent;
  }
  return status;
}

DpiaService::DpiaService(recorder::Catalog& catalog, const hal::Clock& clock, AuditJournal& audit)
    : catalog_(catalog), clock_(clock), audit_(audit) {}

Result<DpiaStatus> DpiaService::status() {
  auto value = get_setting(catalog_, kDpiaDateSetting);
  if (!value.ok() && value.error().kind != ErrorKind::kNotFound) return std::move(value).error();
  std::optional<chrono::year_month_day> date;
  if (value.ok()) date = parse_civil_date(value.value());
  return dpia_status_at(date, clock_.now_utc_us());
}

Result<DpiaStatus> DpiaService::set_date(const Principal& by, const std::string& date) {
  AuditEvent event;
  event.action = "setting_change";
  event.object_type = "setting";
  event.object_id = kDpiaDateSetting;
  YW_TRY(authorize(audit_, by, Permission::kManageComplianceRecords, std::nullopt, event));
  auto parsed = parse_civil_date(date);
  if (parsed && civil_date_utc_us(*parsed) > clock_.now_utc_us()) {
    event.allowed = false;
    event.reason = "the date of the last DPIA lies in the future";
    (void)audit_.append(by.actor(), event);
    return make_error(ErrorKind::kInvalidArgument,
                      "the date of the last DPIA cannot lie in the future (" + date + ")");
  }
  YW_TRY(set_setting(catalog_, audit_, by.actor(), kDpiaDateSetting, date));
  return status();
}

Result<bool> DpiaService::audit_warning() {
  YW_ASSIGN_OR_RETURN(DpiaStatus state, status());
  if (!state.warning()) return false;
  const std::string latch =
      state.date.value_or("none") + "|" + std::string(dpia_state_name(state.state));
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(catalog_.database()));
  YW_ASSIGN_OR_RETURN(auto previous, catalog_.meta(kWarningLatch));
  if (previous && *previous == latch) return false;
  AuditEvent event;
  event.action = "dpia_review_due";
  event.object_type = "setting";
  event.object_id = kDpiaDateSetting;
  nlohmann::json details{{"state", dpia_state_name(state.state)}};
  if (state.date) {
    details["dpia_date"] = *state.date;
    details["due_date"] = *state.due_date;
    details["days_left"] = *state.days_left;
    event.reason = state.state == DpiaState::kOverdue
                       ? "the DPIA of " + *state.date + " is older than three years: review it"
                       : "the DPIA of " + *state.date + " is due for review on " + *state.due_date;
  } else {
    event.reason = "no date of a DPIA is recorded (setting policy.dpia_date)";
  }
  event.details = details.dump();
  YW_TRY(audit_.append(Actor::system(), event));
  YW_TRY(catalog_.set_meta(kWarningLatch, latch));
  YW_TRY(transaction.commit());
  return true;
}

}  // namespace yardwatch::firmware
