# Generates board_files.cpp: every board/<name>/board.toml and board/common/nftables.nft as
# string literals, so the binaries
# carry the board descriptions (firmware/include/yardwatch/firmware/board.h).
# Inputs: BOARD_DIR, OUTPUT.
file(GLOB board_files RELATIVE "${BOARD_DIR}" "${BOARD_DIR}/*/board.toml")
list(SORT board_files)
set(entries "")
foreach(relative IN LISTS board_files)
  get_filename_component(board_name "${relative}" DIRECTORY)
  file(READ "${BOARD_DIR}/${relative}" text)
  string(APPEND entries "    {\"${board_name}\", R\"yw_board(${text})yw_board\"},\n")
endforeach()
file(READ "${BOARD_DIR}/common/nftables.nft" firewall)
set(content "// Generated from board/*/board.toml by firmware/embed_boards.cmake. Do not edit.\n#include \"board_files.h\"\n\nnamespace yardwatch::firmware {\n\nstd::span<const EmbeddedBoardFile> embedded_board_files() {\n  static const EmbeddedBoardFile files[] = {\n${entries}  };\n  return files;\n}\n\nstd::string_view embedded_firewall_template() {\n  return R\"yw_board(${firewall})yw_board\";\n}\n\n}  // namespace yardwatch::firmware\n")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" previous)
else()
  set(previous "")
endif()
if(NOT previous STREQUAL content)
  file(WRITE "${OUTPUT}" "${content}")
endif()
