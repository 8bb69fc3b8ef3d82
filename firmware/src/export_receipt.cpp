#include "yardwatch/firmware/export_receipt.h"

#include <cstdio>
#include <fstream>
#include <vector>

#include "yardwatch/firmware/document.h"
#include "yardwatch/hal/clock.h"

namespace yardwatch::firmware {

namespace {

namespace format = recorder::bundle_format;

// The receipt's content, once, rendered three ways (text, HTML, and PDF through document.h).
using Kind = BlockKind;
using Item = DocumentBlock;

std::string iso(int64_t us) { return hal::format_iso8601_utc(us); }

std::vector<Item> receipt_items(const format::Manifest& m, const std::string& manifest_sha256) {
  std::vector<Item> items;
  auto field = [&](const std::string& label, const std::string& value) {
    items.push_back({Kind::kField, label, value});
  };
  items.push_back(
      {Kind::kTitle, "", "Overdrachtsformulier politie-export / Police export handover receipt"});
  field("Export-id / export id", m.export_id);
  field("Zaak / case", m.case_reference);
  field("Vordering / legal basis", m.legal_basis);
  field("Ontvanger / recipient", m.recipient);
  field("Aangevraagd door / requested by", m.requested_by.name + " (" + m.requested_by.role + ")");
  field("Goedgekeurd door / approved by", m.approved_by.name + " (" + m.approved_by.role + ")");
  field("Gemaakt / created (UTC)",
        iso(m.created_utc_us) + " (klok / clock: " + m.clock_at_export + ")");
  field("Periode / range (UTC)", iso(m.from_utc_us) + " – " + iso(m.to_utc_us));
  field("Apparaat / device", m.device_name + " (" + m.device_id + ")");
  items.push_back({Kind::kHeading, "", "Vingerafdruk apparaatsleutel / device key fingerprint"});
  items.push_back({Kind::kMono, "", m.device_fingerprint, /*emphasis=*/true});
  items.push_back(
      {Kind::kText, "",
       "De ontvanger vergelijkt deze vingerafdruk met de uitvoer van verify.html of "
       "yardwatch-verify. The recipient compares this fingerprint with what verify.html "
       "or yardwatch-verify prints."});
  items.push_back({Kind::kHeading, "", "SHA-256 van manifest.json / of manifest.json"});
  items.push_back({Kind::kMono, "", manifest_sha256});
  items.push_back({Kind::kHeading, "", "Bestanden / files"});
  for (const auto& file : m.files) {
    items.push_back({Kind::kText, "",
                     file.name + " — camera " + file.camera +
                         (file.location.empty() ? "" : " (" + file.location + ")") + ", " +
                         iso(file.start_utc_us) + " – " + iso(file.end_utc_us) + ", " +
                         std::to_string(file.frames) + " frames"});
    items.push_back({Kind::kMono, "MP4", file.mp4_sha256});
    items.push_back({Kind::kMono, "versleuteld / encrypted", file.encrypted_sha256});
  }
  for (const auto& camera : m.cameras) {
    for (const auto& gap : camera.gaps) {
      items.push_back({Kind::kText, "",
                       "Geen beelden / no footage: camera " + camera.name + ", " +
                           iso(gap.from_utc_us) + " – " + iso(gap.to_utc_us)});
    }
  }
  items.push_back({Kind::kText, "",
                   "De wachtwoordzin staat niet op dit formulier en niet op de stick; die wordt "
                   "apart overhandigd. The passphrase is on neither this form nor the stick; it "
                   "is handed over separately."});
  items.push_back({Kind::kHeading, "", "Handtekeningen / signatures"});
  items.push_back(
      {Kind::kSignature, "Afgegeven door (naam, functie) / handed over by (name, role)", ""});
  items.push_back({Kind::kSignature, "Handtekening, datum en tijd / signature, date and time", ""});
  items.push_back(
      {Kind::kSignature, "Ontvangen door (naam, dienst) / received by (name, service)", ""});
  items.push_back({Kind::kSignature, "Handtekening, datum en tijd / signature, date and time", ""});
  return items;
}

}  // namespace

std::string receipt_text(const format::Manifest& m, const std::string& manifest_sha256) {
  std::string out;
  for (const auto& item : receipt_items(m, manifest_sha256)) {
    switch (item.kind) {
      case Kind::kTitle:
        out += item.value + "\n" +
               std::string(item.value.size() > 70 ? 70 : item.value.size(), '=') + "\n";
        break;
      case Kind::kHeading:
        out += "\n" + item.value + ":\n";
        break;
      case Kind::kField:
        out += item.label + ": " + item.value + "\n";
        break;
      case Kind::kText:
        out += item.value + "\n";
        break;
      case Kind::kMono:
        out += "    " + (item.label.empty() ? "" : item.label + ": ") + item.value + "\n";
        break;
      case Kind::kSignature:
        out += "\n" + item.label + ":\n    ______________________________________________\n";
        break;
      case Kind::kSubheading:
      case Kind::kImage:
        break;  // the receipt has none
    }
  }
  return out;
}

std::string receipt_html(const format::Manifest& m, const std::string& manifest_sha256) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\">"
      "<title>Yardwatch " +
      html_escape(m.export_id) +
      "</title><style>"
      "body{font-family:sans-serif;max-width:48em;margin:2em auto}"
      "code{font-family:monospace;word-break:break-all}"
      "dt{font-weight:bold;margin-top:.4em}.sig{margin-top:2.5em;border-top:1px solid #000;"
      "padding-top:.2em;font-size:90%}.fp{font-size:150%}</style></head><body>\n";
  bool in_fields = false;
  for (const auto& item : receipt_items(m, manifest_sha256)) {
    if (item.kind != Kind::kField && in_fields) {
      out += "</dl>\n";
      in_fields = false;
    }
    switch (item.kind) {
      case Kind::kTitle:
        out += "<h1>" + html_escape(item.value) + "</h1>\n";
        break;
      case Kind::kHeading:
        out += "<h2>" + html_escape(item.value) + "</h2>\n";
        break;
      case Kind::kField:
        if (!in_fields) out += "<dl>\n";
        in_fields = true;
        out += "<dt>" + html_escape(item.label) + "</dt><dd>" + html_escape(item.value) + "</dd>\n";
        break;
      case Kind::kText:
        out += "<p>" + html_escape(item.value) + "</p>\n";
        break;
      case Kind::kMono:
        out += std::string("<p><code") + (item.emphasis ? " class=\"fp\"" : "") + ">" +
               (item.label.empty() ? "" : html_escape(item.label) + ": ") +
               html_escape(item.value) + "</code></p>\n";
        break;
      case Kind::kSignature:
        out += "<div class=\"sig\">" + html_escape(item.label) + "</div>\n";
        break;
      case Kind::kSubheading:
      case Kind::kImage:
        break;  // the receipt has none
    }
  }
  if (in_fields) out += "</dl>\n";
  out += "</body></html>\n";
  return out;
}

Status write_receipt_pdf(const std::filesystem::path& path, const format::Manifest& m,
                         const std::string& manifest_sha256) {
  return write_pdf(
      path, Document{"Yardwatch police export " + m.export_id, receipt_items(m, manifest_sha256)});
}

Status write_receipt(const std::filesystem::path& path, const format::Manifest& m,
                     const std::string& manifest_sha256) {
  const std::string extension = path.extension().string();
  if (extension == ".pdf") return write_receipt_pdf(path, m, manifest_sha256);
  if (extension != ".html" && extension != ".htm") {
    return make_error(ErrorKind::kInvalidArgument,
                      "the receipt is written as .pdf or .html; got " + path.string());
  }
  const std::filesystem::path partial = path.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << receipt_html(m, manifest_sha256);
    out.flush();
    if (!out) {
      std::remove(partial.c_str());
      return make_error(ErrorKind::kUnavailable, "could not write " + path.string());
    }
  }
  std::error_code error;
  std::filesystem::rename(partial, path, error);
  if (error)
    return make_error(ErrorKind::kUnavailable,
                      "could not write " + path.string() + ": " + error.message());
  return {};
}

}  // namespace yardwatch::firmware
