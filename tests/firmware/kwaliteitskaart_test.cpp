// The kwaliteitskaart (R9) and the monthly access review on a real appliance (SQLite file on
// disk, keys, hash-chained audit journal) with a simulated clock. The HTML is read back with
// libxml2's HTML parser and XPath, field by field; the PDF with poppler's pdftotext.

#include "yardwatch/firmware/kwaliteitskaart.h"

#include <libxml/HTMLparser.h>
#include <libxml/xpath.h>
#include <sodium.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "appliance_fixture.h"
#include "retention_fixture.h"
#include "test_support.h"
#include "yardwatch/firmware/access_review.h"
#include "yardwatch/firmware/cameras.h"
#include "yardwatch/firmware/settings.h"

namespace yardwatch::firmware {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::kDayUs;
using testing::kHourUs;
using testing::RetentionFixture;

int64_t at(const char* iso) { return hal::parse_iso8601_utc_us(iso).value(); }

// An HTML document parsed by libxml2, queried with XPath.
class HtmlDocument {
 public:
  explicit HtmlDocument(const std::string& html)
      : doc_(htmlReadMemory(html.data(), static_cast<int>(html.size()), nullptr, "utf-8",
                            HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET),
             xmlFreeDoc) {
    REQUIRE(doc_ != nullptr);
  }
  // The text of every node the expression selects.
  std::vector<std::string> all(const std::string& xpath) const {
    std::unique_ptr<xmlXPathContext, decltype(&xmlXPathFreeContext)> context(
        xmlXPathNewContext(doc_.get()), xmlXPathFreeContext);
    std::unique_ptr<xmlXPathObject, decltype(&xmlXPathFreeObject)> result(
        xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(xpath.c_str()), context.get()),
        xmlXPathFreeObject);
    REQUIRE(result != nullptr);
    std::vector<std::string> texts;
    if (result->nodesetval == nullptr) return texts;
    for (int i = 0; i < result->nodesetval->nodeNr; ++i) {
      xmlChar* content = xmlNodeGetContent(result->nodesetval->nodeTab[i]);
      texts.emplace_back(content ? reinterpret_cast<const char*>(content) : "");
      xmlFree(content);
    }
    return texts;
  }
  std::string one(const std::string& xpath) const {
    auto texts = all(xpath);
    INFO(xpath);
    REQUIRE(texts.size() == 1);
    return texts[0];
  }

 private:
  std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc_;
};

std::string camera_field(const HtmlDocument& html, const std::string& camera,
                         const std::string& field) {
  return html.one("//section[@data-camera='" + camera + "']//*[@data-field='" + field + "']");
}

std::vector<uint8_t> test_jpeg() {
  cv::Mat image(120, 160, CV_8UC3, cv::Scalar(40, 160, 60));
  cv::rectangle(image, {20, 20}, {140, 100}, cv::Scalar(200, 200, 200), -1);
  std::vector<uint8_t> jpeg;
  REQUIRE(cv::imencode(".jpg", image, jpeg));
  return jpeg;
}

std::string pdf_text(const fs::path& dir, const std::string& pdf) {
  const fs::path file = dir / "report.pdf";
  testing::write_file(file, pdf);
  auto result = testing::run_command({"/usr/bin/pdftotext", file.string(), "-"});
  REQUIRE(result.exit_code == 0);
  return result.out;
}

struct Card {
  RetentionFixture fixture{at("2026-11-20T10:00:00Z")};
  KwaliteitskaartService service{fixture.catalog(), fixture.clock(), fixture.audit()};
  Principal director = fixture.person("directeur.de.vries", Role::kDirector);
  Principal officer = fixture.person("fg.jansen", Role::kPrivacyOfficer);
  Principal admin = fixture.person("ict.bakker", Role::kAdmin);
  Principal viewer;
  int64_t yard = 0;
  int64_t shed = 0;

  Card() {
    service.set_board("host-sim");
    yard = add("schoolplein", "schoolyard", "achtergevel, boven de gymzaal", 28);
    shed = add("fietsenstalling", "bicycle_shed", "hoek Kerkstraat", 7);
    add("hek-noord", "fence", "noordhek bij de poort", 14);
    viewer = fixture.person("conciërge", Role::kViewer, {yard});
  }

  int64_t add(const std::string& name, const std::string& zone, const std::string& location,
              int retention) {
    recorder::CameraSpec spec;
    spec.name = name;
    spec.url = "rtsp://127.0.0.1:1/" + name;
    spec.zone = zone;
    spec.location = location;
    spec.retention_days = retention;
    auto added = fixture.catalog().add_camera(spec, fixture.clock().now_utc_us());
    REQUIRE(added.ok());
    return added.value().id;
  }

  void add_export(const std::string& id, const std::string& legal_basis, const std::string& state) {
    std::lock_guard lock(fixture.catalog().mutex());
    auto insert = fixture.catalog().database().prepare(
        "INSERT INTO exports(id, created_utc_us, approved_by, case_reference, legal_basis, "
        "recipient, requested_by, cameras, from_utc_us, to_utc_us, target, state) VALUES (?1, "
        "?2, 'directeur.de.vries', 'PL0900-1', ?3, 'Politie', 'Politie', '[\"schoolplein\"]', "
        "0, 1, 'dir', ?4)");
    REQUIRE(insert.ok());
    REQUIRE(insert.value()
                .bind(1, id)
                .bind(2, fixture.clock().now_utc_us())
                .bind(3, legal_basis)
                .bind(4, state)
                .run()
                .ok());
  }

  std::string html(const Principal* who = nullptr, const std::string& language = "nl") {
    auto report = service.download(who ? who : &director, "html", language);
    INFO((report.ok() ? "" : report.error().message));
    REQUIRE(report.ok());
    CHECK(report.value().content_type == "text/html; charset=utf-8");
    return report.value().body;
  }
};

TEST_CASE("R9: the kwaliteitskaart matches the configuration field by field") {
  Card card;
  auto& f = card.fixture;
  const Actor console = Actor::console();
  REQUIRE(set_setting(f.catalog(), f.audit(), console, "policy.dpia_date", "2024-05-01").ok());
  REQUIRE(set_setting(f.catalog(), f.audit(), console, "device.name", "OBS De Linde").ok());
  REQUIRE(
      set_setting(f.catalog(), f.audit(), console, kDeviceLocationSetting, "serverkast, kamer 1.04")
          .ok());
  REQUIRE(card.service
              .describe_camera(card.director, "schoolplein",
                               std::string("vandalisme en inbraak buiten schooltijd"),
                               std::string("op 4 m hoogte, kijkt over het plein naar de poort"))
              .ok());
  REQUIRE(card.service
              .describe_camera(card.director, "fietsenstalling",
                               std::string("diefstal van fietsen"), std::nullopt)
              .ok());
  const auto jpeg = test_jpeg();
  REQUIRE(card.service.attach_still(card.director, "schoolplein", jpeg).ok());
  auto hold = f.holds().place(card.director, f.hold_spec({"schoolplein", "fietsenstalling"},
                                                         f.clock().now_utc_us() - 2 * kDayUs,
                                                         f.clock().now_utc_us() - kDayUs));
  REQUIRE(hold.ok());
  card.add_export("e1", "vordering 126nd Sv", "complete");
  card.add_export("e2", "vordering 126nd Sv", "complete");
  card.add_export("e3", "bevel art. 96a Sv", "complete");
  card.add_export("e4", "bevel art. 96a Sv", "failed");

  const HtmlDocument html(card.html());
  CHECK(html.one("//*[@data-field='device.name']") == "OBS De Linde");
  CHECK(html.one("//*[@data-field='device.location']") == "serverkast, kamer 1.04");
  CHECK(html.one("//*[@data-field='device.board']") == "host-sim");
  CHECK(html.one("//*[@data-field='device.id']") == f.catalog().device_id().value());
  CHECK_FALSE(html.one("//*[@data-field='device.firmware_version']").empty());

  // Every camera of the placement plan, each field as the catalog and the descriptions hold it.
  auto cameras = f.catalog().cameras(false).value();
  REQUIRE(html.all("//section[@data-camera]").size() == cameras.size());
  auto descriptions = card.service.descriptions().value();
  for (const auto& camera : cameras) {
    INFO(camera.spec.name);
    CHECK(camera_field(html, camera.spec.name, "zone") == camera.spec.zone);
    CHECK(camera_field(html, camera.spec.name, "location") == camera.spec.location);
    CHECK(camera_field(html, camera.spec.name, "retention_days") ==
          std::to_string(camera.spec.retention_days));
    std::string purpose, placement;
    bool still = false;
    for (const auto& d : descriptions) {
      if (d.camera_id != camera.id) continue;
      purpose = d.purpose;
      placement = d.placement;
      still = !d.still_jpeg.empty();
    }
    CHECK(camera_field(html, camera.spec.name, "purpose") == purpose);
    CHECK(camera_field(html, camera.spec.name, "placement") == placement);
    CHECK(html.one("//section[@data-camera='" + camera.spec.name +
                   "']//*[@data-field='still']/@data-value") == (still ? "jpeg" : "none"));
  }
  CHECK(camera_field(html, "schoolplein", "purpose") == "vandalisme en inbraak buiten schooltijd");
  CHECK(camera_field(html, "fietsenstalling", "retention_days") == "7");
  // The still is the attached JPEG, byte for byte.
  const std::string src = html.one("//section[@data-camera='schoolplein']//img/@src");
  REQUIRE(src.rfind("data:image/jpeg;base64,", 0) == 0);
  std::vector<uint8_t> decoded(jpeg.size() + 16);
  size_t decoded_length = 0;
  const std::string b64 = src.substr(23);
  REQUIRE(sodium_base642bin(decoded.data(), decoded.size(), b64.data(), b64.size(), nullptr,
                            &decoded_length, nullptr, sodium_base64_VARIANT_ORIGINAL) == 0);
  decoded.resize(decoded_length);
  CHECK(decoded == jpeg);

  // Holds in force.
  CHECK(html.all("//tr[@data-hold]").size() == 1);
  CHECK(html.one("//tr[@data-hold='" + std::to_string(hold.value().id) +
                 "']/*[@data-field='state']/@data-value") == "active");
  CHECK(html.one("//tr[@data-hold='" + std::to_string(hold.value().id) +
                 "']/*[@data-field='cameras']") == "fietsenstalling, schoolplein");

  // Roles and who holds them: every enabled account, with its role.
  {
    std::lock_guard lock(f.catalog().mutex());
    auto accounts =
        f.catalog().database().prepare("SELECT name, role FROM accounts WHERE disabled = 0");
    REQUIRE(accounts.ok());
    int n = 0;
    while (accounts.value().step().value()) {
      const std::string name = accounts.value().column_text(0);
      INFO(name);
      CHECK(html.one("//tr[@data-account='" + name + "']/*[@data-field='role']/@data-value") ==
            accounts.value().column_text(1));
      ++n;
    }
    CHECK(html.all("//tr[@data-account]").size() == static_cast<size_t>(n));
  }
  CHECK(html.one("//tr[@data-account='conciërge']/*[@data-field='cameras']") == "schoolplein");

  // Export history by legal basis (complete police exports only).
  CHECK(html.one("//*[@data-field='exports.police']") == "3");
  CHECK(html.one("//tr[@data-legal-basis='vordering 126nd Sv']/*[@data-field='count']") == "2");
  CHECK(html.one("//tr[@data-legal-basis='bevel art. 96a Sv']/*[@data-field='count']") == "1");

  // Logging and the DPIA.
  CHECK(html.one("//*[@data-field='logged.audit']/@data-value") == "730d");
  CHECK(html.one("//*[@data-field='dpia.date']") == "2024-05-01");
  CHECK(html.one("//*[@data-field='dpia.due_date']") == "2027-05-01");
  CHECK(html.one("//*[@data-field='dpia.state']/@data-value") == "current");
  CHECK(html.one("/html/@lang") == "nl");
  CHECK(HtmlDocument(card.html(nullptr, "en")).one("/html/@lang") == "en");

  // The PDF renders and says the same.
  auto pdf = card.service.download(&card.officer, "pdf", "nl");
  REQUIRE(pdf.ok());
  CHECK(pdf.value().content_type == "application/pdf");
  const std::string text = pdf_text(f.data_dir().parent_path(), pdf.value().body);
  for (const char* expected : {"schoolplein", "fietsenstalling", "hek-noord", "2024-05-01",
                               "2027-05-01", "Bewaartermijn (dagen): 7", "OBS De Linde"}) {
    INFO(expected);
    CHECK(text.find(expected) != std::string::npos);
  }

  // Never a stale file: a change to the configuration is on the next download.
  REQUIRE(update_camera(f.catalog(), f.audit(), console, "schoolplein", {14, std::nullopt}).ok());
  REQUIRE(card.service.remove_still(card.director, "schoolplein").ok());
  REQUIRE(f.holds().release(card.director, hold.value().id, "case closed").ok());
  REQUIRE(set_setting(f.catalog(), f.audit(), console, "policy.dpia_date", "2026-09-15").ok());
  const HtmlDocument changed(card.html());
  CHECK(camera_field(changed, "schoolplein", "retention_days") == "14");
  CHECK(changed.one("//section[@data-camera='schoolplein']//*[@data-field='still']/@data-value") ==
        "none");
  CHECK(changed.all("//tr[@data-hold]").empty());
  CHECK(changed.one("//*[@data-field='dpia.date']") == "2026-09-15");

  // Each download is on record.
  const auto downloads = f.entries("report_kwaliteitskaart");
  CHECK(downloads.size() == 4);
  for (const auto& entry : downloads) CHECK(entry.event.allowed);
}

TEST_CASE("R9: only directors and privacy officers download the kwaliteitskaart, denials audited") {
  Card card;
  CHECK(card.service.download(&card.officer, "html", "nl").ok());
  CHECK(card.service.download(&card.director, "pdf", "en").ok());
  CHECK(card.service.download(nullptr, "html", "nl").ok());  // the console
  for (const Principal* who : {&card.admin, &card.viewer}) {
    auto refused = card.service.download(who, "html", "nl");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::kPermissionDenied);
  }
  CHECK_FALSE(card.service.download(&card.director, "docx", "nl").ok());
  int allowed = 0;
  std::set<std::string> denied;
  for (const auto& entry : card.fixture.entries("report_kwaliteitskaart")) {
    if (entry.event.allowed) {
      ++allowed;
    } else {
      denied.insert(entry.actor.name);
    }
  }
  CHECK(allowed == 3);
  CHECK(denied == std::set<std::string>{"ict.bakker", "conciërge", "directeur.de.vries"});
  // Describing cameras and attaching stills is the director's.
  CHECK(card.service.attach_still(card.officer, "schoolplein", test_jpeg()).error().kind ==
        ErrorKind::kPermissionDenied);
  CHECK(card.service.attach_still(card.director, "schoolplein", {0xFF, 0xD8, 0x00, 0x01})
            .error()
            .kind == ErrorKind::kInvalidArgument);
  CHECK(card.service.attach_still(card.director, "nergens", test_jpeg()).error().kind ==
        ErrorKind::kNotFound);
  CHECK(card.service.remove_still(card.director, "schoolplein").error().kind ==
        ErrorKind::kNotFound);
  CHECK(card.fixture.entries("camera_still_attach").size() == 3);
}

void record_viewing(RetentionFixture& f, const Principal& who, const std::string& camera,
                    const std::string& purpose, const std::string& kind, bool allowed = true) {
  AuditEvent event;
  event.action = "viewing_open";
  event.object_type = "camera";
  event.camera = camera;
  event.purpose = purpose;
  event.allowed = allowed;
  event.details = json{{"kind", kind}}.dump();
  REQUIRE(f.audit().append(who.actor(), event).ok());
}

void set_last_login(RetentionFixture& f, const Principal& who, int64_t utc_us) {
  std::lock_guard lock(f.catalog().mutex());
  auto update =
      f.catalog().database().prepare("UPDATE accounts SET last_login_utc_us = ?1 WHERE id = ?2");
  REQUIRE(update.ok());
  REQUIRE(update.value().bind(1, utc_us).bind(2, who.account_id).run().ok());
}

TEST_CASE("Access review counts a month's viewings, long holds and unused accounts") {
  RetentionFixture f(at("2026-10-30T09:00:00Z"));
  AccessReviewService service(f.catalog(), f.clock(), f.audit());
  const int64_t yard = f.camera("schoolplein");
  f.camera("fietsenstalling");
  const auto director = f.person("directeur", Role::kDirector);
  const auto officer = f.person("fg", Role::kPrivacyOfficer);
  const auto viewer = f.person("conciërge", Role::kViewer, {yard});
  const auto idle = f.person("oud-account", Role::kViewer, {yard});
  const auto recent = f.person("invaller", Role::kViewer, {yard});

  // A hold placed on 30 October: open longer than 4 weeks at the end of November.
  const int64_t now = f.clock().now_utc_us();
  auto old_hold =
      f.holds().place(director, f.hold_spec({"schoolplein"}, now - 2 * kDayUs, now - kDayUs));
  REQUIRE(old_hold.ok());
  record_viewing(f, viewer, "schoolplein", "melding vernieling", "recorded");  // October

  f.clock().advance_us(5 * kDayUs);  // 4 November
  record_viewing(f, viewer, "schoolplein", "melding vernieling", "recorded");
  record_viewing(f, viewer, "schoolplein", "melding vernieling", "recorded");
  record_viewing(f, viewer, "schoolplein", "controle live beeld", "live");
  record_viewing(f, viewer, "fietsenstalling", "niet toegewezen camera", "recorded", false);
  record_viewing(f, director, "fietsenstalling", "diefstal fiets 3 nov", "recorded");

  f.clock().advance_us(16 * kDayUs);  // 20 November: a hold too young to list
  const int64_t later = f.clock().now_utc_us();
  REQUIRE(f.holds()
              .place(director, f.hold_spec({"fietsenstalling"}, later - 2 * kDayUs, later - kDayUs))
              .ok());

  f.clock().advance_us(15 * kDayUs);  // 5 December
  record_viewing(f, director, "schoolplein", "december", "recorded");
  const int64_t month_end = at("2026-12-01T00:00:00Z");
  for (const auto& who : {director, officer, viewer}) set_last_login(f, who, month_end - kDayUs);
  set_last_login(f, idle, month_end - 91 * kDayUs);
  set_last_login(f, recent, month_end - 89 * kDayUs);

  auto review = service.review("2026-11");
  REQUIRE(review.ok());
  const AccessReview& r = review.value();
  CHECK(r.reference_utc_us == month_end);
  REQUIRE(r.viewings.size() == 3);
  std::map<std::pair<std::string, std::string>, ViewingCount> by;
  for (const auto& v : r.viewings) by[{v.account, v.camera}] = v;
  const auto& mine = by.at({"conciërge", "schoolplein"});
  CHECK(mine.viewings == 3);
  CHECK(mine.live == 1);
  CHECK(mine.recorded == 2);
  CHECK(mine.purposes ==
        std::map<std::string, int64_t>{{"melding vernieling", 2}, {"controle live beeld", 1}});
  CHECK(by.at({"conciërge", "fietsenstalling"}).viewings == 0);
  CHECK(by.at({"conciërge", "fietsenstalling"}).denied == 1);
  CHECK(by.at({"directeur", "fietsenstalling"}).viewings == 1);
  CHECK(by.at({"directeur", "fietsenstalling"}).role == "director");

  REQUIRE(r.long_holds.size() == 1);
  CHECK(r.long_holds[0].id == old_hold.value().id);
  CHECK(r.long_holds[0].open_days == 31);

  REQUIRE(r.unused_accounts.size() == 1);
  CHECK(r.unused_accounts[0].name == "oud-account");
  CHECK(r.unused_accounts[0].unused_days == 91);

  // The JSON and HTML say the same; the PDF renders.
  const json body = json::parse(access_review_json(r));
  CHECK(body["month"] == "2026-11");
  CHECK(body["totals"]["viewings"] == 4);
  CHECK(body["unused_accounts"][0]["account"] == "oud-account");
  const HtmlDocument html(access_review_html(r, "nl"));
  CHECK(html.one("//tr[@data-account='conciërge'][@data-camera='schoolplein']/*[@data-field="
                 "'viewings']") == "3");
  CHECK(html.one("//table[@id='unused-accounts']//tr[@data-account]/@data-account") ==
        "oud-account");
  auto pdf = service.download(&officer, "2026-11", "pdf", "en");
  REQUIRE(pdf.ok());
  const std::string text = pdf_text(f.data_dir().parent_path(), pdf.value().body);
  CHECK(text.find("oud-account") != std::string::npos);

  // Roles: viewers and admins are refused (audited); a month not begun is refused.
  const auto admin = f.person("ict", Role::kAdmin);
  CHECK(service.download(&viewer, "2026-11", "json", "nl").error().kind ==
        ErrorKind::kPermissionDenied);
  CHECK(service.download(&admin, "2026-11", "json", "nl").error().kind ==
        ErrorKind::kPermissionDenied);
  CHECK(service.download(&director, "2027-01", "json", "nl").error().kind ==
        ErrorKind::kInvalidArgument);
  CHECK(service.download(&director, "2026-13", "json", "nl").error().kind ==
        ErrorKind::kInvalidArgument);
  int denied = 0;
  for (const auto& entry : f.entries("report_access_review")) denied += entry.event.allowed ? 0 : 1;
  CHECK(denied == 4);
}

TEST_CASE("Access review: the monthly note is written once per month") {
  RetentionFixture f(at("2026-11-14T12:00:00Z"));
  AccessReviewService service(f.catalog(), f.clock(), f.audit());
  REQUIRE(service.note_previous_month_ready().value());  // October, on the first run
  CHECK_FALSE(service.note_previous_month_ready().value());
  f.clock().advance_us(10 * kDayUs);
  CHECK_FALSE(service.note_previous_month_ready().value());
  f.clock().advance_us(8 * kDayUs);  // 2 December
  CHECK(service.note_previous_month_ready().value());
  CHECK_FALSE(service.note_previous_month_ready().value());
  f.clock().jump_wall_clock_us(-30 * kDayUs);  // a clock set back: nothing again
  CHECK_FALSE(service.note_previous_month_ready().value());
  const auto notes = f.entries("access_review_ready");
  REQUIRE(notes.size() == 2);
  std::set<std::string> months;
  for (const auto& entry : notes) {
    months.insert(json::parse(entry.event.details)["month"].get<std::string>());
    CHECK(entry.actor.name == "system");
  }
  CHECK(months == std::set<std::string>{"2026-10", "2026-11"});
  (void)kHourUs;
}

}  // namespace
}  // namespace yardwatch::firmware
