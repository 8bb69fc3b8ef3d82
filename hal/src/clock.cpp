#include "yardwatch/hal/clock.h"

#include <sys/timex.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <ctime>

namespace yardwatch::hal {

namespace {

int64_t read_clock_us(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<int64_t>(day_of_era) - 719468;
}

bool parse_digits(std::string_view text, size_t position, size_t count, int64_t& out) {
  if (position + count > text.size()) return false;
  out = 0;
  for (size_t i = position; i < position + count; ++i) {
    if (std::isdigit(static_cast<unsigned char>(text[i])) == 0) return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

std::string_view sync_state_name(SyncState state) {
  switch (state) {
    case SyncState::kUnknown:
      return "unknown";
    case SyncState::kUnsynchronised:
      return "unsynchronised";
    case SyncState::kSynchronised:
      return "synchronised";
  }
  return "unknown";
}

int64_t SystemClock::now_utc_us() const { return read_clock_us(CLOCK_REALTIME); }
int64_t SystemClock::monotonic_us() const { return read_clock_us(CLOCK_MONOTONIC); }

SyncState classify_kernel_sync(int clock_state, int status, int64_t now_utc_us) {
  if (now_utc_us < kEarliestPlausibleUtcUs) return SyncState::kUnsynchronised;
  if (clock_state == -1) return SyncState::kUnknown;
  if (clock_state == TIME_ERROR || (status & STA_UNSYNC) != 0) return SyncState::kUnsynchronised;
  return SyncState::kSynchronised;
}

SyncState SystemClock::sync_state() const {
  if (assumed_) return *assumed_;
  timex info{};  // modes = 0: read only, needs no privilege
  const int state = ::adjtimex(&info);
  return classify_kernel_sync(state, info.status, now_utc_us());
}

OffsetClock::OffsetClock(int64_t start_utc_us, SyncState sync_state)
    : start_utc_us_(start_utc_us),
      start_monotonic_us_(read_clock_us(CLOCK_MONOTONIC)),
      sync_state_(sync_state) {}

int64_t OffsetClock::now_utc_us() const {
  return start_utc_us_ + (read_clock_us(CLOCK_MONOTONIC) - start_monotonic_us_);
}
int64_t OffsetClock::monotonic_us() const { return read_clock_us(CLOCK_MONOTONIC); }

SimulatedClock::SimulatedClock(int64_t start_utc_us, SyncState sync_state)
    : utc_us_(start_utc_us), sync_state_(sync_state) {}

void SimulatedClock::advance_us(int64_t delta_us) {
  utc_us_ += delta_us;
  monotonic_us_ += delta_us;
}

Result<std::unique_ptr<Clock>> make_board_clock(std::string_view board) {
  if (board != "host-sim") {
    return std::unique_ptr<Clock>(std::make_unique<SystemClock>());
  }
  const char* sim_now = std::getenv("YARDWATCH_SIM_NOW");
  const char* unsynced = std::getenv("YARDWATCH_SIM_UNSYNCED");
  const bool is_unsynced = unsynced != nullptr && std::string_view(unsynced) == "1";
  if (sim_now == nullptr || *sim_now == '\0') {
    if (!is_unsynced) {
      return std::unique_ptr<Clock>(std::make_unique<SystemClock>(SyncState::kSynchronised));
    }
    return std::unique_ptr<Clock>(
        std::make_unique<OffsetClock>(read_clock_us(CLOCK_REALTIME), SyncState::kUnsynchronised));
  }
  auto start = parse_iso8601_utc_us(sim_now);
  if (!start.ok()) {
    return make_error(ErrorKind::kInvalidArgument, "YARDWATCH_SIM_NOW: " + start.error().message);
  }
  return std::unique_ptr<Clock>(std::make_unique<OffsetClock>(
      start.value(), is_unsynced ? SyncState::kUnsynchronised : SyncState::kSynchronised));
}

Result<int64_t> parse_iso8601_utc_us(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+00:00)   also a bare date YYYY-MM-DD (midnight UTC)
  auto bad = [&text]() {
    return make_error(
        ErrorKind::kInvalidArgument,
        "'" + std::string(text) + "' is not an ISO-8601 UTC time like 2026-11-25T10:00:00Z");
  };
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!parse_digits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' ||
      !parse_digits(text, 5, 2, month) || text[7] != '-' || !parse_digits(text, 8, 2, day)) {
    return bad();
  }
  size_t position = 10;
  if (text.size() > 10) {
    if ((text[10] != 'T' && text[10] != ' ') || !parse_digits(text, 11, 2, hour) ||
        text.size() < 19 || text[13] != ':' || !parse_digits(text, 14, 2, minute) ||
        text[16] != ':' || !parse_digits(text, 17, 2, second)) {
      return bad();
    }
    position = 19;
  }
  int64_t fraction_us = 0;
  if (position < text.size() && text[position] == '.') {
    ++position;
    int digits = 0;
    while (position < text.size() && std::isdigit(static_cast<unsigned char>(text[position]))) {
      if (digits < 6) fraction_us = fraction_us * 10 + (text[position] - '0');
      ++digits;
      ++position;
    }
    if (digits == 0) return bad();
    for (int i = digits; i < 6; ++i) fraction_us *= 10;
  }
  std::string_view zone = text.substr(position);
  if (text.size() > 10 && zone != "Z" && zone != "+00:00" && zone != "z") return bad();
  if (text.size() == 10 && !zone.empty()) return bad();
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return bad();
  }
  const int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return ((days * 24 + hour) * 60 + minute) * 60'000'000 + second * 1'000'000 + fraction_us;
}

std::string format_iso8601_utc(int64_t utc_us) {
  int64_t seconds = utc_us / 1'000'000;
  int64_t fraction = utc_us % 1'000'000;
  if (fraction < 0) {
    fraction += 1'000'000;
    --seconds;
  }
  const auto time = static_cast<time_t>(seconds);
  tm parts{};
  ::gmtime_r(&time, &parts);
  char buffer[40];
  size_t length = std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &parts);
  std::string result(buffer, length);
  if (fraction != 0) {
    char fraction_text[8];
    std::snprintf(fraction_text, sizeof(fraction_text), ".%06lld",
                  static_cast<long long>(fraction));
    result += fraction_text;
  }
  result += 'Z';
  return result;
}

}  // namespace yardwatch::hal
