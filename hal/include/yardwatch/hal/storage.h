#pragma once

// hal::Storage: the data volume. Everything that must survive a power cut is made durable
// through it (fsync of the file, then of the directory that names it).

#include <cstdint>
#include <filesystem>
#include <memory>

#include "yardwatch/hal/result.h"

namespace yardwatch::hal {

class Storage {
 public:
  virtual ~Storage() = default;
  [[nodiscard]] virtual const std::filesystem::path& data_dir() const = 0;
  [[nodiscard]] virtual Result<uint64_t> free_bytes() const = 0;
  [[nodiscard]] virtual Result<uint64_t> total_bytes() const = 0;
  [[nodiscard]] virtual Status sync_file(int fd) const = 0;
  [[nodiscard]] virtual Status sync_directory(const std::filesystem::path& directory) const = 0;
};

// A plain directory on a mounted filesystem (host-sim and development).
class DirectoryStorage final : public Storage {
 public:
  explicit DirectoryStorage(std::filesystem::path data_dir) : data_dir_(std::move(data_dir)) {}
  [[nodiscard]] const std::filesystem::path& data_dir() const override { return data_dir_; }
  [[nodiscard]] Result<uint64_t> free_bytes() const override;
  [[nodiscard]] Result<uint64_t> total_bytes() const override;
  [[nodiscard]] Status sync_file(int fd) const override;
  [[nodiscard]] Status sync_directory(const std::filesystem::path& directory) const override;

 private:
  std::filesystem::path data_dir_;
};

}  // namespace yardwatch::hal
