#include "yardwatch/firmware/document.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <glib.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

namespace yardwatch::firmware {

namespace {

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
using SurfacePtr = std::unique_ptr<cairo_surface_t, CairoSurfaceDeleter>;

// Points (1/72 in): A4 and its margins.
constexpr double kPageWidth = 595.0;
constexpr double kPageHeight = 842.0;
constexpr double kMargin = 50.0;

std::string markup_escape(const std::string& text) {
  gchar* escaped = g_markup_escape_text(text.c_str(), static_cast<gssize>(text.size()));
  std::string out(escaped);
  g_free(escaped);
  return out;
}

struct PngReader {
  const std::vector<uint8_t>* bytes;
  size_t offset = 0;
};

cairo_status_t read_png(void* closure, unsigned char* data, unsigned int length) {
  auto* reader = static_cast<PngReader*>(closure);
  if (reader->bytes->size() - reader->offset < length) return CAIRO_STATUS_READ_ERROR;
  std::memcpy(data, reader->bytes->data() + reader->offset, length);
  reader->offset += length;
  return CAIRO_STATUS_SUCCESS;
}

SurfacePtr decode_png(const std::vector<uint8_t>& png) {
  PngReader reader{&png};
  SurfacePtr image(cairo_image_surface_create_from_png_stream(read_png, &reader));
  if (cairo_surface_status(image.get()) != CAIRO_STATUS_SUCCESS) return nullptr;
  return image;
}

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// Draws the document on a PDF surface.
Status draw(cairo_surface_t* surface, const Document& document) {
  if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
    return make_error(ErrorKind::kUnavailable,
                      std::string("cannot create the PDF: ") +
                          cairo_status_to_string(cairo_surface_status(surface)));
  }
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, document.title.c_str());
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "Yardwatch");
  std::unique_ptr<cairo_t, CairoDeleter> cr(cairo_create(surface));
  std::unique_ptr<PangoLayout, LayoutDeleter> layout(pango_cairo_create_layout(cr.get()));
  const double text_width = kPageWidth - 2 * kMargin;
  pango_layout_set_width(layout.get(), static_cast<int>(text_width * PANGO_SCALE));
  pango_layout_set_wrap(layout.get(), PANGO_WRAP_WORD_CHAR);
  double y = kMargin;
  auto new_page_if = [&](double needed) {
    if (y + needed > kPageHeight - kMargin) {
      cairo_show_page(cr.get());
      y = kMargin;
      return true;
    }
    return false;
  };
  for (const auto& block : document.blocks) {
    if (block.kind == BlockKind::kImage) {
      SurfacePtr image = decode_png(block.png);
      if (!image) continue;
      const double width = cairo_image_surface_get_width(image.get());
      const double height = cairo_image_surface_get_height(image.get());
      const double scale =
          std::min({text_width / width, (kPageHeight - 2 * kMargin) / 2 / height, 1.0});
      const double drawn = height * scale;
      if (!new_page_if(6 + drawn)) y += 6;
      cairo_save(cr.get());
      cairo_translate(cr.get(), kMargin, y);
      cairo_scale(cr.get(), scale, scale);
      cairo_set_source_surface(cr.get(), image.get(), 0, 0);
      cairo_paint(cr.get());
      cairo_restore(cr.get());
      y += drawn;
      continue;
    }
    std::string font = "DejaVu Sans 9";
    std::string markup;
    double space_before = 2;
    switch (block.kind) {
      case BlockKind::kTitle:
        font = "DejaVu Sans Bold 14";
        markup = markup_escape(block.value);
        break;
      case BlockKind::kHeading:
        font = "DejaVu Sans Bold 11";
        markup = markup_escape(block.value);
        space_before = 10;
        break;
      case BlockKind::kSubheading:
        font = "DejaVu Sans Bold 9.5";
        markup = markup_escape(block.value);
        space_before = 7;
        break;
      case BlockKind::kField:
        markup = "<b>" + markup_escape(block.label) + ":</b> " + markup_escape(block.value);
        break;
      case BlockKind::kText:
        markup = markup_escape(block.value);
        space_before = 4;
        break;
      case BlockKind::kMono:
        font = block.emphasis ? "DejaVu Sans Mono Bold 14" : "DejaVu Sans Mono 8";
        markup = (block.label.empty() ? "" : markup_escape(block.label) + ": ") +
                 markup_escape(block.value);
        break;
      case BlockKind::kSignature:
        markup = markup_escape(block.label);
        space_before = 34;  // room to sign above the caption
        break;
      case BlockKind::kImage:
        break;
    }
    std::unique_ptr<PangoFontDescription, FontDeleter> description(
        pango_font_description_from_string(font.c_str()));
    pango_layout_set_font_description(layout.get(), description.get());
    pango_layout_set_markup(layout.get(), markup.c_str(), -1);
    int width = 0;
    int height = 0;
    pango_layout_get_size(layout.get(), &width, &height);
    const double extent = static_cast<double>(height) / PANGO_SCALE;
    // A heading is kept with what follows it (the signature block needs about 150 pt).
    const double keep_with_next = block.kind == BlockKind::kHeading      ? 150.0
                                  : block.kind == BlockKind::kSubheading ? 40.0
                                                                         : 0.0;
    if (!new_page_if(space_before + extent + keep_with_next)) y += space_before;
    if (block.kind == BlockKind::kSignature) {
      cairo_set_line_width(cr.get(), 0.6);
      cairo_move_to(cr.get(), kMargin, y - 3);
      cairo_line_to(cr.get(), kPageWidth - kMargin, y - 3);
      cairo_stroke(cr.get());
    }
    cairo_move_to(cr.get(), kMargin, y);
    pango_cairo_show_layout(cr.get(), layout.get());
    y += extent;
  }
  cairo_show_page(cr.get());
  cr.reset();
  cairo_surface_finish(surface);
  if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
    return make_error(ErrorKind::kResourceExhausted,
                      std::string("could not write the PDF: ") +
                          cairo_status_to_string(cairo_surface_status(surface)));
  }
  return {};
}

}  // namespace

bool drawable_png(const std::vector<uint8_t>& png, int max_side) {
  SurfacePtr image = decode_png(png);
  if (!image) return false;
  const int width = cairo_image_surface_get_width(image.get());
  const int height = cairo_image_surface_get_height(image.get());
  return width > 0 && height > 0 && width <= max_side && height <= max_side;
}

Result<std::string> render_pdf(const Document& document) {
  std::string bytes;
  {
    SurfacePtr surface(
        cairo_pdf_surface_create_for_stream(append_bytes, &bytes, kPageWidth, kPageHeight));
    YW_TRY(draw(surface.get(), document));
  }
  return bytes;
}

Status write_pdf(const std::filesystem::path& path, const Document& document) {
  const std::filesystem::path partial = path.string() + ".partial";
  {
    SurfacePtr surface(cairo_pdf_surface_create(partial.c_str(), kPageWidth, kPageHeight));
    if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
      return make_error(ErrorKind::kUnavailable,
                        "cannot create " + partial.string() + ": " +
                            cairo_status_to_string(cairo_surface_status(surface.get())));
    }
    if (auto drawn = draw(surface.get(), document); !drawn.ok()) {
      surface.reset();
      std::remove(partial.c_str());
      return make_error(drawn.error().kind,
                        "could not write " + path.string() + ": " + drawn.error().message);
    }
  }
  std::error_code error;
  std::filesystem::rename(partial, path, error);
  if (error) {
    std::remove(partial.c_str());
    return make_error(ErrorKind::kUnavailable,
                      "could not write " + path.string() + ": " + error.message());
  }
  return {};
}

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
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

}  // namespace yardwatch::firmware
