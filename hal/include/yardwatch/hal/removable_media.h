#pragma once

// hal::RemovableMedia: USB sticks (and, on host-sim, plain directories) that police export
// bundles are written to. Nothing else in Yardwatch writes outside the data volume.
//
// The contract the export relies on (recorder/design/bundle.md, "Writing"):
//  - a target is a fresh directory created for one bundle, never an existing one;
//  - files are created exclusively, written, made durable (`finish` = fsync) and can be read
//    back from the medium, with the page cache dropped first where the OS allows, so that
//    "verified" means the bytes came back from the stick, not from memory;
//  - a medium that fills up reports kResourceExhausted, one that disappears (stick pulled,
//    directory removed, filesystem gone) kUnavailable, each with a message a person can act on;
//  - `check_present` notices a removal even where writes to already-open files still succeed
//    (Linux happily writes to an unlinked file).
// The Linux USB side (udev, mounting) comes with the appliance integration issue; it can build
// its targets with `open_directory_target` once a stick is mounted.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "yardwatch/hal/result.h"

namespace yardwatch::hal {

struct MediaInfo {
  std::string id;     // stable while the medium is present ("dir:<path>" for a directory)
  std::string label;  // what a person recognises
  std::filesystem::path root;
  uint64_t free_bytes = 0;
  uint64_t total_bytes = 0;
};

// One file being written to a target.
class MediaFile {
 public:
  virtual ~MediaFile() = default;
  // Appends; kResourceExhausted when the medium is full, kUnavailable when it is gone.
  [[nodiscard]] virtual Status write(std::span<const uint8_t> bytes) = 0;
  // fsync and close: after success the bytes are on the medium.
  [[nodiscard]] virtual Status finish() = 0;
  [[nodiscard]] virtual uint64_t bytes_written() const = 0;
};

// A fresh directory on a medium, holding one bundle. Safe to use from several threads, each
// writing its own files.
class MediaTarget {
 public:
  virtual ~MediaTarget() = default;
  [[nodiscard]] virtual const std::filesystem::path& path() const = 0;
  // Creates a new file (a plain name, no directories; refuses an existing one).
  [[nodiscard]] virtual Result<std::unique_ptr<MediaFile>> create_file(std::string_view name) = 0;
  // Renames within the target; atomic on the filesystems sticks use. Then syncs the directory.
  [[nodiscard]] virtual Status rename_file(std::string_view from, std::string_view to) = 0;
  // fsync of the directory itself (its entries).
  [[nodiscard]] virtual Status sync() = 0;
  // Reads a file back from the medium in pieces (page cache dropped first where possible).
  [[nodiscard]] virtual Status read_back(
      std::string_view name, const std::function<Status(std::span<const uint8_t>)>& sink) = 0;
  [[nodiscard]] virtual Result<std::vector<std::string>> list_files() = 0;
  // kUnavailable if the medium or the target directory has gone away (or was replaced).
  [[nodiscard]] virtual Status check_present() = 0;
  // Best-effort clean-up of an unfinished bundle: removes the files it created and the
  // directory. Errors are returned, but a medium that is gone cannot be cleaned.
  [[nodiscard]] virtual Status remove_all() = 0;
  [[nodiscard]] virtual Result<uint64_t> free_bytes() = 0;
};

class RemovableMedia {
 public:
  virtual ~RemovableMedia() = default;
  // The media present now.
  [[nodiscard]] virtual Result<std::vector<MediaInfo>> list() = 0;
  // Creates `directory_name` (a single path component) on the medium and opens it as a target.
  // kAlreadyExists if it exists; kNotFound for an unknown medium.
  [[nodiscard]] virtual Result<std::unique_ptr<MediaTarget>> create_target(
      const std::string& media_id, const std::string& directory_name) = 0;
};

// A directory standing in for a stick (host-sim, development, tests, or a mounted medium).
class DirectoryMedia final : public RemovableMedia {
 public:
  DirectoryMedia(std::filesystem::path root, std::string label);
  [[nodiscard]] Result<std::vector<MediaInfo>> list() override;
  [[nodiscard]] Result<std::unique_ptr<MediaTarget>> create_target(
      const std::string& media_id, const std::string& directory_name) override;
  [[nodiscard]] std::string id() const;

 private:
  std::filesystem::path root_;
  std::string label_;
};

// Creates `directory` (its parent must exist; the directory itself must not) with mode 0700
// and opens it as a target. The building block of every directory-backed medium.
Result<std::unique_ptr<MediaTarget>> open_directory_target(const std::filesystem::path& directory);

// Whether `name` is a plain file name a target accepts: 1–128 bytes of [A-Za-z0-9._-], not
// starting with a dot.
bool valid_media_file_name(std::string_view name);

}  // namespace yardwatch::hal
