#pragma once

// Small files only this appliance may read (the label, the TLS key, the factory-reset marker),
// written so that a power cut leaves the old file or the new one, never a torn one.

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "yardwatch/hal/result.h"

namespace yardwatch::firmware {

struct FileOwner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// Writes `text` to `path` through "<path>.tmp": created afresh (0600, not through a link),
// fsync, optionally handed to `owner`, renamed over `path`.
Status write_private_file(const std::filesystem::path& path, const std::string& text,
                          std::optional<FileOwner> owner = std::nullopt);

}  // namespace yardwatch::firmware
