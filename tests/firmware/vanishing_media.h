#pragma once

// A medium that disappears under the export writer: the real directory medium, whose bundle
// directory is deleted (a person removing it, a stick's mount going away) once the writer has
// put a given number of bytes into it. Shared by the export tests (R5) and the breach register
// tests (R8: a failed export is an incident).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "yardwatch/hal/removable_media.h"

namespace yardwatch::firmware::test {

namespace fs = std::filesystem;

// Deletes the bundle directory (a person removing it, a stick's mount going away) once the
// writer has put `after_bytes` into it. Everything else is the real directory medium.
class VanishingMedia final : public hal::RemovableMedia {
 public:
  VanishingMedia(fs::path root, uint64_t after_bytes)
      : inner_(std::move(root), "test medium"), after_bytes_(after_bytes) {}
  Result<std::vector<hal::MediaInfo>> list() override { return inner_.list(); }
  Result<std::unique_ptr<hal::MediaTarget>> create_target(const std::string& id,
                                                          const std::string& name) override;
  [[nodiscard]] std::string id() const { return inner_.id(); }

 private:
  hal::DirectoryMedia inner_;
  uint64_t after_bytes_;
};

class VanishingTarget final : public hal::MediaTarget {
 public:
  VanishingTarget(std::unique_ptr<hal::MediaTarget> inner, uint64_t after_bytes)
      : inner_(std::move(inner)), after_bytes_(after_bytes) {}

  class File final : public hal::MediaFile {
   public:
    File(std::unique_ptr<hal::MediaFile> inner, VanishingTarget& target)
        : inner_(std::move(inner)), target_(target) {}
    Status write(std::span<const uint8_t> bytes) override {
      YW_TRY(inner_->write(bytes));
      target_.written_ += bytes.size();
      if (!target_.removed_ && target_.written_ >= target_.after_bytes_) {
        target_.removed_ = true;
        fs::remove_all(target_.path());
      }
      return {};
    }
    Status finish() override { return inner_->finish(); }
    [[nodiscard]] uint64_t bytes_written() const override { return inner_->bytes_written(); }

   private:
    std::unique_ptr<hal::MediaFile> inner_;
    VanishingTarget& target_;
  };

  [[nodiscard]] const fs::path& path() const override { return inner_->path(); }
  Result<std::unique_ptr<hal::MediaFile>> create_file(std::string_view name) override {
    YW_ASSIGN_OR_RETURN(auto file, inner_->create_file(name));
    return std::unique_ptr<hal::MediaFile>(std::make_unique<File>(std::move(file), *this));
  }
  Status rename_file(std::string_view from, std::string_view to) override {
    return inner_->rename_file(from, to);
  }
  Status sync() override { return inner_->sync(); }
  Status read_back(std::string_view name,
                   const std::function<Status(std::span<const uint8_t>)>& sink) override {
    return inner_->read_back(name, sink);
  }
  Result<std::vector<std::string>> list_files() override { return inner_->list_files(); }
  Status check_present() override { return inner_->check_present(); }
  Status remove_all() override { return inner_->remove_all(); }
  Result<uint64_t> free_bytes() override { return inner_->free_bytes(); }

  bool removed_ = false;

 private:
  std::unique_ptr<hal::MediaTarget> inner_;
  uint64_t after_bytes_;
  uint64_t written_ = 0;
};

inline Result<std::unique_ptr<hal::MediaTarget>> VanishingMedia::create_target(
    const std::string& id, const std::string& name) {
  YW_ASSIGN_OR_RETURN(auto target, inner_.create_target(id, name));
  return std::unique_ptr<hal::MediaTarget>(
      std::make_unique<VanishingTarget>(std::move(target), after_bytes_));
}

}  // namespace yardwatch::firmware::test
