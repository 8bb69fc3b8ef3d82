#pragma once

// The handover receipt of a police export: the chain-of-custody form that goes with the stick on
// paper (export id, case, recipient, files with their SHA-256, the device key fingerprint the
// receiving officer compares with `yardwatch-verify`, and lines for signatures). As plain text
// for the terminal, as HTML, and as PDF drawn with cairo and pango (the appliance has no
// browser to print from).

#include <filesystem>
#include <string>

#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/bundle_format.h"

namespace yardwatch::firmware {

std::string receipt_text(const recorder::bundle_format::Manifest& manifest,
                         const std::string& manifest_sha256);
std::string receipt_html(const recorder::bundle_format::Manifest& manifest,
                         const std::string& manifest_sha256);
// A4, as many pages as the file list needs. Written next to the target and renamed into place.
Status write_receipt_pdf(const std::filesystem::path& path,
                         const recorder::bundle_format::Manifest& manifest,
                         const std::string& manifest_sha256);

// Writes the receipt as HTML or PDF, chosen by the file's extension (.html/.htm or .pdf).
Status write_receipt(const std::filesystem::path& path,
                     const recorder::bundle_format::Manifest& manifest,
                     const std::string& manifest_sha256);

}  // namespace yardwatch::firmware
