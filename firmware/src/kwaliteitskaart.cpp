#include "yardwatch/firmware/kwaliteitskaart.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "report_text.h"
#include "yardwatch/firmware/cameras.h"
#include "yardwatch/firmware/exports.h"
#include "yardwatch/firmware/roles.h"
#include "yardwatch/firmware/settings.h"
#include "yardwatch/firmware/version.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::firmware {

namespace {

using report::date_of;
using report::Labels;

constexpr int64_t kDayUs = 24LL * 3600 * 1'000'000;

std::optional<std::string> setting_or_empty(recorder::Catalog& catalog, const std::string& key) {
  auto value = get_setting(catalog, key);
  if (!value.ok()) return std::nullopt;
  return value.value();
}

bool valid_description(const std::string& text) {
  if (text.size() > kMaxDescriptionLength) return false;
  if (std::any_of(text.begin(), text.end(),
                  [](char c) { return c >= 0 && c < 0x20 && c != '\n'; })) {
    return false;
  }
  try {
    (void)nlohmann::json(text).dump();  // valid UTF-8
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

const Labels& labels(std::string_view language) {
  static const Labels nl{
      {"title", "Kwaliteitskaart cameratoezicht"},
      {"intro",
       "Deze kaart is zojuist gegenereerd uit de actuele configuratie en database van het "
       "apparaat. Zij wordt nooit met de hand geschreven of bewaard."},
      {"generated", "Gegenereerd op"},
      {"appliance", "Het apparaat"},
      {"device_name", "Naam"},
      {"device_id", "Apparaat-id"},
      {"device_location", "Standplaats"},
      {"board", "Hardware (board)"},
      {"firmware_version", "Firmwareversie"},
      {"four_eyes", "Vier-ogenprincipe"},
      {"require_totp", "Tweestapsverificatie verplicht"},
      {"yes", "ja"},
      {"no", "nee"},
      {"not_recorded", "niet vastgelegd"},
      {"cameras", "Camera's (plaatsingsplan)"},
      {"no_cameras", "Er zijn geen camera's."},
      {"zone", "Zone"},
      {"location", "Locatie"},
      {"purpose", "Doel"},
      {"placement", "Plaatsing"},
      {"retention_days", "Bewaartermijn (dagen)"},
      {"since", "In gebruik sinds"},
      {"still", "Beeld van de camera"},
      {"no_still", "geen beeld bijgevoegd"},
      {"retention", "Bewaartermijnen"},
      {"retention_text",
       "Beelden worden per camera na de bewaartermijn cryptografisch gewist (hoogstens 28 "
       "dagen), behalve wat een incidentblokkade vasthoudt."},
      {"holds", "Incidentblokkades die gelden"},
      {"no_holds", "Er gelden geen blokkades."},
      {"hold", "Blokkade"},
      {"state", "Status"},
      {"state_active", "actief"},
      {"state_pending", "aangevraagd"},
      {"hold_cameras", "Camera's"},
      {"range", "Periode"},
      {"review_by", "Herbeoordelen vóór"},
      {"placed", "Geplaatst"},
      {"roles", "Rollen en wie ze hebben"},
      {"account", "Account"},
      {"role", "Rol"},
      {"assigned", "Toegewezen camera's"},
      {"role_admin", "ICT-beheerder"},
      {"role_director", "Directeur"},
      {"role_viewer", "Bevoegde medewerker"},
      {"role_privacy_officer", "Privacyfunctionaris (FG)"},
      {"logging", "Wat wordt vastgelegd en hoe lang"},
      {"logged_audit",
       "Auditlogboek: elke aanmelding, elke keer dat beelden worden bekeken (met doel), "
       "blokkades, exports, verwijderingen, instellingen en geweigerde pogingen"},
      {"logged_footage", "Camerabeelden (versleuteld)"},
      {"logged_requests", "Verzoeken van betrokkenen (na afhandeling)"},
      {"logged_breaches", "Register van beveiligingsincidenten"},
      {"logged_exports", "Registratie van politie-exports"},
      {"term_per_camera", "per camera, zie boven (hoogstens 28 dagen)"},
      {"term_forever", "blijvend"},
      {"days", "dagen"},
      {"exports", "Verstrekkingen (exports)"},
      {"police_exports", "Politie-exports (voltooid)"},
      {"subject_exports", "Inzage-exports voor betrokkenen (voltooid)"},
      {"legal_basis", "Wettelijke grondslag"},
      {"count", "Aantal"},
      {"no_exports", "Er zijn geen politie-exports."},
      {"dpia", "DPIA (gegevensbeschermingseffectbeoordeling)"},
      {"dpia_date", "Laatste DPIA"},
      {"dpia_due", "Volgende DPIA uiterlijk"},
      {"dpia_state", "Stand"},
      {"dpia_state_unknown", "geen DPIA-datum vastgelegd"},
      {"dpia_state_current", "actueel"},
      {"dpia_state_due_soon", "binnenkort nodig"},
      {"dpia_state_overdue", "verlopen"},
  };
  static const Labels en{
      {"title", "Kwaliteitskaart (quality card) for camera surveillance"},
      {"intro",
       "This card was just generated from the appliance's live configuration and database. It "
       "is never written by hand, nor stored."},
      {"generated", "Generated on"},
      {"appliance", "The appliance"},
      {"device_name", "Name"},
      {"device_id", "Device id"},
      {"device_location", "Where it stands"},
      {"board", "Hardware (board)"},
      {"firmware_version", "Firmware version"},
      {"four_eyes", "Four-eyes principle"},
      {"require_totp", "Two-step verification required"},
      {"yes", "yes"},
      {"no", "no"},
      {"not_recorded", "not recorded"},
      {"cameras", "Cameras (placement plan)"},
      {"no_cameras", "There are no cameras."},
      {"zone", "Zone"},
      {"location", "Location"},
      {"purpose", "Purpose"},
      {"placement", "Placement"},
      {"retention_days", "Retention (days)"},
      {"since", "In use since"},
      {"still", "Still image"},
      {"no_still", "no still attached"},
      {"retention", "Retention"},
      {"retention_text",
       "Footage is erased cryptographically after each camera's retention term (at most 28 "
       "days), except what an incident hold keeps."},
      {"holds", "Incident holds in force"},
      {"no_holds", "No holds are in force."},
      {"hold", "Hold"},
      {"state", "State"},
      {"state_active", "active"},
      {"state_pending", "requested"},
      {"hold_cameras", "Cameras"},
      {"range", "Range"},
      {"review_by", "Review by"},
      {"placed", "Placed"},
      {"roles", "Roles and who holds them"},
      {"account", "Account"},
      {"role", "Role"},
      {"assigned", "Assigned cameras"},
      {"role_admin", "ICT administrator"},
      {"role_director", "Director"},
      {"role_viewer", "Authorised staff"},
      {"role_privacy_officer", "Privacy officer"},
      {"logging", "What is logged and for how long"},
      {"logged_audit",
       "Audit journal: every sign-in, every viewing of footage (with its purpose), holds, "
       "exports, deletions, settings and denied attempts"},
      {"logged_footage", "Camera footage (encrypted)"},
      {"logged_requests", "Data subjects' requests (after closing)"},
      {"logged_breaches", "Register of security incidents"},
      {"logged_exports", "Record of police exports"},
      {"term_per_camera", "per camera, see above (at most 28 days)"},
      {"term_forever", "kept"},
      {"days", "days"},
      {"exports", "Disclosures (exports)"},
      {"police_exports", "Police exports (complete)"},
      {"subject_exports", "Subject access exports (complete)"},
      {"legal_basis", "Legal basis"},
      {"count", "Count"},
      {"no_exports", "There are no police exports."},
      {"dpia", "DPIA (data protection impact assessment)"},
      {"dpia_date", "Last DPIA"},
      {"dpia_due", "Next DPIA due by"},
      {"dpia_state", "State"},
      {"dpia_state_unknown", "no DPIA date recorded"},
      {"dpia_state_current", "current"},
      {"dpia_state_due_soon", "due soon"},
      {"dpia_state_overdue", "overdue"},
  };
  return language == "en" ? en : nl;
}

std::string term_text(const LoggedRecord& record, const Labels& l) {
  if (record.retention == "per_camera") return l.at("term_per_camera");
  if (record.retention == "forever") return l.at("term_forever");
  if (!record.retention.empty() && record.retention.back() == 'd') {
    return record.retention.substr(0, record.retention.size() - 1) + " " + l.at("days");
  }
  return record.retention;
}

std::string base64(const std::vector<uint8_t>& bytes) {
  const size_t length = sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string text(length, '\0');
  sodium_bin2base64(text.data(), length, bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  text.resize(length - 1);  // the terminating NUL
  return text;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string text;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) text += separator;
    text += items[i];
  }
  return text;
}

}  // namespace

bool report_language(std::string_view language) { return language == "nl" || language == "en"; }
bool report_format(std::string_view format) { return format == "html" || format == "pdf"; }

std::optional<std::pair<int, int>> decodable_jpeg(const std::vector<uint8_t>& jpeg) {
  // JPEG SOI marker first: OpenCV would also decode PNG, BMP, … — the card takes JPEG only.
  if (jpeg.size() < 4 || jpeg.size() > kMaxStillBytes || jpeg[0] != 0xFF || jpeg[1] != 0xD8) {
    return std::nullopt;
  }
  try {
    const cv::Mat encoded(1, static_cast<int>(jpeg.size()), CV_8UC1,
                          const_cast<uint8_t*>(jpeg.data()));
    const cv::Mat image = cv::imdecode(encoded, cv::IMREAD_COLOR);
    if (image.empty() || image.cols > kMaxStillSide || image.rows > kMaxStillSide) {
      return std::nullopt;
    }
    return std::make_pair(image.cols, image.rows);
  } catch (const cv::Exception&) {
    return std::nullopt;
  }
}

std::vector<uint8_t> jpeg_to_png(const std::vector<uint8_t>& jpeg) {
  try {
    const cv::Mat encoded(1, static_cast<int>(jpeg.size()), CV_8UC1,
                          const_cast<uint8_t*>(jpeg.data()));
    const cv::Mat image = cv::imdecode(encoded, cv::IMREAD_COLOR);
    if (image.empty()) return {};
    std::vector<uint8_t> png;
    if (!cv::imencode(".png", image, png)) return {};
    return png;
  } catch (const cv::Exception&) {
    return {};
  }
}

Result<Kwaliteitskaart> build_kwaliteitskaart(recorder::Catalog& catalog, const hal::Clock& clock,
                                              const std::string& board) {
  Kwaliteitskaart card;
  card.generated_utc_us = clock.now_utc_us();
  card.device_name = device_name(catalog);
  YW_ASSIGN_OR_RETURN(card.device_id, catalog.device_id());
  card.device_location = setting_or_empty(catalog, kDeviceLocationSetting).value_or("");
  card.board = board;
  card.firmware_version = std::string(version());
  card.four_eyes = setting_or_empty(catalog, "policy.four_eyes").value_or("0") == "1";
  card.require_totp = setting_or_empty(catalog, "policy.require_totp").value_or("1") == "1";
  card.audit_retention_days = static_cast<int>(kAuditRetentionUs / kDayUs);
  card.max_retention_days = kMaxRetentionDays;
  card.logged = {{"audit", std::to_string(card.audit_retention_days) + "d"},
                 {"footage", "per_camera"},
                 {"requests", "730d"},
                 {"breaches", "forever"},
                 {"exports", "forever"}};
  auto dpia_date = setting_or_empty(catalog, kDpiaDateSetting);
  card.dpia = dpia_status_at(dpia_date ? parse_civil_date(*dpia_date) : std::nullopt,
                             card.generated_utc_us);

  std::lock_guard lock(catalog.mutex());
  auto& db = catalog.database();
  YW_ASSIGN_OR_RETURN(auto cameras, catalog.cameras(false));
  std::sort(cameras.begin(), cameras.end(),
            [](const auto& a, const auto& b) { return a.spec.name < b.spec.name; });
  YW_ASSIGN_OR_RETURN(auto describe,
                      db.prepare("SELECT purpose, placement, still_jpeg FROM camera_descriptions "
                                 "WHERE camera_id = ?1"));
  for (const auto& camera : cameras) {
    KwaliteitskaartCamera entry;
    entry.name = camera.spec.name;
    entry.zone = camera.spec.zone;
    entry.location = camera.spec.location;
    entry.retention_days = camera.spec.retention_days;
    entry.since_utc_us = camera.created_utc_us;
    describe.reset();
    describe.bind(1, camera.id);
    YW_ASSIGN_OR_RETURN(bool described, describe.step());
    if (described) {
      entry.purpose = describe.column_text(0);
      entry.placement = describe.column_text(1);
      if (!describe.column_is_null(2)) entry.still_jpeg = describe.column_blob(2);
    }
    card.cameras.push_back(std::move(entry));
  }

  YW_ASSIGN_OR_RETURN(
      auto holds,
      db.prepare("SELECT h.id, h.state, h.from_utc_us, h.to_utc_us, h.review_by_utc_us, "
                 "h.created_utc_us, (SELECT group_concat(name, ', ') FROM (SELECT c.name FROM "
                 "hold_cameras hc JOIN cameras c ON c.id = hc.camera_id WHERE hc.hold_id = h.id "
                 "ORDER BY c.name)) FROM holds h WHERE h.state IN ('active', 'pending') ORDER BY "
                 "h.created_utc_us, h.id"));
  while (true) {
    YW_ASSIGN_OR_RETURN(bool row, holds.step());
    if (!row) break;
    KwaliteitskaartHold hold;
    hold.id = holds.column_int(0);
    hold.state = holds.column_text(1);
    hold.from_utc_us = holds.column_int(2);
    hold.to_utc_us = holds.column_int(3);
    hold.review_by_utc_us = holds.column_int(4);
    hold.placed_utc_us = holds.column_int(5);
    const std::string names = holds.column_text(6);
    size_t start = 0;
    while (start < names.size()) {
      size_t comma = names.find(", ", start);
      if (comma == std::string::npos) comma = names.size();
      hold.cameras.push_back(names.substr(start, comma - start));
      start = comma + 2;
    }
    card.holds.push_back(std::move(hold));
  }

  YW_ASSIGN_OR_RETURN(
      auto accounts,
      db.prepare("SELECT a.name, a.role, (SELECT group_concat(name, ', ') FROM (SELECT c.name "
                 "FROM account_cameras ac JOIN cameras c ON c.id = ac.camera_id WHERE "
                 "ac.account_id = a.id AND c.removed_utc_us IS NULL ORDER BY c.name)) FROM "
                 "accounts a WHERE a.disabled = 0 ORDER BY CASE a.role WHEN 'director' THEN 0 "
                 "WHEN 'privacy_officer' THEN 1 WHEN 'viewer' THEN 2 ELSE 3 END, a.name"));
  while (true) {
    YW_ASSIGN_OR_RETURN(bool row, accounts.step());
    if (!row) break;
    KwaliteitskaartRoleHolder holder;
    holder.name = accounts.column_text(0);
    holder.role = accounts.column_text(1);
    const std::string names = accounts.column_text(2);
    size_t start = 0;
    while (start < names.size()) {
      size_t comma = names.find(", ", start);
      if (comma == std::string::npos) comma = names.size();
      holder.cameras.push_back(names.substr(start, comma - start));
      start = comma + 2;
    }
    card.role_holders.push_back(std::move(holder));
  }

  YW_ASSIGN_OR_RETURN(auto exports,
                      db.prepare("SELECT legal_basis, COUNT(*) FROM exports WHERE state = "
                                 "'complete' GROUP BY legal_basis ORDER BY legal_basis"));
  while (true) {
    YW_ASSIGN_OR_RETURN(bool row, exports.step());
    if (!row) break;
    card.exports_by_legal_basis[exports.column_text(0)] = exports.column_int(1);
    card.police_exports += exports.column_int(1);
  }
  YW_ASSIGN_OR_RETURN(auto subject,
                      db.prepare("SELECT COUNT(*) FROM subject_exports WHERE state = 'complete'"));
  YW_ASSIGN_OR_RETURN(bool counted, subject.step());
  if (counted) card.subject_exports = subject.column_int(0);
  return card;
}

std::string kwaliteitskaart_html(const Kwaliteitskaart& card, std::string_view language) {
  const Labels& l = labels(language);
  using report::Html;
  Html page(language == "en" ? "en" : "nl", l.at("title"));
  page.raw("<h1>" + html_escape(l.at("title")) + "</h1>\n");
  page.raw("<p class=\"intro\">" + html_escape(l.at("intro")) + "</p>\n");
  page.raw("<dl id=\"meta\">");
  page.field(l.at("generated"), "generated", hal::format_iso8601_utc(card.generated_utc_us));
  page.raw("</dl>\n");

  page.raw("<h2>" + html_escape(l.at("appliance")) + "</h2>\n<dl id=\"appliance\">");
  page.field(l.at("device_name"), "device.name", card.device_name);
  page.field(l.at("device_id"), "device.id", card.device_id);
  page.field(l.at("device_location"), "device.location",
             card.device_location.empty() ? l.at("not_recorded") : card.device_location,
             card.device_location);
  page.field(l.at("board"), "device.board", card.board);
  page.field(l.at("firmware_version"), "device.firmware_version", card.firmware_version);
  page.field(l.at("four_eyes"), "policy.four_eyes", card.four_eyes ? l.at("yes") : l.at("no"),
             card.four_eyes ? "1" : "0");
  page.field(l.at("require_totp"), "policy.require_totp",
             card.require_totp ? l.at("yes") : l.at("no"), card.require_totp ? "1" : "0");
  page.raw("</dl>\n");

  page.raw("<h2>" + html_escape(l.at("cameras")) + "</h2>\n");
  page.raw("<p>" + html_escape(l.at("retention_text")) + "</p>\n");
  if (card.cameras.empty())
    page.raw("<p id=\"no-cameras\">" + html_escape(l.at("no_cameras")) + "</p>\n");
  for (const auto& camera : card.cameras) {
    page.raw("<section class=\"camera\" data-camera=\"" + html_escape(camera.name) + "\"><h3>" +
             html_escape(camera.name) + "</h3><dl>");
    page.field(l.at("zone"), "zone", camera.zone);
    page.field(l.at("location"), "location", camera.location);
    page.field(l.at("purpose"), "purpose", camera.purpose);
    page.field(l.at("placement"), "placement", camera.placement);
    page.field(l.at("retention_days"), "retention_days", std::to_string(camera.retention_days));
    page.field(l.at("since"), "since", date_of(camera.since_utc_us));
    page.raw("<dt>" + html_escape(l.at("still")) + "</dt><dd>");
    if (camera.still_jpeg.empty()) {
      page.raw("<span data-field=\"still\" data-value=\"none\">" + html_escape(l.at("no_still")) +
               "</span>");
    } else {
      page.raw("<img data-field=\"still\" data-value=\"jpeg\" alt=\"" +
               html_escape(l.at("still") + " " + camera.name) + "\" src=\"data:image/jpeg;base64," +
               base64(camera.still_jpeg) + "\">");
    }
    page.raw("</dd></dl></section>\n");
  }

  page.raw("<h2>" + html_escape(l.at("holds")) + "</h2>\n");
  if (card.holds.empty()) {
    page.raw("<p id=\"no-holds\">" + html_escape(l.at("no_holds")) + "</p>\n");
  } else {
    page.raw("<table id=\"holds\"><thead><tr><th>" + html_escape(l.at("hold")) + "</th><th>" +
             html_escape(l.at("state")) + "</th><th>" + html_escape(l.at("hold_cameras")) +
             "</th><th>" + html_escape(l.at("range")) + "</th><th>" +
             html_escape(l.at("review_by")) + "</th></tr></thead><tbody>");
    for (const auto& hold : card.holds) {
      page.raw("<tr data-hold=\"" + std::to_string(hold.id) + "\">");
      page.cell("id", std::to_string(hold.id));
      page.cell("state", l.at("state_" + hold.state), hold.state);
      page.cell("cameras", join(hold.cameras, ", "));
      page.cell("range", hal::format_iso8601_utc(hold.from_utc_us) + " – " +
                             hal::format_iso8601_utc(hold.to_utc_us));
      page.cell("review_by", date_of(hold.review_by_utc_us));
      page.raw("</tr>");
    }
    page.raw("</tbody></table>\n");
  }

  page.raw("<h2>" + html_escape(l.at("roles")) + "</h2>\n<table id=\"roles\"><thead><tr><th>" +
           html_escape(l.at("account")) + "</th><th>" + html_escape(l.at("role")) + "</th><th>" +
           html_escape(l.at("assigned")) + "</th></tr></thead><tbody>");
  for (const auto& holder : card.role_holders) {
    page.raw("<tr data-account=\"" + html_escape(holder.name) + "\">");
    page.cell("name", holder.name);
    page.cell("role", l.at("role_" + holder.role), holder.role);
    page.cell("cameras", join(holder.cameras, ", "));
    page.raw("</tr>");
  }
  page.raw("</tbody></table>\n");

  page.raw("<h2>" + html_escape(l.at("logging")) + "</h2>\n<dl id=\"logging\">");
  for (const auto& record : card.logged) {
    page.field(l.at("logged_" + record.key), "logged." + record.key, term_text(record, l),
               record.retention);
  }
  page.raw("</dl>\n");

  page.raw("<h2>" + html_escape(l.at("exports")) + "</h2>\n<dl id=\"export-counts\">");
  page.field(l.at("police_exports"), "exports.police", std::to_string(card.police_exports));
  page.field(l.at("subject_exports"), "exports.subject", std::to_string(card.subject_exports));
  page.raw("</dl>\n");
  if (card.exports_by_legal_basis.empty()) {
    page.raw("<p id=\"no-exports\">" + html_escape(l.at("no_exports")) + "</p>\n");
  } else {
    page.raw("<table id=\"exports\"><thead><tr><th>" + html_escape(l.at("legal_basis")) +
             "</th><th>" + html_escape(l.at("count")) + "</th></tr></thead><tbody>");
    for (const auto& [basis, count] : card.exports_by_legal_basis) {
      page.raw("<tr data-legal-basis=\"" + html_escape(basis) + "\">");
      page.cell("legal_basis", basis);
      page.cell("count", std::to_string(count));
      page.raw("</tr>");
    }
    page.raw("</tbody></table>\n");
  }

  page.raw("<h2>" + html_escape(l.at("dpia")) + "</h2>\n<dl id=\"dpia\">");
  page.field(l.at("dpia_date"), "dpia.date", card.dpia.date.value_or(l.at("not_recorded")),
             card.dpia.date.value_or(""));
  page.field(l.at("dpia_due"), "dpia.due_date", card.dpia.due_date.value_or("—"),
             card.dpia.due_date.value_or(""));
  const std::string state(dpia_state_name(card.dpia.state));
  page.field(l.at("dpia_state"), "dpia.state", l.at("dpia_state_" + state), state);
  page.raw("</dl>\n");
  return page.finish();
}

Document kwaliteitskaart_document(const Kwaliteitskaart& card, std::string_view language) {
  const Labels& l = labels(language);
  Document document;
  document.title = l.at("title");
  auto& b = document.blocks;
  b.emplace_back(BlockKind::kTitle, "", l.at("title"));
  b.emplace_back(BlockKind::kText, "", l.at("intro"));
  b.emplace_back(BlockKind::kField, l.at("generated"),
                 hal::format_iso8601_utc(card.generated_utc_us));
  b.emplace_back(BlockKind::kHeading, "", l.at("appliance"));
  b.emplace_back(BlockKind::kField, l.at("device_name"), card.device_name);
  b.emplace_back(BlockKind::kMono, l.at("device_id"), card.device_id);
  b.emplace_back(BlockKind::kField, l.at("device_location"),
                 card.device_location.empty() ? l.at("not_recorded") : card.device_location);
  b.emplace_back(BlockKind::kField, l.at("board"), card.board);
  b.emplace_back(BlockKind::kField, l.at("firmware_version"), card.firmware_version);
  b.emplace_back(BlockKind::kField, l.at("four_eyes"), card.four_eyes ? l.at("yes") : l.at("no"));
  b.emplace_back(BlockKind::kField, l.at("require_totp"),
                 card.require_totp ? l.at("yes") : l.at("no"));
  b.emplace_back(BlockKind::kHeading, "", l.at("cameras"));
  b.emplace_back(BlockKind::kText, "", l.at("retention_text"));
  if (card.cameras.empty()) b.emplace_back(BlockKind::kText, "", l.at("no_cameras"));
  for (const auto& camera : card.cameras) {
    b.emplace_back(BlockKind::kSubheading, "", camera.name);
    b.emplace_back(BlockKind::kField, l.at("zone"), camera.zone);
    b.emplace_back(BlockKind::kField, l.at("location"), camera.location);
    b.emplace_back(BlockKind::kField, l.at("purpose"), camera.purpose);
    b.emplace_back(BlockKind::kField, l.at("placement"), camera.placement);
    b.emplace_back(BlockKind::kField, l.at("retention_days"),
                   std::to_string(camera.retention_days));
    b.emplace_back(BlockKind::kField, l.at("since"), date_of(camera.since_utc_us));
    if (camera.still_jpeg.empty()) {
      b.emplace_back(BlockKind::kField, l.at("still"), l.at("no_still"));
    } else {
      b.emplace_back(BlockKind::kImage, "", "", false, jpeg_to_png(camera.still_jpeg));
    }
  }
  b.emplace_back(BlockKind::kHeading, "", l.at("holds"));
  if (card.holds.empty()) b.emplace_back(BlockKind::kText, "", l.at("no_holds"));
  for (const auto& hold : card.holds) {
    b.emplace_back(BlockKind::kField, l.at("hold") + " " + std::to_string(hold.id),
                   l.at("state_" + hold.state) + "; " + join(hold.cameras, ", ") + "; " +
                       hal::format_iso8601_utc(hold.from_utc_us) + " – " +
                       hal::format_iso8601_utc(hold.to_utc_us) + "; " + l.at("review_by") + " " +
                       date_of(hold.review_by_utc_us));
  }
  b.emplace_back(BlockKind::kHeading, "", l.at("roles"));
  for (const auto& holder : card.role_holders) {
    std::string value = l.at("role_" + holder.role);
    if (!holder.cameras.empty()) value += " (" + join(holder.cameras, ", ") + ")";
    b.emplace_back(BlockKind::kField, holder.name, value);
  }
  b.emplace_back(BlockKind::kHeading, "", l.at("logging"));
  for (const auto& record : card.logged) {
    b.emplace_back(BlockKind::kField, l.at("logged_" + record.key), term_text(record, l));
  }
  b.emplace_back(BlockKind::kHeading, "", l.at("exports"));
  b.emplace_back(BlockKind::kField, l.at("police_exports"), std::to_string(card.police_exports));
  b.emplace_back(BlockKind::kField, l.at("subject_exports"), std::to_string(card.subject_exports));
  for (const auto& [basis, count] : card.exports_by_legal_basis) {
    b.emplace_back(BlockKind::kField, l.at("legal_basis") + " " + basis, std::to_string(count));
  }
  b.emplace_back(BlockKind::kHeading, "", l.at("dpia"));
  b.emplace_back(BlockKind::kField, l.at("dpia_date"),
                 card.dpia.date.value_or(l.at("not_recorded")));
  b.emplace_back(BlockKind::kField, l.at("dpia_due"), card.dpia.due_date.value_or("—"));
  b.emplace_back(BlockKind::kField, l.at("dpia_state"),
                 l.at("dpia_state_" + std::string(dpia_state_name(card.dpia.state))));
  return document;
}

KwaliteitskaartService::KwaliteitskaartService(recorder::Catalog& catalog, const hal::Clock& clock,
                                               AuditJournal& audit)
    : catalog_(catalog), clock_(clock), audit_(audit) {}

Result<Kwaliteitskaart> KwaliteitskaartService::card() {
  return build_kwaliteitskaart(catalog_, clock_, board_);
}

Result<RenderedReport> KwaliteitskaartService::download(const Principal* person,
                                                        const std::string& format,
                                                        const std::string& language) {
  AuditEvent event;
  event.action = "report_kwaliteitskaart";
  event.object_type = "report";
  event.object_id = "kwaliteitskaart";
  event.details = nlohmann::json{{"format", report_format(format) ? format : "?"},
                                 {"language", report_language(language) ? language : "?"}}
                      .dump();
  const Actor actor = person ? person->actor() : Actor::console();
  if (person) {
    YW_TRY(authorize(audit_, *person, Permission::kReadComplianceReports, std::nullopt, event));
  }
  if (!report_format(format) || !report_language(language)) {
    event.allowed = false;
    event.reason = "unknown format or language";
    (void)audit_.append(actor, event);
    return make_error(ErrorKind::kInvalidArgument,
                      "the kwaliteitskaart comes as html or pdf, in nl or en");
  }
  // The card is read and its download recorded in one transaction: the entry says exactly
  // which state of the configuration was handed out.
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(catalog_.database()));
  YW_ASSIGN_OR_RETURN(Kwaliteitskaart card, build_kwaliteitskaart(catalog_, clock_, board_));
  RenderedReport report;
  const std::string date = date_of(card.generated_utc_us);
  if (format == "pdf") {
    YW_ASSIGN_OR_RETURN(report.body, render_pdf(kwaliteitskaart_document(card, language)));
    report.content_type = "application/pdf";
    report.filename = "kwaliteitskaart-" + date + ".pdf";
  } else {
    report.body = kwaliteitskaart_html(card, language);
    report.content_type = "text/html; charset=utf-8";
    report.filename = "kwaliteitskaart-" + date + ".html";
  }
  YW_TRY(audit_.append(actor, event));
  YW_TRY(transaction.commit());
  return report;
}

Result<std::vector<CameraDescription>> KwaliteitskaartService::descriptions() {
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(auto query, catalog_.database().prepare(
                                      "SELECT camera_id, purpose, placement, still_jpeg, "
                                      "still_width, still_height, updated_by, updated_utc_us FROM "
                                      "camera_descriptions ORDER BY camera_id"));
  std::vector<CameraDescription> list;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool row, query.step());
    if (!row) break;
    CameraDescription d;
    d.camera_id = query.column_int(0);
    d.purpose = query.column_text(1);
    d.placement = query.column_text(2);
    if (!query.column_is_null(3)) d.still_jpeg = query.column_blob(3);
    d.still_width = static_cast<int>(query.column_int(4));
    d.still_height = static_cast<int>(query.column_int(5));
    d.updated_by = query.column_text(6);
    d.updated_utc_us = query.column_int(7);
    list.push_back(std::move(d));
  }
  return list;
}

Result<recorder::Camera> KwaliteitskaartService::camera_for_change(const Principal& by,
                                                                   const std::string& camera,
                                                                   AuditEvent& event) {
  event.object_type = "camera";
  event.camera = camera;
  YW_TRY(authorize(audit_, by, Permission::kManageComplianceRecords, std::nullopt, event));
  auto found = catalog_.camera_by_name(camera);
  if (!found.ok() || found.value().removed_utc_us) {
    event.allowed = false;
    event.reason = "no such camera";
    (void)audit_.append(by.actor(), event);
    return make_error(ErrorKind::kNotFound, "no camera named '" + camera + "'");
  }
  event.object_id = std::to_string(found.value().id);
  return found.value();
}

Status KwaliteitskaartService::describe_camera(const Principal& by, const std::string& camera,
                                               const std::optional<std::string>& purpose,
                                               const std::optional<std::string>& placement) {
  AuditEvent event;
  event.action = "camera_describe";
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(recorder::Camera found, camera_for_change(by, camera, event));
  if ((purpose && !valid_description(*purpose)) || (placement && !valid_description(*placement))) {
    event.allowed = false;
    event.reason = "invalid description";
    (void)audit_.append(by.actor(), event);
    return make_error(ErrorKind::kInvalidArgument,
                      "a purpose or placement is at most 500 characters of text");
  }
  nlohmann::json details = nlohmann::json::object();
  if (purpose) details["purpose"] = *purpose;
  if (placement) details["placement"] = *placement;
  event.details = details.dump();
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(
      auto upsert,
      db.prepare("INSERT INTO camera_descriptions(camera_id, purpose, placement, updated_by, "
                 "updated_utc_us) VALUES (?1, COALESCE(?2, ''), COALESCE(?3, ''), ?4, ?5) "
                 "ON CONFLICT(camera_id) DO UPDATE SET purpose = COALESCE(?2, purpose), "
                 "placement = COALESCE(?3, placement), updated_by = ?4, updated_utc_us = ?5"));
  upsert.bind(1, found.id);
  if (purpose) {
    upsert.bind(2, *purpose);
  } else {
    upsert.bind_null(2);
  }
  if (placement) {
    upsert.bind(3, *placement);
  } else {
    upsert.bind_null(3);
  }
  upsert.bind(4, by.name).bind(5, clock_.now_utc_us());
  YW_TRY(upsert.run());
  YW_TRY(audit_.append(by.actor(), event));
  return transaction.commit();
}

Status KwaliteitskaartService::attach_still(const Principal& by, const std::string& camera,
                                            const std::vector<uint8_t>& jpeg) {
  AuditEvent event;
  event.action = "camera_still_attach";
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(recorder::Camera found, camera_for_change(by, camera, event));
  const auto size = decodable_jpeg(jpeg);
  if (!size) {
    event.allowed = false;
    event.reason = "not a usable JPEG";
    (void)audit_.append(by.actor(), event);
    return make_error(ErrorKind::kInvalidArgument,
                      "the still must be a JPEG image of at most 1 MiB and 4096 pixels a side");
  }
  std::array<uint8_t, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), jpeg.data(), jpeg.size());
  std::string hex(digest.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  hex.pop_back();
  event.details = nlohmann::json{
      {"bytes", jpeg.size()},
      {"width", size->first},
      {"height", size->second},
      {"sha256", hex}}.dump();
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(
      auto upsert,
      db.prepare("INSERT INTO camera_descriptions(camera_id, still_jpeg, still_width, "
                 "still_height, updated_by, updated_utc_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                 "ON CONFLICT(camera_id) DO UPDATE SET still_jpeg = ?2, still_width = ?3, "
                 "still_height = ?4, updated_by = ?5, updated_utc_us = ?6"));
  upsert.bind(1, found.id)
      .bind(2, std::span<const uint8_t>(jpeg))
      .bind(3, int64_t{size->first})
      .bind(4, int64_t{size->second})
      .bind(5, by.name)
      .bind(6, clock_.now_utc_us());
  YW_TRY(upsert.run());
  YW_TRY(audit_.append(by.actor(), event));
  return transaction.commit();
}

Status KwaliteitskaartService::remove_still(const Principal& by, const std::string& camera) {
  AuditEvent event;
  event.action = "camera_still_remove";
  std::lock_guard lock(catalog_.mutex());
  YW_ASSIGN_OR_RETURN(recorder::Camera found, camera_for_change(by, camera, event));
  auto& db = catalog_.database();
  YW_ASSIGN_OR_RETURN(auto attached, db.prepare("SELECT 1 FROM camera_descriptions WHERE "
                                                "camera_id = ?1 AND still_jpeg IS NOT NULL"));
  attached.bind(1, found.id);
  YW_ASSIGN_OR_RETURN(bool has_still, attached.step());
  if (!has_still) {
    event.allowed = false;
    event.reason = "no still attached";
    (void)audit_.append(by.actor(), event);
    return make_error(ErrorKind::kNotFound, "camera '" + camera + "' has no still attached");
  }
  YW_ASSIGN_OR_RETURN(auto transaction, recorder::sql::Transaction::begin(db));
  YW_ASSIGN_OR_RETURN(
      auto clear,
      db.prepare("UPDATE camera_descriptions SET still_jpeg = NULL, still_width = NULL, "
                 "still_height = NULL, updated_by = ?2, updated_utc_us = ?3 WHERE camera_id = ?1"));
  clear.bind(1, found.id).bind(2, by.name).bind(3, clock_.now_utc_us());
  YW_TRY(clear.run());
  YW_TRY(audit_.append(by.actor(), event));
  return transaction.commit();
}

}  // namespace yardwatch::firmware
