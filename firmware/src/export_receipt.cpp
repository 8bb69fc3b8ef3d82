#include "yardwatch/firmware/export_receipt.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <glib.h>
#include <pango/pangocairo.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <vector>

#include "yardwatch/hal/clock.h"

namespace yardwatch::firmware {

namespace {

namespace format = recorder::bundle_format;

// The receipt's content, once, rendered three ways.
enum class Kind { kTitle, kHeading, kField, kText, kMono, kSignature };

struct Item {
  Kind kind;
  std::string label;  // field label, or the signature line's caption
  std::string value;
};

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
  items.push_back({Kind::kMono, "", m.device_fingerprint});
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

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string markup_escape(const std::string& text) {
  gchar* escaped = g_markup_escape_text(text.c_str(), static_cast<gssize>(text.size()));
  std::string out(escaped);
  g_free(escaped);
  return out;
}

struct CairoSurfaceDeleter {
  void operator()(cairo_surface_t* surface) const { cairo_surface_destroy(surface); }
};
struct CairoDeleter {
  void operator()(cairo_t* cr) const { cairo_destroy(cr); }
};
struct LayoutDeleter {
  void operator()(PangoLayout* layout) const { g_object_unref(layout); }
};
struct FontDeleter {
  void operator()(PangoFontDescription* font) const { pango_font_description_free(font); }
};

// Points (1/72 in): A4 and its margins.
constexpr double kPageWidth = 595.0;
constexpr double kPageHeight = 842.0;
constexpr double kMargin = 50.0;

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
        out += std::string("<p><code") +
               (item.value == m.device_fingerprint ? " class=\"fp\"" : "") + ">" +
               (item.label.empty() ? "" : html_escape(item.label) + ": ") +
               html_escape(item.value) + "</code></p>\n";
        break;
      case Kind::kSignature:
        out += "<div class=\"sig\">" + html_escape(item.label) + "</div>\n";
        break;
    }
  }
  if (in_fields) out += "</dl>\n";
  out += "</body></html>\n";
  return out;
}

Status write_receipt_pdf(const std::filesystem::path& path, const format::Manifest& m,
                         const std::string& manifest_sha256) {
  const std::filesystem::path partial = path.string() + ".partial";
  {
    std::unique_ptr<cairo_surface_t, CairoSurfaceDeleter> surface(
        cairo_pdf_surface_create(partial.c_str(), kPageWidth, kPageHeight));
    if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
      return make_error(ErrorKind::kUnavailable,
                        "cannot create " + partial.string() + ": " +
                            cairo_status_to_string(cairo_surface_status(surface.get())));
    }
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE,
                                   ("Yardwatch police export " + m.export_id).c_str());
    std::unique_ptr<cairo_t, CairoDeleter> cr(cairo_create(surface.get()));
    std::unique_ptr<PangoLayout, LayoutDeleter> layout(pango_cairo_create_layout(cr.get()));
    pango_layout_set_width(layout.get(),
                           static_cast<int>((kPageWidth - 2 * kMargin) * PANGO_SCALE));
    pango_layout_set_wrap(layout.get(), PANGO_WRAP_WORD_CHAR);
    double y = kMargin;
    for (const auto& item : receipt_items(m, manifest_sha256)) {
      std::string font = "DejaVu Sans 9";
      std::string markup;
      double space_before = 2;
      switch (item.kind) {
        case Kind::kTitle:
          font = "DejaVu Sans Bold 14";
          markup = markup_escape(item.value);
          break;
        case Kind::kHeading:
          font = "DejaVu Sans Bold 11";
          markup = markup_escape(item.value);
          space_before = 10;
          break;
        case Kind::kField:
          markup = "<b>" + markup_escape(item.label) + ":</b> " + markup_escape(item.value);
          break;
        case Kind::kText:
          markup = markup_escape(item.value);
          space_before = 4;
          break;
        case Kind::kMono:
          font = item.value == m.device_fingerprint ? "DejaVu Sans Mono Bold 14"
                                                    : "DejaVu Sans Mono 8";
          markup = (item.label.empty() ? "" : markup_escape(item.label) + ": ") +
                   markup_escape(item.value);
          break;
        case Kind::kSignature:
          markup = markup_escape(item.label);
          space_before = 34;  // room to sign above the caption
          break;
      }
      std::unique_ptr<PangoFontDescription, FontDeleter> description(
          pango_font_description_from_string(font.c_str()));
      pango_layout_set_font_description(layout.get(), description.get());
      pango_layout_set_markup(layout.get(), markup.c_str(), -1);
      int width = 0;
      int height = 0;
      pango_layout_get_size(layout.get(), &width, &height);
      const double block = static_cast<double>(height) / PANGO_SCALE;
      // A heading is kept with what follows it (the signature block needs about 150 pt).
      const double keep_with_next = item.kind == Kind::kHeading ? 150.0 : 0.0;
      if (y + space_before + block + keep_with_next > kPageHeight - kMargin) {
        cairo_show_page(cr.get());
        y = kMargin;
      } else {
        y += space_before;
      }
      if (item.kind == Kind::kSignature) {
        cairo_set_line_width(cr.get(), 0.6);
        cairo_move_to(cr.get(), kMargin, y - 3);
        cairo_line_to(cr.get(), kPageWidth - kMargin, y - 3);
        cairo_stroke(cr.get());
      }
      cairo_move_to(cr.get(), kMargin, y);
      pango_cairo_show_layout(cr.get(), layout.get());
      y += block;
    }
    cairo_show_page(cr.get());
    cr.reset();
    cairo_surface_finish(surface.get());
    if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
      std::remove(partial.c_str());
      return make_error(ErrorKind::kResourceExhausted,
                        "could not write " + path.string() + ": " +
                            cairo_status_to_string(cairo_surface_status(surface.get())));
    }
  }
  std::error_code error;
  std::filesystem::rename(partial, path, error);
  if (error)
    return make_error(ErrorKind::kUnavailable,
                      "could not write " + path.string() + ": " + error.message());
  return {};
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
