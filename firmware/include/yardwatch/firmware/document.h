#pragma once

// Printable documents as PDF, drawn with cairo and laid out with pango in DejaVu (the appliance
// has no browser to print from): the police export's handover receipt and the kwaliteitskaart.
// A document is a list of blocks; the renderer pages it on A4 and keeps a heading with what
// follows it.

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "yardwatch/hal/result.h"

namespace yardwatch::firmware {

enum class BlockKind {
  kTitle,
  kHeading,
  kSubheading,
  kField,      // "label: value"
  kText,       // a paragraph
  kMono,       // "label: value" in a monospaced font (hashes, fingerprints)
  kSignature,  // a line to sign above the label
  kImage,      // a PNG, scaled to the text width (at most half a page high)
};

struct DocumentBlock {
  DocumentBlock(BlockKind kind_ = BlockKind::kText, std::string label_ = {},
                std::string value_ = {}, bool emphasis_ = false, std::vector<uint8_t> png_ = {})
      : kind(kind_),
        label(std::move(label_)),
        value(std::move(value_)),
        emphasis(emphasis_),
        png(std::move(png_)) {}

  BlockKind kind;
  std::string label;
  std::string value;
  bool emphasis;             // larger and bold (the fingerprint the officer compares)
  std::vector<uint8_t> png;  // kImage
};

struct Document {
  std::string title;  // the PDF's title metadata
  std::vector<DocumentBlock> blocks;
};

// The PDF bytes.
Result<std::string> render_pdf(const Document& document);
// Written next to `path` and renamed into place.
Status write_pdf(const std::filesystem::path& path, const Document& document);

// Whether `png` is a PNG that cairo can draw (the renderer skips any other image).
bool drawable_png(const std::vector<uint8_t>& png, int max_side = 4096);

// Text for HTML element content and attribute values.
std::string html_escape(const std::string& text);

}  // namespace yardwatch::firmware
