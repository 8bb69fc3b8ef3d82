#pragma once

// The catalog: the SQLite index of cameras and segments (DESIGN §4). It is the only code in the
// recorder that speaks SQL. Thread-safe: one connection guarded by a mutex, since SQLite
// connections are not shared between threads without one.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::recorder {

// One step of the database file's schema. The file is shared: the recorder's tables and the
// firmware's (accounts, audit) live in it so that an effect and its audit entry commit in one
// transaction. Versions are global (PRAGMA user_version) and each library owns fixed numbers.
struct Migration {
  int version = 0;
  const char* sql = nullptr;
};

// The recorder's own steps.
std::span<const Migration> recorder_migrations();

constexpr int kDefaultCameraPriority = 50;

struct CameraSpec {
  std::string name;
  std::string url;
  std::string zone;
  std::string location;
  int retention_days = 28;
  std::string transport = "tcp";  // "tcp" or "udp"
  // 0–100, higher is more important. When the disk holds nothing but protected footage, the
  // lowest-priority camera stops recording first (ties: the most recently added camera).
  int priority = kDefaultCameraPriority;
};

struct Camera {
  int64_t id = 0;
  CameraSpec spec;
  int64_t created_utc_us = 0;
  std::optional<int64_t> removed_utc_us;
  // The end of the newest footage deleted early for space (disk pressure), if ever: footage
  // newer than this is complete, older may be gone before its retention term.
  std::optional<int64_t> space_deleted_through_utc_us;
};

enum class SegmentState { kRecording, kComplete, kGarbage };
std::string_view segment_state_name(SegmentState state);

struct SegmentRow {
  int64_t id = 0;
  int64_t camera_id = 0;
  int64_t start_utc_us = 0;
  int64_t end_utc_us = 0;
  uint64_t bytes = 0;
  SegmentState state = SegmentState::kRecording;
  std::string codec;
  uint32_t width = 0;
  uint32_t height = 0;
  uint32_t fragment_count = 0;
  std::vector<uint8_t> plaintext_sha256;
  std::vector<uint8_t> wrapped_key;
};

struct NewSegment {
  int64_t camera_id = 0;
  int64_t start_utc_us = 0;
  std::string codec;
  uint32_t width = 0;
  uint32_t height = 0;
};

struct SegmentCompletion {
  int64_t end_utc_us = 0;
  uint64_t bytes = 0;
  uint32_t fragment_count = 0;
  std::vector<uint8_t> plaintext_sha256;
};

// What the daemon publishes about each camera so that `yardwatch status` (another process) can
// show it.
struct CameraStatus {
  int64_t camera_id = 0;
  std::string state;  // recording | connecting | disconnected | error | stopped
  std::string reason;
  int64_t since_utc_us = 0;
  int64_t updated_utc_us = 0;
};

struct Alarm {
  int64_t id = 0;
  std::string kind;
  std::optional<int64_t> camera_id;
  std::string message;
  int64_t raised_utc_us = 0;
  std::optional<int64_t> cleared_utc_us;
};

// A range of a camera's footage that no deletion may touch (a hold or a restriction, decided
// by the firmware). The recorder knows only the range and an opaque owner label such as
// "hold:12", for diagnostics.
struct ProtectedRange {
  int64_t id = 0;
  int64_t camera_id = 0;
  int64_t from_utc_us = 0;  // [from, to)
  int64_t to_utc_us = 0;
  std::string owner;
  int64_t created_utc_us = 0;
};

// A segment a deletion has just marked `garbage` (its key already destroyed).
struct MarkedSegment {
  int64_t id = 0;
  int64_t camera_id = 0;
  int64_t start_utc_us = 0;
  int64_t end_utc_us = 0;
  uint64_t bytes = 0;
};

struct CameraFootage {
  int64_t camera_id = 0;
  std::optional<int64_t> oldest_utc_us;
  std::optional<int64_t> newest_utc_us;
  uint64_t bytes = 0;
  int64_t segment_count = 0;
};

class Catalog {
 public:
  // Opens the catalog file, creating it when `create` and migrating it through the recorder's
  // steps plus `extra` (the firmware's). A file newer than all known steps is refused.
  // Without `extra` (recorder tests and tools) the versions the firmware owns are passed over
  // and the file is marked recorder-only; such a file is refused with `extra` later, because
  // the firmware's tables were never made in it.
  static Result<std::unique_ptr<Catalog>> open(const std::filesystem::path& path, bool create,
                                               std::span<const Migration> extra = {});
  // Applies the known steps up to `target_version`; exposed so a test can build every older
  // version.
  static Status migrate(sql::Database& db, int target_version,
                        std::span<const Migration> extra = {});
  // The newest version the given steps reach.
  static int latest_version(std::span<const Migration> extra = {});

  // For firmware services that share this connection: hold `mutex()` while using `database()`,
  // and open a sql::Transaction to make an effect and its audit entry atomic.
  [[nodiscard]] sql::Database& database() { return *db_; }
  [[nodiscard]] std::recursive_mutex& mutex() { return mutex_; }

  // --- device ---
  Result<std::string> device_id();

  // --- cameras ---
  Result<Camera> add_camera(const CameraSpec& spec, int64_t now_utc_us);
  // Marks the camera removed: it stops recording; its footage stays until it ages out.
  Status remove_camera(const std::string& name, int64_t now_utc_us);
  // Changes everything but the name (the camera's identity in the journal) of a camera that is
  // not removed. The recorder restarts the camera when its URL or transport changed.
  Status update_camera(int64_t id, const CameraSpec& spec);
  Result<std::vector<Camera>> cameras(bool include_removed = false);
  Result<Camera> camera_by_name(const std::string& name);
  Result<Camera> camera_by_id(int64_t id);

  // --- segments ---
  // Inserts a `recording` row and stores the wrapped key that `wrap_key(segment_id)` returns, in
  // one transaction (the wrapping binds the key to the new row's id).
  Result<SegmentRow> begin_segment(
      const NewSegment& segment,
      const std::function<std::vector<uint8_t>(int64_t segment_id)>& wrap_key);
  Status update_recording_progress(int64_t segment_id, int64_t end_utc_us, uint64_t bytes);
  Status complete_segment(int64_t segment_id, const SegmentCompletion& completion);
  Status delete_segment(int64_t segment_id);
  Result<std::optional<SegmentRow>> segment(int64_t segment_id);
  // Segments of a camera overlapping [from, to), ordered by start.
  Result<std::vector<SegmentRow>> segments_for_camera(int64_t camera_id, int64_t from_utc_us,
                                                      int64_t to_utc_us);
  Result<std::vector<SegmentRow>> segments_in_state(SegmentState state);
  Result<std::vector<SegmentRow>> all_segments();
  // The latest end of any segment of the camera, if any (the next segment may not start
  // before it).
  Result<std::optional<int64_t>> last_end_for_camera(int64_t camera_id);
  Result<CameraFootage> footage_summary(int64_t camera_id);

  // --- status and alarms ---
  Status set_camera_status(const CameraStatus& status);
  Result<std::vector<CameraStatus>> camera_statuses();
  // Raises an alarm unless one of the same kind and camera is already open.
  Status raise_alarm(const std::string& kind, std::optional<int64_t> camera_id,
                     const std::string& message, int64_t now_utc_us);
  Status clear_alarm(const std::string& kind, std::optional<int64_t> camera_id, int64_t now_utc_us);
  Result<std::vector<Alarm>> open_alarms();
  // Raises the alarm, or changes the message of the open one. true if it was raised or its
  // message changed (the caller then writes its audit entry once, not every minute).
  Result<bool> set_alarm(const std::string& kind, std::optional<int64_t> camera_id,
                         const std::string& message, int64_t now_utc_us);
  // true if an open alarm was cleared.
  Result<bool> clear_open_alarm(const std::string& kind, std::optional<int64_t> camera_id,
                                int64_t now_utc_us);

  // --- retention (catalog_retention.cpp; recorder/design/retention.md) ---
  Status set_camera_policy(int64_t camera_id, int retention_days, int priority);
  // Records that footage up to `through_utc_us` was deleted early for space (keeps the latest).
  Status note_space_deletion(int64_t camera_id, int64_t through_utc_us);
  // Mean bytes per second of the camera's last complete segments (nullopt: no footage yet).
  Result<std::optional<double>> recent_bytes_per_second(int64_t camera_id);
  // The latest end of any footage (not garbage), all cameras.
  Result<std::optional<int64_t>> newest_footage_end();

  Result<int64_t> add_protected_range(int64_t camera_id, int64_t from_utc_us, int64_t to_utc_us,
                                      const std::string& owner, int64_t now_utc_us);
  Status remove_protected_range(int64_t id);
  // Protected ranges of the camera overlapping [from, to), ordered by start.
  Result<std::vector<ProtectedRange>> protected_ranges(int64_t camera_id, int64_t from_utc_us,
                                                       int64_t to_utc_us);
  // Segments of the camera not garbage overlapping [from, to) strictly (start < to, end > from).
  Result<std::vector<SegmentRow>> segments_overlapping(int64_t camera_id, int64_t from_utc_us,
                                                       int64_t to_utc_us);
  // Ids of the camera's complete segments with start ≥ start_from and end in
  // [end_from, end_before), from the covering index alone (no table page is read).
  Result<std::vector<int64_t>> complete_segments_within(int64_t camera_id, int64_t start_from_utc_us,
                                                        int64_t end_from_utc_us,
                                                        int64_t end_before_utc_us);
  // Marks these segments `garbage` and destroys their wrapped keys, those still complete, in
  // the given order (rowid order reads each table page once).
  Result<std::vector<MarkedSegment>> mark_garbage(std::span<const int64_t> segment_ids);
  // Marks one complete segment `garbage` (key destroyed); nullopt if it is not complete.
  Result<std::optional<MarkedSegment>> mark_garbage(int64_t segment_id);
  // Complete segments of all cameras ordered by (end, id), after the given position.
  Result<std::vector<SegmentRow>> complete_segments_by_end(int64_t after_end_utc_us,
                                                           int64_t after_id, int limit);
  // Every `garbage` row: (id, camera id).
  Result<std::vector<std::pair<int64_t, int64_t>>> garbage_segments();
  // Destroys any wrapped key a garbage row still holds (a row marked by older code).
  Status destroy_garbage_keys();
  Status remove_garbage_rows(std::span<const int64_t> ids);
  // PRAGMA wal_checkpoint(TRUNCATE): copies the WAL into the database file and truncates it to
  // zero bytes, so deleted key bytes leave the WAL file. false: a reader kept part of the WAL
  // (try again later). Must be called outside a transaction.
  Result<bool> checkpoint_wal();
  // Small key/value state in the `meta` table (the retention clock guard keeps its latch there).
  Result<std::optional<std::string>> meta(const std::string& key);
  Status set_meta(const std::string& key, const std::string& value);
  Status erase_meta(const std::string& key);

 private:
  explicit Catalog(std::unique_ptr<sql::Database> db) : db_(std::move(db)) {}
  std::recursive_mutex mutex_;
  std::unique_ptr<sql::Database> db_;
};

}  // namespace yardwatch::recorder
