#include "yardwatch/firmware/access_review.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <tuple>

#include "report_text.h"
#include "yardwatch/firmware/dpia.h"
#include "yardwatch/firmware/roles.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

namespace {

namespace chrono = std::chrono;
using nlohmann::json;
using report::date_of;
using report::Labels;

constexpr int64_t kDayUs = 24LL * 3600 * 1'000'000;
constexpr const char* kNotedLatch = "access_review.noted";

ReviewMonth make_month(chrono::year_month month) {
  ReviewMonth result;
  const chrono::year_month next = month + chrono::months{1};
  result.from_utc_us = civil_date_utc_us(month / chrono::day{1});
  result.to_utc_us = civil_date_utc_us(next / chrono::day{1});
  result.name = format_civil_date(month / chrono::day{1}).substr(0, 7);
  return result;
}

std::vector<std::string> split_names(const std::string& names) {
  std::vector<std::string> list;
  size_t start = 0;
  while (start < names.size()) {
    size_t comma = names.find(", ", start);
    if (comma == std::string::npos) comma = names.size();
    list.push_back(names.substr(start, comma - start));
    start = comma + 2;
  }
  return list;
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (size_t i = 0; i < items.size(); ++i) text += (i ? ", " : "") + items[i];
  return text;
}

const Labels& labels(std::string_view language) {
  static const Labels nl{
      {"title", "Maandelijkse toegangscontrole"},
      {"intro",
       "Wie heeft welke camerabeelden bekeken, met welk doel; de verstrekkingen; blokkades die "
       "langer dan 4 weken openstaan; accounts die 90 dagen niet zijn gebruikt. Gegenereerd uit "
       "het auditlogboek en de registers van het apparaat."},
      {"month", "Maand"},
      {"generated", "Gegenereerd op"},
      {"reference", "Peilmoment"},
      {"viewings", "Bekeken beelden"},
      {"no_viewings", "Niemand heeft deze maand beelden bekeken."},
      {"account", "Account"},
      {"role", "Rol"},
      {"camera", "Camera"},
      {"count", "Aantal"},
      {"live", "Live"},
      {"recorded", "Opgenomen"},
      {"denied", "Geweigerd"},
      {"purposes", "Doelen"},
      {"exports", "Verstrekkingen (exports)"},
      {"no_exports", "Deze maand zijn er geen exports gemaakt."},
      {"kind", "Soort"},
      {"kind_police", "politie"},
      {"kind_subject", "inzage betrokkene"},
      {"created", "Gemaakt"},
      {"by", "Door"},
      {"legal_basis", "Grondslag"},
      {"state", "Status"},
      {"long_holds", "Blokkades langer dan 4 weken open"},
      {"no_long_holds", "Geen blokkade staat langer dan 4 weken open."},
      {"hold", "Blokkade"},
      {"open_days", "Dagen open"},
      {"review_by", "Herbeoordelen vóór"},
      {"unused", "Accounts 90 dagen niet gebruikt (voorstel: uitschakelen)"},
      {"no_unused", "Alle accounts zijn de afgelopen 90 dagen gebruikt."},
      {"last_used", "Laatst aangemeld"},
      {"never", "nooit"},
      {"unused_days", "Dagen ongebruikt"},
      {"role_admin", "ICT-beheerder"},
      {"role_director", "Directeur"},
      {"role_viewer", "Bevoegde medewerker"},
      {"role_privacy_officer", "Privacyfunctionaris (FG)"},
      {"role_console", "Console"},
  };
  static const Labels en{
      {"title", "Monthly access review"},
      {"intro",
       "Who looked at which cameras' footage, with which purposes; the disclosures; holds open "
       "longer than 4 weeks; accounts unused for 90 days. Generated from the appliance's audit "
       "journal and registers."},
      {"month", "Month"},
      {"generated", "Generated on"},
      {"reference", "Measured at"},
      {"viewings", "Footage viewed"},
      {"no_viewings", "Nobody viewed footage this month."},
      {"account", "Account"},
      {"role", "Role"},
      {"camera", "Camera"},
      {"count", "Count"},
      {"live", "Live"},
      {"recorded", "Recorded"},
      {"denied", "Denied"},
      {"purposes", "Purposes"},
      {"exports", "Disclosures (exports)"},
      {"no_exports", "No exports were made this month."},
      {"kind", "Kind"},
      {"kind_police", "police"},
      {"kind_subject", "subject access"},
      {"created", "Created"},
      {"by", "By"},
      {"legal_basis", "Basis"},
      {"state", "State"},
      {"long_holds", "Holds open longer than 4 weeks"},
      {"no_long_holds", "No hold has been open longer than 4 weeks."},
      {"hold", "Hold"},
      {"open_days", "Days open"},
      {"review_by", "Review by"},
      {"unused", "Accounts unused for 90 days (suggested for disabling)"},
      {"no_unused", "Every account was used in the last 90 days."},
      {"last_used", "Last signed in"},
      {"never", "never"},
      {"unused_days", "Days unused"},
      {"role_admin", "ICT administrator"},
      {"role_director", "Director"},
      {"role_viewer", "Authorised staff"},
      {"role_privacy_officer", "Privacy officer"},
      {"role_console", "Console"},
  };
  return language == "en" ? en : nl;
}

std::string role_label(const Labels& l, const std::string& role) {
  auto found = l.find("role_" + role);
  return found == l.end() ? role : found->second;
}

std::string purposes_text(const ViewingCount& count) {
  std::string text;
  for (const auto& [purpose, n] : count.purposes) {
    if (!text.empty()) text += "; ";
    text += purpose + " (" + std::to_string(n) + ")";
  }
  return text;
}

}  // namespace

Result<ReviewMonth> parse_review_month(std::string_view text) {
  if (text.size() == 7 && text[4] == '-') {
    auto date = parse_civil_date(std::string(text) + "-01");
    if (date) return make_month(date->year() / date->month());
  }
  return make_error(ErrorKind::kInvalidArgument,
                    "a month is YYYY-MM, e.g. 2026-11 (not '" + std::string(text) + "')");
}

ReviewMonth month_of(int64_t utc_us) {
  const chrono::sys_days day{chrono::floor<chrono::days>(
      chrono::sys_time<chrono::microseconds>(chrono::microseconds(utc_us)))};
  const chrono::year_month_day date{day};
  return make_month(date.year() / date.month());
}

ReviewMonth previous_month(int64_t utc_us) { return month_of(month_of(utc_us).from_utc_us - 1); }

Result<AccessReview> build_access_review(recorder::Catalog& catalog, const ReviewMonth& month,
                                         int64_t now_utc_us) {
  if (month.from_utc_us > now_utc_us) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the month " + month.name + " has not begun; there is nothing to review");
  }
  AccessReview review;
  review.month = month;
  review.generated_utc_us = now_utc_us;
  review.reference_utc_us = std::min(now_utc_us, month.to_utc_us);
  const int64_t reference = review.reference_utc_us;

  std::lock_guard lock(catalog.mutex());
  auto& db = catalog.database();

  // Viewings: the web admin audits each opened viewing (`viewing_open`, live or recorded); the
  // console's `segment cat` audits each segment it shows (`view_recorded` with client
  // "console"). The web admin's per-segment `view_recorded` entries belong to a viewing already
  // counted and are left out.
  YW_ASSIGN_OR_RETURN(
      auto viewings,
      db.prepare("SELECT actor_name, actor_role, camera, purpose, outcome, action, details FROM "
                 "audit WHERE time_utc_us >= ?1 AND time_utc_us < ?2 AND (action = "
                 "'viewing_open' OR (action = 'view_recorded' AND client_address = 'console')) "
                 "ORDER BY seq"));
  viewings.bind(1, month.from_utc_us).bind(2, month.to_utc_us);
  std::map<std::tuple<std::string, std::string, std::string>, ViewingCount> counts;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool row, viewings.step());
    if (!row) break;
    const std::string account = viewings.column_text(0);
    const std::string role = viewings.column_text(1);
    const std::string camera = viewings.column_text(2);
    auto& count = counts[{account, camera, role}];
    count.account = account;
    count.role = role;
    count.camera = camera;
    if (viewings.column_text(4) != "allowed") {
      ++count.denied;
      continue;
    }
    ++count.viewings;
    ++count.purposes[viewings.column_text(3)];
    bool live = false;
    if (viewings.column_text(5) == "viewing_open") {
      const json details = json::parse(viewings.column_text(6), nullptr, false);
      live = details.is_object() && details.value("kind", "") == "live";
    }
    ++(live ? count.live : count.recorded);
  }
  for (auto& [key, count] : counts) review.viewings.push_back(std::move(count));

  YW_ASSIGN_OR_RETURN(auto police,
                      db.prepare("SELECT id, created_utc_us, approved_by, cameras, legal_basis, "
                                 "case_reference, state FROM exports WHERE created_utc_us >= ?1 "
                                 "AND created_utc_us < ?2"));
  police.bind(1, month.from_utc_us).bind(2, month.to_utc_us);
  while (true) {
    YW_ASSIGN_OR_RETURN(bool row, police.step());
    if (!row) break;
    ReviewExport item;
    item.kind = "police";
    item.id = police.column_text(0);
    item.created_utc_us = police.column_int(1);
    item.by = police.column_text(2);
    const json cameras = json::parse(police.column_text(3), nullptr, false);
    if (cameras.is_array()) {
      for (const auto& name : cameras) {
        if (name.is_string()) item.cameras.push_back(name.get<std::string>());
      }
    } else {
      item.cameras = split_names(police.column_text(3));
    }
    item.legal_basis = police.column_text(4);
    item.reference = police.column_text(5);
    item.state = police.column_text(6);
    review.exports.push_back(std::move(item));
  }
  YW_ASSIGN_OR_RETURN(
      auto subject,
      db.prepare("SELECT s.id, s.created_utc_us, s.created_by, c.name, r.reference, s.state FROM "
                 "subject_exports s JOIN cameras c ON c.id = s.camera_id JOIN subject_requests r "
                 "ON r.id = s.request_id WHERE s.created_utc_us >= ?1 AND s.created_utc_us < ?2"));
  subject.bind(1, month.from_utc_us).bind(2, month.to_utc_us);
  while (true) {
    YW_ASSIGN_OR_RETURN(bool row, subject.step());
    if (!row) break;
    ReviewExport item;
    item.kind = "subject";
    item.id = subject.column_text(0);
    item.created_utc_us = subject.column_int(1);
    item.by = subject.column_text(2);
    item.cameras = {subject.column_text(3)};
    item.legal_basis = "AVG art. 15";
    item.reference = subject.column_text(4);
    item.state = subject.column_text(5);
    review.exports.push_back(std::move(item));
  }
  std::sort(review.exports.begin(), review.exports.end(),
            [](const auto& a, const auto& b) { return a.created_utc_us < b.created_utc_us; });

  // Open at the reference time and placed more than 4 weeks before it.
  YW_ASSIGN_OR_RETURN(
      auto holds,
      db.prepare(
          "SELECT h.id, h.state, h.created_utc_us, h.review_by_utc_us, h.created_by, "
          "h.case_reference, (SELECT group_concat(name, ', ') FROM (SELECT c.name FROM "
          "hold_cameras hc JOIN cameras c ON c.id = hc.camera_id WHERE hc.hold_id = h.id ORDER "
          "BY c.name)) FROM holds h WHERE h.created_utc_us <= ?1 - ?2 AND (h.state IN ('active', "
          "'pending') OR (h.state = 'released' AND h.released_utc_us > ?1) OR (h.state = "
          "'rejected' AND h.decided_utc_us > ?1) OR (h.state = 'expired' AND "
          "h.pending_until_utc_us > ?1)) ORDER BY h.created_utc_us, h.id"));
  holds.bind(1, reference).bind(2, int64_t{kLongHoldDays} * kDayUs);
  while (true) {
    YW_ASSIGN_OR_RETURN(bool row, holds.step());
    if (!row) break;
    LongHold hold;
    hold.id = holds.column_int(0);
    hold.state = holds.column_text(1);
    hold.created_utc_us = holds.column_int(2);
    hold.open_days = (reference - hold.created_utc_us) / kDayUs;
    hold.review_by_utc_us = holds.column_int(3);
    hold.created_by = holds.column_text(4);
    hold.case_reference = holds.column_text(5);
    hold.cameras = split_names(holds.column_text(6));
    review.long_holds.push_back(std::move(hold));
  }

  // Enabled accounts whose last sign-in (or, never signed in, their creation) lies 90 days or
  // more before the reference time.
  YW_ASSIGN_OR_RETURN(
      auto accounts,
      db.prepare("SELECT name, role, last_login_utc_us, COALESCE(last_login_utc_us, "
                 "created_utc_us) AS used FROM accounts WHERE disabled = 0 AND "
                 "COALESCE(last_login_utc_us, created_utc_us) <= ?1 - ?2 ORDER BY used, name"));
  accounts.bind(1, reference).bind(2, int64_t{kUnusedAccountDays} * kDayUs);
  while (true) {
    YW_ASSIGN_OR_RETURN(bool row, accounts.step());
    if (!row) break;
    UnusedAccount account;
    account.name = accounts.column_text(0);
    account.role = accounts.column_text(1);
    if (!accounts.column_is_null(2)) account.last_login_utc_us = accounts.column_int(2);
    account.unused_days = (reference - accounts.column_int(3)) / kDayUs;
    review.unused_accounts.push_back(std::move(account));
  }
  return review;
}

std::string access_review_json(const AccessReview& review) {
  auto iso = [](int64_t utc_us) { return hal::format_iso8601_utc(utc_us); };
  json viewings = json::array();
  int64_t total_viewings = 0;
  for (const auto& v : review.viewings) {
    json purposes = json::array();
    for (const auto& [purpose, count] : v.purposes) {
      purposes.push_back({{"purpose", purpose}, {"count", count}});
    }
    total_viewings += v.viewings;
    viewings.push_back({{"account", v.account},
                        {"role", v.role},
                        {"camera", v.camera},
                        {"viewings", v.viewings},
                        {"live", v.live},
                        {"recorded", v.recorded},
                        {"denied", v.denied},
                        {"purposes", purposes}});
  }
  json exports = json::array();
  for (const auto& e : review.exports) {
    exports.push_back({{"kind", e.kind},
                       {"id", e.id},
                       {"created", iso(e.created_utc_us)},
                       {"by", e.by},
                       {"cameras", e.cameras},
                       {"legal_basis", e.legal_basis},
                       {"reference", e.reference},
                       {"state", e.state}});
  }
  json holds = json::array();
  for (const auto& h : review.long_holds) {
    holds.push_back({{"id", h.id},
                     {"state", h.state},
                     {"cameras", h.cameras},
                     {"created", iso(h.created_utc_us)},
                     {"open_days", h.open_days},
                     {"review_by", iso(h.review_by_utc_us)},
                     {"created_by", h.created_by},
                     {"case_reference", h.case_reference}});
  }
  json unused = json::array();
  for (const auto& a : review.unused_accounts) {
    unused.push_back(
        {{"account", a.name},
         {"role", a.role},
         {"last_login", a.last_login_utc_us ? json(iso(*a.last_login_utc_us)) : json(nullptr)},
         {"unused_days", a.unused_days}});
  }
  json body{{"month", review.month.name},
            {"from", iso(review.month.from_utc_us)},
            {"to", iso(review.month.to_utc_us)},
            {"generated", iso(review.generated_utc_us)},
            {"reference_time", iso(review.reference_utc_us)},
            {"viewings", viewings},
            {"exports", exports},
            {"long_holds", holds},
            {"unused_accounts", unused},
            {"totals",
             {{"viewings", total_viewings},
              {"exports", review.exports.size()},
              {"long_holds", review.long_holds.size()},
              {"unused_accounts", review.unused_accounts.size()}}}};
  return body.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string access_review_html(const AccessReview& review, std::string_view language) {
  const Labels& l = labels(language);
  report::Html page(language == "en" ? "en" : "nl", l.at("title") + " " + review.month.name);
  page.raw("<h1>" + html_escape(l.at("title")) + " " + html_escape(review.month.name) + "</h1>\n");
  page.raw("<p class=\"intro\">" + html_escape(l.at("intro")) + "</p>\n<dl id=\"meta\">");
  page.field(l.at("month"), "month", review.month.name);
  page.field(l.at("generated"), "generated", hal::format_iso8601_utc(review.generated_utc_us));
  page.field(l.at("reference"), "reference_time", hal::format_iso8601_utc(review.reference_utc_us));
  page.raw("</dl>\n");

  auto header = [&](const std::string& id, std::initializer_list<const char*> keys) {
    std::string html = "<table id=\"" + id + "\"><thead><tr>";
    for (const char* key : keys) html += "<th>" + html_escape(l.at(key)) + "</th>";
    page.raw(html + "</tr></thead><tbody>");
  };
  page.raw("<h2>" + html_escape(l.at("viewings")) + "</h2>\n");
  if (review.viewings.empty()) {
    page.raw("<p id=\"no-viewings\">" + html_escape(l.at("no_viewings")) + "</p>\n");
  } else {
    header("viewings",
           {"account", "role", "camera", "count", "live", "recorded", "denied", "purposes"});
    for (const auto& v : review.viewings) {
      page.raw("<tr data-account=\"" + html_escape(v.account) + "\" data-camera=\"" +
               html_escape(v.camera) + "\">");
      page.cell("account", v.account);
      page.cell("role", role_label(l, v.role), v.role);
      page.cell("camera", v.camera);
      page.cell("viewings", std::to_string(v.viewings));
      page.cell("live", std::to_string(v.live));
      page.cell("recorded", std::to_string(v.recorded));
      page.cell("denied", std::to_string(v.denied));
      page.cell("purposes", purposes_text(v));
      page.raw("</tr>");
    }
    page.raw("</tbody></table>\n");
  }

  page.raw("<h2>" + html_escape(l.at("exports")) + "</h2>\n");
  if (review.exports.empty()) {
    page.raw("<p id=\"no-exports\">" + html_escape(l.at("no_exports")) + "</p>\n");
  } else {
    header("exports", {"kind", "created", "by", "camera", "legal_basis", "state"});
    for (const auto& e : review.exports) {
      page.raw("<tr data-export=\"" + html_escape(e.id) + "\">");
      page.cell("kind", l.at("kind_" + e.kind), e.kind);
      page.cell("created", hal::format_iso8601_utc(e.created_utc_us));
      page.cell("by", e.by);
      page.cell("cameras", join(e.cameras));
      page.cell("legal_basis", e.legal_basis);
      page.cell("state", e.state);
      page.raw("</tr>");
    }
    page.raw("</tbody></table>\n");
  }

  page.raw("<h2>" + html_escape(l.at("long_holds")) + "</h2>\n");
  if (review.long_holds.empty()) {
    page.raw("<p id=\"no-long-holds\">" + html_escape(l.at("no_long_holds")) + "</p>\n");
  } else {
    header("long-holds", {"hold", "state", "camera", "created", "open_days", "review_by"});
    for (const auto& h : review.long_holds) {
      page.raw("<tr data-hold=\"" + std::to_string(h.id) + "\">");
      page.cell("id", std::to_string(h.id));
      page.cell("state", h.state);
      page.cell("cameras", join(h.cameras));
      page.cell("created", date_of(h.created_utc_us));
      page.cell("open_days", std::to_string(h.open_days));
      page.cell("review_by", date_of(h.review_by_utc_us));
      page.raw("</tr>");
    }
    page.raw("</tbody></table>\n");
  }

  page.raw("<h2>" + html_escape(l.at("unused")) + "</h2>\n");
  if (review.unused_accounts.empty()) {
    page.raw("<p id=\"no-unused\">" + html_escape(l.at("no_unused")) + "</p>\n");
  } else {
    header("unused-accounts", {"account", "role", "last_used", "unused_days"});
    for (const auto& a : review.unused_accounts) {
      page.raw("<tr data-account=\"" + html_escape(a.name) + "\">");
      page.cell("account", a.name);
      page.cell("role", role_label(l, a.role), a.role);
      page.cell("last_login", a.last_login_utc_us ? date_of(*a.last_login_utc_us) : l.at("never"),
                a.last_login_utc_us ? date_of(*a.last_login_utc_us) : "");
      page.cell("unused_days", std::to_string(a.unused_days));
      page.raw("</tr>");
    }
    page.raw("</tbody></table>\n");
  }
  return page.finish();
}

Document access_review_document(const AccessReview& review, std::string_view language) {
  const Labels& l = labels(language);
  Document document;
  document.title = l.at("title") + " " + review.month.name;
  auto& b = document.blocks;
  b.emplace_back(BlockKind::kTitle, "", document.title);
  b.emplace_back(BlockKind::kText, "", l.at("intro"));
  b.emplace_back(BlockKind::kField, l.at("generated"),
                 hal::format_iso8601_utc(review.generated_utc_us));
  b.emplace_back(BlockKind::kField, l.at("reference"),
                 hal::format_iso8601_utc(review.reference_utc_us));
  b.emplace_back(BlockKind::kHeading, "", l.at("viewings"));
  if (review.viewings.empty()) b.emplace_back(BlockKind::kText, "", l.at("no_viewings"));
  for (const auto& v : review.viewings) {
    b.emplace_back(BlockKind::kField, v.account + " (" + role_label(l, v.role) + ") · " + v.camera,
                   std::to_string(v.viewings) + " × (" + l.at("live") + " " +
                       std::to_string(v.live) + ", " + l.at("recorded") + " " +
                       std::to_string(v.recorded) + ", " + l.at("denied") + " " +
                       std::to_string(v.denied) + "); " + purposes_text(v));
  }
  b.emplace_back(BlockKind::kHeading, "", l.at("exports"));
  if (review.exports.empty()) b.emplace_back(BlockKind::kText, "", l.at("no_exports"));
  for (const auto& e : review.exports) {
    b.emplace_back(BlockKind::kField, l.at("kind_" + e.kind) + " " + e.id,
                   hal::format_iso8601_utc(e.created_utc_us) + "; " + e.by + "; " +
                       join(e.cameras) + "; " + e.legal_basis + "; " + e.state);
  }
  b.emplace_back(BlockKind::kHeading, "", l.at("long_holds"));
  if (review.long_holds.empty()) b.emplace_back(BlockKind::kText, "", l.at("no_long_holds"));
  for (const auto& h : review.long_holds) {
    b.emplace_back(BlockKind::kField, l.at("hold") + " " + std::to_string(h.id),
                   join(h.cameras) + "; " + l.at("open_days") + " " + std::to_string(h.open_days) +
                       "; " + l.at("review_by") + " " + date_of(h.review_by_utc_us));
  }
  b.emplace_back(BlockKind::kHeading, "", l.at("unused"));
  if (review.unused_accounts.empty()) b.emplace_back(BlockKind::kText, "", l.at("no_unused"));
  for (const auto& a : review.unused_accounts) {
    b.emplace_back(BlockKind::kField, a.name + " (" + role_label(l, a.role) + ")",
                   l.at("last_used") + " " +
                       (a.last_login_utc_us ? date_of(*a.last_login_utc_us) : l.at("never")) +
                       "; " + l.at("unused_days") + " " + std::to_string(a.unused_days));
  }
  return document;
}

AccessReviewService::AccessReviewService(recorder::Catalog& catalog, const hal::Clock& clock,
                                         AuditJournal& audit)
    : catalog_(catalog), clock_(clock), audit_(audit) {}

Result<AccessReview> AccessReviewService::review(const std::string& month) {
  YW_ASSIGN_OR_RETURN(ReviewMonth parsed, parse_review_month(month));
  return build_access_review(catalog_, parsed, clock_.now_utc_us());
}

Result<RenderedReport> AccessReviewService::download(const Principal* person,
                                                     const std::string& month,
                                                     const std::string& format,
                                                     const std::string& language) {
  AuditEvent event;
  event.action = "report_access_review";
  event.object_type = "report";
  event.object_id = "access_review";
  const bool known_format = format == "json" || report_format(format);
  event.details = json{{"month", month.size() <= 7 ? month : "?"},
                       {"format", known_format ? format : "?"},
                       {"language", report_language(language) ? language : "?"}}
                      .dump(-1, ' ', false, json::error_handler_t::replace);
  const Actor actor = person ? person->actor() : Actor::console();
  if (person) {
    YW_TRY(authorize(audit_, *person, Permission::kReadComplianceReports, std::nullopt, event));
  }
  auto refuse = [&](const Error& error) {
    event.allowed = false;
    event.reason = error.message;
    (void)audit_.append(actor, event);
    return error;
  };
  if (!known_format || !report_language(language)) {
    return refuse(Error{ErrorKind::kInvalidArgument,
                        "the access review comes as html, pdf or json, in nl or en"});
  }
  auto parsed = parse_review_month(month);
  if (!parsed.ok()) return refuse(parsed.error());
  if (parsed.value().from_utc_us > clock_.now_utc_us()) {
    return refuse(Error{ErrorKind::kInvalidArgument, "the month " + parsed.value().name +
                                                         " has not begun; there is nothing to "
                                                         "review"});
  }
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(catalog_.database()));
  YW_ASSIGN_OR_RETURN(AccessReview review,
                      build_access_review(catalog_, parsed.value(), clock_.now_utc_us()));
  RenderedReport report;
  const std::string base = "toegangscontrole-" + review.month.name;
  if (format == "pdf") {
    YW_ASSIGN_OR_RETURN(report.body, render_pdf(access_review_document(review, language)));
    report.content_type = "application/pdf";
    report.filename = base + ".pdf";
  } else if (format == "json") {
    report.body = access_review_json(review);
    report.content_type = "application/json";
    report.filename = base + ".json";
  } else {
    report.body = access_review_html(review, language);
    report.content_type = "text/html; charset=utf-8";
    report.filename = base + ".html";
  }
  YW_TRY(audit_.append(actor, event));
  YW_TRY(transaction.commit());
  return report;
}

Result<bool> AccessReviewService::note_previous_month_ready() {
  const ReviewMonth month = previous_month(clock_.now_utc_us());
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(catalog_.database()));
  YW_ASSIGN_OR_RETURN(auto previous, catalog_.meta(kNotedLatch));
  // Only forward: a clock set back to an older month writes nothing again.
  if (previous && *previous >= month.name) return false;
  AuditEvent event;
  event.action = "access_review_ready";
  event.object_type = "report";
  event.object_id = "access_review";
  event.range_from_utc_us = month.from_utc_us;
  event.range_to_utc_us = month.to_utc_us;
  event.reason = "the access review of " + month.name + " is ready for the privacy officer";
  event.details = json{{"month", month.name}}.dump();
  YW_TRY(audit_.append(Actor::system(), event));
  YW_TRY(catalog_.set_meta(kNotedLatch, month.name));
  YW_TRY(transaction.commit());
  return true;
}

}  // namespace yardwatch::firmware
