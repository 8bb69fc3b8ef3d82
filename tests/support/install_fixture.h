#pragma once

// The installed form of the build: `cmake --install` into a staging root (DESTDIR), the way the
// Debian package lays it out, for the tests of the units, the RAUC bundle and the package.

#include <filesystem>

namespace yardwatch::testing {

// Installs the build into `root` (prefix /usr) and returns it; fails the test on error.
std::filesystem::path install_into(const std::filesystem::path& root);

// A root for `systemd-analyze --root`: the staged install plus a copy of this machine's own
// systemd units (the targets the Yardwatch units refer to).
std::filesystem::path systemd_root(const std::filesystem::path& root);

}  // namespace yardwatch::testing
