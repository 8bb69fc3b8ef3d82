// The catalog's retention queries (recorder/design/retention.md): protected ranges, marking
// segments `garbage` with their keys destroyed, removing finished rows, the WAL checkpoint that
// takes deleted keys out of the WAL file, and the small state the clock guard keeps. Still the
// catalog: the only SQL in the recorder.

#include <algorithm>
#include <string>

#include "yardwatch/recorder/catalog.h"

namespace yardwatch::recorder {

namespace {

constexpr const char* kProtectedColumns =
    "id, camera_id, from_utc_us, to_utc_us, owner, created_utc_us";

ProtectedRange read_protected(const sql::Statement& row) {
  return ProtectedRange{row.column_int(0), row.column_int(1),  row.column_int(2),
                        row.column_int(3), row.column_text(4), row.column_int(5)};
}

MarkedSegment read_marked(const sql::Statement& row) {
  return MarkedSegment{row.column_int(0), row.column_int(1), row.column_int(2), row.column_int(3),
                       static_cast<uint64_t>(row.column_int(4))};
}

// The same columns as catalog.cpp's kSegmentColumns, read the same way.
constexpr const char* kSegmentColumns =
    "id, camera_id, start_utc_us, end_utc_us, bytes, state, codec, width, height, "
    "fragment_count, plaintext_sha256, wrapped_key";

SegmentRow read_segment_row(const sql::Statement& row) {
  SegmentRow segment;
  segment.id = row.column_int(0);
  segment.camera_id = row.column_int(1);
  segment.start_utc_us = row.column_int(2);
  segment.end_utc_us = row.column_int(3);
  segment.bytes = static_cast<uint64_t>(row.column_int(4));
  const std::string state = row.column_text(5);
  segment.state = state == "complete"  ? SegmentState::kComplete
                  : state == "garbage" ? SegmentState::kGarbage
                                       : SegmentState::kRecording;
  segment.codec = row.column_text(6);
  segment.width = static_cast<uint32_t>(row.column_int(7));
  segment.height = static_cast<uint32_t>(row.column_int(8));
  segment.fragment_count = static_cast<uint32_t>(row.column_int(9));
  segment.plaintext_sha256 = row.column_blob(10);
  segment.wrapped_key = row.column_blob(11);
  return segment;
}

void bind_optional_camera(sql::Statement& statement, int index, std::optional<int64_t> camera_id) {
  if (camera_id) {
    statement.bind(index, *camera_id);
  } else {
    statement.bind_null(index);
  }
}

}  // namespace

Result<bool> Catalog::set_alarm(const std::string& kind, std::optional<int64_t> camera_id,
                                const std::string& message, int64_t now_utc_us) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto existing,
                      db_->prepare("SELECT id, message FROM alarms WHERE kind = ?1 AND "
                                   "camera_id IS ?2 AND cleared_utc_us IS NULL"));
  existing.bind(1, kind);
  bind_optional_camera(existing, 2, camera_id);
  YW_ASSIGN_OR_RETURN(bool open, existing.step());
  if (open) {
    if (existing.column_text(1) == message) return false;
    YW_ASSIGN_OR_RETURN(auto update, db_->prepare("UPDATE alarms SET message = ?1 WHERE id = ?2"));
    YW_TRY(update.bind(1, message).bind(2, existing.column_int(0)).run());
    return true;
  }
  YW_TRY(raise_alarm(kind, camera_id, message, now_utc_us));
  return true;
}

Result<bool> Catalog::clear_open_alarm(const std::string& kind, std::optional<int64_t> camera_id,
                                       int64_t now_utc_us) {
  std::lock_guard lock(mutex_);
  YW_TRY(clear_alarm(kind, camera_id, now_utc_us));
  return db_->changes() > 0;
}

Status Catalog::set_camera_policy(int64_t camera_id, int retention_days, int priority) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto update, db_->prepare("UPDATE cameras SET retention_days = ?1, "
                                                "priority = ?2 WHERE id = ?3"));
  YW_TRY(update.bind(1, static_cast<int64_t>(retention_days))
             .bind(2, static_cast<int64_t>(priority))
             .bind(3, camera_id)
             .run());
  if (db_->changes() == 0) {
    return make_error(ErrorKind::kNotFound, "no camera with id " + std::to_string(camera_id));
  }
  return {};
}

Status Catalog::note_space_deletion(int64_t camera_id, int64_t through_utc_us) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto update,
                      db_->prepare("UPDATE cameras SET space_deleted_through_utc_us = "
                                   "MAX(COALESCE(space_deleted_through_utc_us, ?1), ?1) "
                                   "WHERE id = ?2"));
  return update.bind(1, through_utc_us).bind(2, camera_id).run();
}

Result<std::optional<double>> Catalog::recent_bytes_per_second(int64_t camera_id) {
  std::lock_guard lock(mutex_);
  // The last ten complete segments (about ten minutes at the default length).
  YW_ASSIGN_OR_RETURN(auto query,
                      db_->prepare("SELECT SUM(bytes), SUM(end_utc_us - start_utc_us) FROM "
                                   "(SELECT bytes, start_utc_us, end_utc_us FROM segments "
                                   "WHERE camera_id = ?1 AND state = 'complete' "
                                   "ORDER BY start_utc_us DESC LIMIT 10)"));
  query.bind(1, camera_id);
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  if (!has_row || query.column_is_null(0) || query.column_int(1) <= 0) {
    return std::optional<double>();
  }
  return std::optional<double>(static_cast<double>(query.column_int(0)) * 1e6 /
                               static_cast<double>(query.column_int(1)));
}

Result<std::optional<int64_t>> Catalog::newest_footage_end() {
  std::lock_guard lock(mutex_);
  // The end-time index read from its far end: one step, whatever the catalog's size.
  YW_ASSIGN_OR_RETURN(auto query, db_->prepare("SELECT end_utc_us FROM segments INDEXED BY "
                                               "segments_by_end WHERE state <> 'garbage' "
                                               "ORDER BY end_utc_us DESC LIMIT 1"));
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  if (!has_row || query.column_is_null(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(query.column_int(0));
}

Result<int64_t> Catalog::add_protected_range(int64_t camera_id, int64_t from_utc_us,
                                             int64_t to_utc_us, const std::string& owner,
                                             int64_t now_utc_us) {
  if (to_utc_us <= from_utc_us) {
    return make_error(ErrorKind::kInvalidArgument, "a protected range must end after it starts");
  }
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(
      auto insert, db_->prepare("INSERT INTO protected_ranges(camera_id, from_utc_us, "
                                "to_utc_us, owner, created_utc_us) VALUES (?1, ?2, ?3, ?4, ?5)"));
  insert.bind(1, camera_id).bind(2, from_utc_us).bind(3, to_utc_us).bind(4, owner);
  YW_TRY(insert.bind(5, now_utc_us).run());
  return db_->last_insert_rowid();
}

Status Catalog::remove_protected_range(int64_t id) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto remove, db_->prepare("DELETE FROM protected_ranges WHERE id = ?1"));
  return remove.bind(1, id).run();
}

Result<std::vector<ProtectedRange>> Catalog::protected_ranges(int64_t camera_id,
                                                              int64_t from_utc_us,
                                                              int64_t to_utc_us) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto query,
                      db_->prepare(std::string("SELECT ") + kProtectedColumns +
                                   " FROM protected_ranges WHERE camera_id = ?1 AND "
                                   "from_utc_us < ?3 AND to_utc_us > ?2 ORDER BY from_utc_us, id"));
  query.bind(1, camera_id).bind(2, from_utc_us).bind(3, to_utc_us);
  std::vector<ProtectedRange> ranges;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, query.step());
    if (!has_row) break;
    ranges.push_back(read_protected(query));
  }
  return ranges;
}

Result<std::vector<SegmentRow>> Catalog::segments_overlapping(int64_t camera_id,
                                                              int64_t from_utc_us,
                                                              int64_t to_utc_us) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto query,
                      db_->prepare(std::string("SELECT ") + kSegmentColumns +
                                   " FROM segments WHERE camera_id = ?1 AND start_utc_us < ?3 "
                                   "AND (end_utc_us > ?2 OR state = 'recording') AND "
                                   "state <> 'garbage' ORDER BY start_utc_us"));
  query.bind(1, camera_id).bind(2, from_utc_us).bind(3, to_utc_us);
  std::vector<SegmentRow> rows;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, query.step());
    if (!has_row) break;
    rows.push_back(read_segment_row(query));
  }
  return rows;
}

Result<std::vector<int64_t>> Catalog::complete_segments_within(int64_t camera_id,
                                                               int64_t start_from_utc_us,
                                                               int64_t end_from_utc_us,
                                                               int64_t end_before_utc_us) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(
      auto query,
      db_->prepare("SELECT id FROM segments INDEXED BY segments_complete_by_camera_end WHERE "
                   "camera_id = ?1 AND end_utc_us >= ?2 AND end_utc_us < ?3 AND "
                   "start_utc_us >= ?4 AND state = 'complete'"));
  query.bind(1, camera_id).bind(2, end_from_utc_us).bind(3, end_before_utc_us);
  query.bind(4, start_from_utc_us);
  std::vector<int64_t> ids;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, query.step());
    if (!has_row) break;
    ids.push_back(query.column_int(0));
  }
  return ids;
}

Result<std::vector<MarkedSegment>> Catalog::mark_garbage(std::span<const int64_t> segment_ids) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto transaction, sql::Transaction::begin(*db_));
  // One statement per chunk of ids, not one per id: inside a transaction every statement keeps
  // a statement journal of the pages it changes, and 100 000 of those cost more than the
  // updates themselves. The ids travel as a JSON array of integers (json_each is built in).
  // secure_delete is on for every connection (sqlite.cpp), so the bytes of the old wrapped key
  // are overwritten on the page, not merely unlinked from it.
  YW_ASSIGN_OR_RETURN(
      auto update,
      db_->prepare("UPDATE segments SET state = 'garbage', wrapped_key = NULL WHERE id IN "
                   "(SELECT value FROM json_each(?1)) AND state = 'complete' RETURNING id, "
                   "camera_id, start_utc_us, end_utc_us, bytes"));
  constexpr size_t kChunk = 10'000;
  std::vector<MarkedSegment> marked;
  marked.reserve(segment_ids.size());
  for (size_t first = 0; first < segment_ids.size(); first += kChunk) {
    const auto chunk = segment_ids.subspan(first, std::min(kChunk, segment_ids.size() - first));
    std::string ids = "[";
    for (int64_t id : chunk) {
      if (ids.size() > 1) ids += ',';
      ids += std::to_string(id);
    }
    ids += ']';
    update.reset();
    update.bind(1, std::string_view(ids));
    while (true) {
      YW_ASSIGN_OR_RETURN(bool has_row, update.step());
      if (!has_row) break;
      marked.push_back(read_marked(update));
    }
  }
  YW_TRY(transaction.commit());
  return marked;
}

Result<std::optional<MarkedSegment>> Catalog::mark_garbage(int64_t segment_id) {
  const int64_t ids[] = {segment_id};
  YW_ASSIGN_OR_RETURN(auto marked, mark_garbage(std::span<const int64_t>(ids)));
  if (marked.empty()) return std::optional<MarkedSegment>();
  return std::optional<MarkedSegment>(marked.front());
}

Result<std::vector<SegmentRow>> Catalog::complete_segments_by_end(int64_t after_end_utc_us,
                                                                  int64_t after_id, int limit) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(
      auto query,
      db_->prepare(std::string("SELECT ") + kSegmentColumns +
                   " FROM segments INDEXED BY segments_by_end WHERE end_utc_us >= ?1 AND "
                   "(end_utc_us > ?1 OR id > ?2) AND "
                   "state = 'complete' ORDER BY end_utc_us, id LIMIT ?3"));
  query.bind(1, after_end_utc_us).bind(2, after_id).bind(3, static_cast<int64_t>(limit));
  std::vector<SegmentRow> rows;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, query.step());
    if (!has_row) break;
    rows.push_back(read_segment_row(query));
  }
  return rows;
}

Result<std::vector<std::pair<int64_t, int64_t>>> Catalog::garbage_segments() {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto query, db_->prepare("SELECT id, camera_id FROM segments WHERE state = "
                                               "'garbage' ORDER BY id"));
  std::vector<std::pair<int64_t, int64_t>> rows;
  while (true) {
    YW_ASSIGN_OR_RETURN(bool has_row, query.step());
    if (!has_row) break;
    rows.emplace_back(query.column_int(0), query.column_int(1));
  }
  return rows;
}

Status Catalog::destroy_garbage_keys() {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto update, db_->prepare("UPDATE segments SET wrapped_key = NULL WHERE "
                                                "state = 'garbage' AND wrapped_key IS NOT NULL"));
  return update.run();
}

Status Catalog::remove_garbage_rows(std::span<const int64_t> ids) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto transaction, sql::Transaction::begin(*db_));
  // In chunks of ids, one statement each (see mark_garbage).
  YW_ASSIGN_OR_RETURN(auto remove,
                      db_->prepare("DELETE FROM segments WHERE id IN (SELECT value FROM "
                                   "json_each(?1)) AND state = 'garbage'"));
  constexpr size_t kChunk = 10'000;
  for (size_t first = 0; first < ids.size(); first += kChunk) {
    const auto chunk = ids.subspan(first, std::min(kChunk, ids.size() - first));
    std::string list = "[";
    for (int64_t id : chunk) {
      if (list.size() > 1) list += ',';
      list += std::to_string(id);
    }
    list += ']';
    remove.reset();
    YW_TRY(remove.bind(1, std::string_view(list)).run());
  }
  return transaction.commit();
}

Result<bool> Catalog::checkpoint_wal() {
  std::lock_guard lock(mutex_);
  return db_->checkpoint_truncate();
}

Result<std::optional<std::string>> Catalog::meta(const std::string& key) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto query, db_->prepare("SELECT value FROM meta WHERE key = ?1"));
  query.bind(1, key);
  YW_ASSIGN_OR_RETURN(bool has_row, query.step());
  if (!has_row) return std::optional<std::string>();
  return std::optional<std::string>(query.column_text(0));
}

Status Catalog::set_meta(const std::string& key, const std::string& value) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto upsert, db_->prepare("INSERT INTO meta(key, value) VALUES (?1, ?2) "
                                                "ON CONFLICT(key) DO UPDATE SET value = "
                                                "excluded.value"));
  return upsert.bind(1, key).bind(2, value).run();
}

Status Catalog::erase_meta(const std::string& key) {
  std::lock_guard lock(mutex_);
  YW_ASSIGN_OR_RETURN(auto remove, db_->prepare("DELETE FROM meta WHERE key = ?1"));
  return remove.bind(1, key).run();
}

}  // namespace yardwatch::recorder
