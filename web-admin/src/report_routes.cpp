// Compliance reports (R9 and the monthly access review; firmware/design/kwaliteitskaart.md): the
// kwaliteitskaart and the access review as HTML, PDF (and the review as JSON), for directors and
// privacy officers. Who may read them, what is audited and what they say is the firmware's
// (KwaliteitskaartService, AccessReviewService); this file only maps query parameters to their
// calls and their bytes to a download. Everyone else is refused by the router (audited).

#include <httplib.h>

#include "context.h"
#include "yardwatch/firmware/access_review.h"
#include "yardwatch/firmware/kwaliteitskaart.h"

namespace yardwatch::web_admin {

namespace {

using firmware::Permission;

constexpr const char* kMonth = R"((\d{4}-\d{2}))";

// `?lang=nl|en`, default the signed-in person's language.
std::string language_of(const Request& request) {
  auto lang = request.query("lang");
  if (lang) return *lang;  // the firmware refuses anything but nl and en
  return request.principal ? request.principal->language : "nl";
}

Reply download(const firmware::RenderedReport& report, bool attachment) {
  Reply reply = bytes_reply(report.content_type, report.body);
  reply.headers.emplace_back(
      "Content-Disposition",
      std::string(attachment ? "attachment" : "inline") + "; filename=\"" + report.filename + "\"");
  // A report is personal data: never in a shared cache.
  reply.headers.emplace_back("Cache-Control", "no-store");
  // The report page carries its own inline style and a data: still, and no script: it replaces
  // the admin's policy (style-src 'self') with one that allows exactly that.
  if (report.content_type.rfind("text/html", 0) == 0) {
    reply.headers.emplace_back("Content-Security-Policy",
                               "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  }
  return reply;
}

}  // namespace

void add_report_routes(Router& router, WebContext& context) {
  const Access readers = Access::any_of({Permission::kReadComplianceReports});

  for (const char* format : {"html", "pdf"}) {
    router.add({Method::kGet, std::string("/api/v1/reports/kwaliteitskaart[.]") + format, readers,
                0,
                [&context, format](Request& request) {
                  auto report = context.services.kwaliteitskaart.download(
                      &*request.principal, format, language_of(request));
                  if (!report.ok()) return error_reply(report.error());
                  return download(report.value(), std::string(format) == "pdf" ||
                                                      request.query("download").has_value());
                },
                std::string("the kwaliteitskaart (R9) as ") + format +
                    ", generated now from the live configuration; ?lang=nl|en (audited)"});
  }
  for (const char* format : {"html", "pdf", "json"}) {
    router.add({Method::kGet,
                std::string("/api/v1/reports/access-review/") + kMonth + "[.]" + format, readers, 0,
                [&context, format](Request& request) {
                  auto report = context.services.access_review.download(
                      &*request.principal, request.params[0], format, language_of(request));
                  if (!report.ok()) return error_reply(report.error());
                  if (std::string(format) == "json") {
                    Reply reply = bytes_reply("application/json", report.value().body);
                    reply.headers.emplace_back("Cache-Control", "no-store");
                    return reply;
                  }
                  return download(report.value(), std::string(format) == "pdf" ||
                                                      request.query("download").has_value());
                },
                std::string("the access review of a month (YYYY-MM) as ") + format +
                    "; ?lang=nl|en (audited)"});
  }
}

}  // namespace yardwatch::web_admin
