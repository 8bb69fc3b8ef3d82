#include "yardwatch/recorder/catalog.h"

#include <sodium.h>

#include <array>
#include <map>

namespace yardwatch::recorder {

namespace {

// One entry per schema version: migrations[N-1] takes the catalog from version N-1 to N.
// Never edit a step that has shipped; add a new one.
constexpr std::array<Migration, 2> kRecorderMigrations = {{
    // 0 → 1: cameras, segments, status, alarms.
    {1, R"sql(
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE cameras (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  url TEXT NOT NULL,
  zone TEXT NOT NULL,
  location TEXT NOT NULL DEFAULT '',
  retention_days INTEGER NOT NULL CHECK (retention_days BETWEEN 1 AND 28),
  transport TEXT NOT NULL CHECK (transport IN ('tcp', 'udp')),
  created_utc_us INTEGER NOT NULL,
  removed_utc_us INTEGER
);
-- AUTOINCREMENT: a segment id is never reused, so a segment's identity (bound into its file
-- and its wrapped key) is unique for the life of the catalog.
CREATE TABLE segments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  camera_id INTEGER NOT NULL REFERENCES cameras(id),
  start_utc_us INTEGER NOT NULL,
  end_utc_us INTEGER NOT NULL,
  bytes INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL CHECK (state IN ('recording', 'complete', 'garbage')),
  codec TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  fragment_count INTEGER NOT NULL DEFAULT 0,
  plaintext_sha256 BLOB,
  wrapped_key BLOB
);
CREATE INDEX segments_by_camera_start ON segments (camera_id, start_utc_us);
-- The retention sweep walks expired segments by end time (cost ∝ what expires).
CREATE INDEX segments_by_end ON segments (end_utc_us);
CREATE INDEX segments_by_state ON segments (state) WHERE state <> 'complete';
CREATE TABLE camera_status (
  camera_id INTEGER PRIMARY KEY REFERENCES cameras(id),
  state TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  since_utc_us INTEGER NOT NULL,
  updated_utc_us INTEGER NOT NULL
);
CREATE TABLE alarms (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  camera_id INTEGER REFERENCES cameras(id),
  message TEXT NOT NULL,
  raised_utc_us INTEGER NOT NULL,
  cleared_utc_us INTEGER
);
)sql"},
    // 3 → 4: retention (issue #4, recorder/design/retention.md). Protected ranges are what the
    // firmware's holds and restrictions keep; the sweep reads them and nothing else about
    // people. The (camera, end) index lets a sweep find exactly the expired segments of each
    // camera between protected ranges.
    {4, R"sql(
CREATE TABLE protected_ranges (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  camera_id INTEGER NOT NULL REFERENCES cameras(id),
  from_utc_us INTEGER NOT NULL,
  to_utc_us INTEGER NOT NULL,
  owner TEXT NOT NULL,
  created_utc_us INTEGER NOT NULL,
  CHECK (to_utc_us > from_utc_us)
);
CREATE INDEX protected_ranges_by_camera ON protected_ranges (camera_id, from_utc_us);
-- Covering and partial: the sweep finds a camera's expired complete segments (and their start,
-- to tell those a protected range touches) from the index alone, then marks them in rowid
-- order, so each table page is read once whatever the number of cameras.
CREATE INDEX segments_complete_by_camera_end ON segments (camera_id, end_utc_us, start_utc_us)
  WHERE state = 'complete';
ALTER TABLE cameras ADD COLUMN priority INTEGER NOT NULL DEFAULT 50
  CHECK (priority BETWEEN 0 AND 100);
ALTER TABLE cameras ADD COLUMN space_deleted_through_utc_us INTEGER;
)sql"},
}};

constexpr const char* kSegmentColumns =
    "id, camera_id, start_utc_us, end_utc_us, bytes, state, codec, width, height, "
    "fragment_count, plaintext_sha256, wrapped_key";

SegmentState parse_state(const std::string& text) {
  if (text == "complete") return SegmentState::kComplete;
  if (text == "garbage") return SegmentState::kGarbage;
  return SegmentState::kRecording;
}

SegmentRow read_segment(const sql::Statement& row) {
  SegmentRow segment;
  segment.id = row.column_int(0);
  segment.camera_id = row.column_int(1);
  segment.start_utc_us = row.column_int(2);
  segment.end_utc_us = row.column_int(3);
  segment.bytes = static_cast<uint64_t>(row.column_int(4));
  segment.state = parse_state(row.column_text(5));
  segment.codec = row.column_text(6);
  segment.width = static_cast<uint32_t>(row.column_int(7));
  segment.height = static_cast<uint32_t>(row.column_int(8));
  segment.fragment_count = static_cast<uint32_t>(row.column_int(9));
  segment.plaintext_sha256 = row.column_blob(10);
  segment.wrapped_key = row.column_blob(11);
  return segment;
}

constexpr const char* kCameraColumns =
    "id, name, url, zone, location, retention_days, transport, created_utc_us, removed_utc_us, "
    "priority, space_deleted_through_utc_us";

Camera read_camera(const sql::Statement& row) {
  Camera camera;
  camera.id = row.column_int(0);
  camera.spec.name = row.column_text(1);
  camera.spec.url = row.column_text(2);
  camera.spec.zone = row.column_text(3);
  camera.spec.location = row.column_text(4);
  camera.spec.retention_days = static_cast<int>(row.column_int(5));
  camera.spec.transport = row.column_text(6);
  camera.created_utc_us = row.column_int(7);
  if (!row.column_is_null(8)) camera.removed_utc_us = row.column_int(8);
  camera.spec.priority = static_cast<int>(row.column_int(9));
  if (!row.column_is_null(10)) camera.space_deleted_through_utc_us = row.column_int(10);
  return camera;
}

Result<std::vector<SegmentRow>> collect_segments(sql::Statement& statement) {
  std::vector<SegmentRow> rows;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, statement.step());
    if (!has_row) break;
    rows.push_back(read_segment(statement));
  }
  return rows;
}

std::string random_device_id() {
  std::array<uint8_t, 16> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::array<char, 33> hex{};
  sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
  return {hex.data(), 32};
}

}  // namespace

std::string_view segment_state_name(SegmentState state) {
  switch (state) {
    case SegmentState::kRecording:
      return "recording";
    case SegmentState::kComplete:
      return "complete";
    case SegmentState::kGarbage:
      return "garbage";
  }
  return "recording";
}

std::span<const Migration> recorder_migrations() { return kRecorderMigrations; }

namespace {
// The steps of both libraries in version order; nullptr where a version is unknown.
std::map<int, const char*> all_steps(std::span<const Migration> extra) {
  std::map<int, const char*> steps;
  for (const auto& step : recorder_migrations()) steps[step.version] = step.sql;
  for (const auto& step : extra) steps[step.version] = step.sql;
  return steps;
}
}  // namespace

int Catalog::latest_version(std::span<const Migration> extra) {
  auto steps = all_steps(extra);
  return steps.empty() ? 0 : steps.rbegin()->first;
}

Status Catalog::migrate(sql::Database& db, int target_version, std::span<const Migration> extra) {
  const auto steps = all_steps(extra);
  const int latest = latest_version(extra);
  YW_ASSIGN_OR_RETURN(int64_t version, db.user_version());
  if (version > latest) {
    return make_error(ErrorKind::kFailedPrecondition,
                      "catalog schema version " + std::to_string(version) +
                          " is newer than this firmware understands (" + std::to_string(latest) +
                          "); refusing to touch it");
  }
  const bool recorder_only = extra.empty();
  if (!recorder_only && version > 0) {
    // A catalog made without the firmware's steps has versions with nothing behind them.
    YW_ASSIGN_OR_RETURN(auto marked, db.prepare("SELECT 1 FROM sqlite_master WHERE type = "
                                                "'table' AND name = 'meta'"));
    YW_ASSIGN_OR_RETURN(bool has_meta, marked.step());
    if (has_meta) {
      YW_ASSIGN_OR_RETURN(auto flag, db.prepare("SELECT 1 FROM meta WHERE key = 'recorder_only'"));
      YW_ASSIGN_OR_RETURN(bool is_recorder_only, flag.step());
      if (is_recorder_only) {
        return make_error(ErrorKind::kFailedPrecondition,
                          "this catalog was made by a recorder test or tool without the "
                          "firmware's tables; refusing to use it as an appliance catalog");
      }
    }
  }
  while (version < target_version) {
    auto step = steps.find(static_cast<int>(version) + 1);
    YW_ASSIGN_OR_RETURN(sql::Transaction transaction, sql::Transaction::begin(db));
    if (step != steps.end()) {
      YW_TRY(db.exec(step->second));
    } else if (recorder_only) {
      // A version the firmware owns: a recorder-only catalog has nothing to do there.
      YW_TRY(db.exec("INSERT OR IGNORE INTO meta(key, value) VALUES ('recorder_only', '1')"));
    } else {
      return make_error(ErrorKind::kInternal,
                        "no migration to schema version " + std::to_string(version + 1));
    }
    ++version;
    YW_TRY(db.exec("PRAGMA user_version = " + std::to_string(version)));
    YW_TRY(transaction.commit());
  }
  return {};
}

Result<std::unique_ptr<Catalog>> Catalog::open(const std::filesystem::path& path, bool create,
                                               std::span<const Migration> extra) {
  if (sodium_init() < 0) return make_error(ErrorKind::kInternal, "libsodium failed to initialise");
  if (!create && !std::filesystem::exists(path)) {
    return make_error(ErrorKind::kNotFound,
                      "no catalog at " + path.string() + " (run `yardwatch init --data DIR`)");
  }
  YW_ASSIGN_OR_RETURN(auto db, sql::Database::open(path, create));
  YW_TRY(migrate(*db, latest_version(extra), extra));
  std::unique_ptr<Catalog> catalog(new Catalog(std::move(db)));
  {
    YW_ASSIGN_OR_RETURN(auto insert,
                        catalog->db_->prepare("INSERT OR IGNORE INTO meta(key, value) VALUES "
                                              "('device_id', ?1)"));
    YW_TRY(insert.bind(1, random_device_id()).run());
  }
  return catalog;
}

Result<std::string> Catalog::device_id() {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto query, db_->prepare("SELECT value FROM meta WHERE key = 'device_id'"));
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  if (!has_row) return make_error(ErrorKind::kDataLoss, "catalog has no device id");
  return query.column_text(0);
}

Result<Camera> Catalog::add_camera(const CameraSpec& spec, int64_t now_utc_us) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(
      auto insert,
      db_->prepare("INSERT INTO cameras(name, url, zone, location, retention_days, transport, "
                   "created_utc_us, priority) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  insert.bind(1, spec.name).bind(2, spec.url).bind(3, spec.zone).bind(4, spec.location);
  insert.bind(5, static_cast<int64_t>(spec.retention_days)).bind(6, spec.transport);
  insert.bind(7, now_utc_us).bind(8, static_cast<int64_t>(spec.priority));
  auto status = insert.run();
  if (!status.ok()) {
    if (status.error().kind == ErrorKind::kAlreadyExists) {
      return make_error(ErrorKind::kAlreadyExists,
                        "a camera named '" + spec.name + "' already exists");
    }
    return std::move(status).error();
  }
  Camera camera{db_->last_insert_rowid(), spec, now_utc_us, std::nullopt, std::nullopt};
  return camera;
}

Status Catalog::update_camera(int64_t id, const CameraSpec& spec) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto update,
                      db_->prepare("UPDATE cameras SET url = ?2, zone = ?3, location = ?4, "
                                   "retention_days = ?5, transport = ?6 WHERE id = ?1 AND "
                                   "removed_utc_us IS NULL"));
  update.bind(1, id).bind(2, spec.url).bind(3, spec.zone).bind(4, spec.location);
  update.bind(5, static_cast<int64_t>(spec.retention_days)).bind(6, spec.transport);
  YW_TRY(update.run());
  if (db_->changes() == 0) {
    return make_error(ErrorKind::kNotFound, "no camera with id " + std::to_string(id));
  }
  return {};
}

Status Catalog::remove_camera(const std::string& name, int64_t now_utc_us) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto update, db_->prepare("UPDATE cameras SET removed_utc_us = ?1 "
                                                "WHERE name = ?2 AND removed_utc_us IS NULL"));
  YW_TRY(update.bind(1, now_utc_us).bind(2, name).run());
  if (db_->changes() == 0) {
    return make_error(ErrorKind::kNotFound, "no camera named '" + name + "'");
  }
  return {};
}

Result<std::vector<Camera>> Catalog::cameras(bool include_removed) {
  std::lock_guard lock(mutex_);
  std::string sql = std::string("SELECT ") + kCameraColumns + " FROM cameras" +
                    (include_removed ? "" : " WHERE removed_utc_us IS NULL") + " ORDER BY name";
  YW_ASSIGN_OR_RETURN(auto query, db_->prepare(sql));
  std::vector<Camera> result;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, query.step());
    if (!has_row) break;
    result.push_back(read_camera(query));
  }
  return result;
}

Result<Camera> Catalog::camera_by_name(const std::string& name) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto query, db_->prepare(std::string("SELECT ") + kCameraColumns +
                                               " FROM cameras WHERE name = ?1"));
  query.bind(1, name);
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  if (!has_row) return make_error(ErrorKind::kNotFound, "no camera named '" + name + "'");
  return read_camera(query);
}

Result<Camera> Catalog::camera_by_id(int64_t id) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto query, db_->prepare(std::string("SELECT ") + kCameraColumns +
                                               " FROM cameras WHERE id = ?1"));
  query.bind(1, id);
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  if (!has_row) return make_error(ErrorKind::kNotFound, "no camera with id " + std::to_string(id));
  return read_camera(query);
}

Result<SegmentRow> Catalog::begin_segment(
    const NewSegment& segment,
    const std::function<std::vector<uint8_t>(int64_t segment_id)>& wrap_key) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto transaction, sql::Transaction::begin(*db_));
  YW_ASSIGN_OR_RETURN(auto insert,
                      db_->prepare("INSERT INTO segments(camera_id, start_utc_us, end_utc_us, "
                                   "state, codec, width, height) "
                                   "VALUES (?1, ?2, ?2, 'recording', ?3, ?4, ?5)"));
  insert.bind(1, segment.camera_id).bind(2, segment.start_utc_us).bind(3, segment.codec);
  insert.bind(4, static_cast<int64_t>(segment.width)).bind(5, static_cast<int64_t>(segment.height));
  YW_TRY(insert.run());
  SegmentRow row;
  row.id = db_->last_insert_rowid();
  row.camera_id = segment.camera_id;
  row.start_utc_us = segment.start_utc_us;
  row.end_utc_us = segment.start_utc_us;
  row.codec = segment.codec;
  row.width = segment.width;
  row.height = segment.height;
  row.wrapped_key = wrap_key(row.id);
  YW_ASSIGN_OR_RETURN(auto update,
                      db_->prepare("UPDATE segments SET wrapped_key = ?1 WHERE id = ?2"));
  YW_TRY(update.bind(1, row.wrapped_key).bind(2, row.id).run());
  YW_TRY(transaction.commit());
  return row;
}

Status Catalog::update_recording_progress(int64_t segment_id, int64_t end_utc_us, uint64_t bytes) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto update, db_->prepare("UPDATE segments SET end_utc_us = ?1, bytes = ?2 "
                                                "WHERE id = ?3 AND state = 'recording'"));
  return update.bind(1, end_utc_us).bind(2, static_cast<int64_t>(bytes)).bind(3, segment_id).run();
}

Status Catalog::complete_segment(int64_t segment_id, const SegmentCompletion& completion) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(
      auto update,
      db_->prepare("UPDATE segments SET state = 'complete', end_utc_us = ?1, bytes = ?2, "
                   "fragment_count = ?3, plaintext_sha256 = ?4 WHERE id = ?5"));
  update.bind(1, completion.end_utc_us).bind(2, static_cast<int64_t>(completion.bytes));
  update.bind(3, static_cast<int64_t>(completion.fragment_count));
  update.bind(4, completion.plaintext_sha256).bind(5, segment_id);
  YW_TRY(update.run());
  if (db_->changes() != 1) {
    return make_error(ErrorKind::kNotFound, "segment " + std::to_string(segment_id) + " vanished");
  }
  return {};
}

Status Catalog::delete_segment(int64_t segment_id) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto remove, db_->prepare("DELETE FROM segments WHERE id = ?1"));
  return remove.bind(1, segment_id).run();
}

Result<std::optional<SegmentRow>> Catalog::segment(int64_t segment_id) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto query, db_->prepare(std::string("SELECT ") + kSegmentColumns +
                                               " FROM segments WHERE id = ?1"));
  query.bind(1, segment_id);
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  if (!has_row) return std::optional<SegmentRow>();
  return std::optional<SegmentRow>(read_segment(query));
}

Result<std::vector<SegmentRow>> Catalog::segments_for_camera(int64_t camera_id, int64_t from_utc_us,
                                                             int64_t to_utc_us) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto query,
                      db_->prepare(std::string("SELECT ") + kSegmentColumns +
                                   " FROM segments WHERE camera_id = ?1 AND start_utc_us < ?3 "
                                   "AND end_utc_us >= ?2 AND state <> 'garbage' "
                                   "ORDER BY start_utc_us"));
  query.bind(1, camera_id).bind(2, from_utc_us).bind(3, to_utc_us);
  return collect_segments(query);
}

Result<std::vector<SegmentRow>> Catalog::segments_in_state(SegmentState state) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto query, db_->prepare(std::string("SELECT ") + kSegmentColumns +
                                               " FROM segments WHERE state = ?1 ORDER BY id"));
  query.bind(1, segment_state_name(state));
  return collect_segments(query);
}

Result<std::vector<SegmentRow>> Catalog::all_segments() {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto query,
                      db_->prepare(std::string("SELECT ") + kSegmentColumns +
                                   " FROM segments ORDER BY camera_id, start_utc_us, id"));
  return collect_segments(query);
}

Result<std::optional<int64_t>> Catalog::last_end_for_camera(int64_t camera_id) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto query,
                      db_->prepare("SELECT MAX(end_utc_us) FROM segments WHERE camera_id = ?1 "
                                   "AND state <> 'garbage'"));
  query.bind(1, camera_id);
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  if (!has_row || query.column_is_null(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(query.column_int(0));
}

Result<CameraFootage> Catalog::footage_summary(int64_t camera_id) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto query, db_->prepare("SELECT MIN(start_utc_us), MAX(end_utc_us), "
                                               "COALESCE(SUM(bytes), 0), COUNT(*) FROM segments "
                                               "WHERE camera_id = ?1 AND state <> 'garbage'"));
  query.bind(1, camera_id);
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  CameraFootage footage;
  footage.camera_id = camera_id;
  if (has_row && !query.column_is_null(0)) {
    footage.oldest_utc_us = query.column_int(0);
    footage.newest_utc_us = query.column_int(1);
    footage.bytes = static_cast<uint64_t>(query.column_int(2));
    footage.segment_count = query.column_int(3);
  }
  return footage;
}

Status Catalog::set_camera_status(const CameraStatus& status) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(
      auto upsert,
      db_->prepare(
          "INSERT INTO camera_status(camera_id, state, reason, since_utc_us, "
          "updated_utc_us) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(camera_id) DO "
          "UPDATE SET state = excluded.state, reason = excluded.reason, "
          "since_utc_us = excluded.since_utc_us, updated_utc_us = excluded.updated_utc_us"));
  upsert.bind(1, status.camera_id).bind(2, status.state).bind(3, status.reason);
  upsert.bind(4, status.since_utc_us).bind(5, status.updated_utc_us);
  return upsert.run();
}

Result<std::vector<CameraStatus>> Catalog::camera_statuses() {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto query,
                      db_->prepare("SELECT camera_id, state, reason, since_utc_us, "
                                   "updated_utc_us FROM camera_status ORDER BY camera_id"));
  std::vector<CameraStatus> result;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, query.step());
    if (!has_row) break;
    result.push_back(CameraStatus{query.column_int(0), query.column_text(1), query.column_text(2),
                                  query.column_int(3), query.column_int(4)});
  }
  return result;
}

Status Catalog::raise_alarm(const std::string& kind, std::optional<int64_t> camera_id,
                            const std::string& message, int64_t now_utc_us) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto existing,
                      db_->prepare("SELECT id FROM alarms WHERE kind = ?1 AND camera_id IS ?2 "
                                   "AND cleared_utc_us IS NULL"));
  existing.bind(1, kind);
  if (camera_id)
    existing.bind(2, *camera_id);
  else
    existing.bind_null(2);
  YW_ASSIGN_OR_RETURN(bool open, existing.step());
  if (open) return {};
  YW_ASSIGN_OR_RETURN(auto insert,
                      db_->prepare("INSERT INTO alarms(kind, camera_id, message, raised_utc_us) "
                                   "VALUES (?1, ?2, ?3, ?4)"));
  insert.bind(1, kind);
  if (camera_id)
    insert.bind(2, *camera_id);
  else
    insert.bind_null(2);
  insert.bind(3, message).bind(4, now_utc_us);
  return insert.run();
}

Status Catalog::clear_alarm(const std::string& kind, std::optional<int64_t> camera_id,
                            int64_t now_utc_us) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto update,
                      db_->prepare("UPDATE alarms SET cleared_utc_us = ?1 WHERE kind = ?2 AND "
                                   "camera_id IS ?3 AND cleared_utc_us IS NULL"));
  update.bind(1, now_utc_us).bind(2, kind);
  if (camera_id)
    update.bind(3, *camera_id);
  else
    update.bind_null(3);
  return update.run();
}

Result<std::vector<Alarm>> Catalog::open_alarms() {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto query,
                      db_->prepare("SELECT id, kind, camera_id, message, raised_utc_us FROM "
                                   "alarms WHERE cleared_utc_us IS NULL ORDER BY id"));
  std::vector<Alarm> result;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, query.step());
    if (!has_row) break;
    Alarm alarm;
    alarm.id = query.column_int(0);
    alarm.kind = query.column_text(1);
    if (!query.column_is_null(2)) alarm.camera_id = query.column_int(2);
    alarm.message = query.column_text(3);
    alarm.raised_utc_us = query.column_int(4);
    result.push_back(std::move(alarm));
  }
  return result;
}

}  // namespace yardwatch::recorder
