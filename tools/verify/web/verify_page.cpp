#include "verify_page.h"

// The page's bytes, included by the assembler: no generated C++ array of a megabyte to compile.
__asm__(
    ".section .rodata.yw_verify_page,\"a\"\n"
    ".global yw_verify_page_begin\n"
    "yw_verify_page_begin:\n"
    ".incbin \"" YW_VERIFY_HTML_PATH
    "\"\n"
    ".global yw_verify_page_end\n"
    "yw_verify_page_end:\n"
    ".previous\n");

extern "C" const uint8_t yw_verify_page_begin[];
extern "C" const uint8_t yw_verify_page_end[];

namespace yardwatch::verify_page {

std::span<const uint8_t> html() {
  return {yw_verify_page_begin, static_cast<size_t>(yw_verify_page_end - yw_verify_page_begin)};
}

}  // namespace yardwatch::verify_page
