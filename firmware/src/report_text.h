#pragma once

// Private to the firmware: what the kwaliteitskaart and the access review share to write their
// HTML — a page with inline style and no script, and fields marked with data-field (the text a
// person reads) and data-value (the configuration's own value where the text is a translation),
// so tests and tools can read a report back field by field.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "yardwatch/firmware/document.h"
#include "yardwatch/hal/clock.h"

namespace yardwatch::firmware::report {

using Labels = std::map<std::string, std::string>;

// YYYY-MM-DD (UTC) of a time.
inline std::string date_of(int64_t utc_us) { return hal::format_iso8601_utc(utc_us).substr(0, 10); }

class Html {
 public:
  Html(std::string_view language, const std::string& title) {
    text_ = "<!DOCTYPE html>\n<html lang=\"" + std::string(language) +
            "\"><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
            "</title><style>body{font-family:'DejaVu Sans',sans-serif;max-width:60em;margin:2em "
            "auto;color:#111}dt{font-weight:bold}dd{margin:0 0 .4em 1.5em}table{border-collapse:"
            "collapse}td,th{border:1px solid #999;padding:.2em .5em;text-align:left}img{max-width:"
            "100%}</style></head><body>\n";
  }
  void raw(const std::string& html) { text_ += html; }
  // <dt>label</dt><dd data-field=…>text</dd>; data-value when the value differs from the text.
  void field(const std::string& label, const std::string& name, const std::string& text,
             std::optional<std::string> value = std::nullopt) {
    text_ += "<dt>" + html_escape(label) + "</dt><dd data-field=\"" + html_escape(name) + "\"" +
             value_attribute(text, value) + ">" + html_escape(text) + "</dd>";
  }
  void cell(const std::string& name, const std::string& text,
            std::optional<std::string> value = std::nullopt) {
    text_ += "<td data-field=\"" + html_escape(name) + "\"" + value_attribute(text, value) + ">" +
             html_escape(text) + "</td>";
  }
  std::string finish() {
    text_ += "</body></html>\n";
    return std::move(text_);
  }

 private:
  static std::string value_attribute(const std::string& text,
                                     const std::optional<std::string>& value) {
    if (!value || *value == text) return "";
    return " data-value=\"" + html_escape(*value) + "\"";
  }
  std::string text_;
};

}  // namespace yardwatch::firmware::report
