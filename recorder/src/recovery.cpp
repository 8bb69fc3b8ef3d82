#include "yardwatch/recorder/recovery.h"

#include <sodium.h>

#include <map>
#include <set>

#include "sha256.h"
#include "yardwatch/recorder/data_dir.h"
#include "yardwatch/recorder/retention.h"
#include "yardwatch/recorder/segment_file.h"

namespace yardwatch::recorder {

namespace fs = std::filesystem;

namespace {

std::string segment_label(const SegmentRow& row) {
  return "segment " + std::to_string(row.id) + " of camera " + std::to_string(row.camera_id);
}

SegmentIdentity identity_of(const SegmentRow& row) {
  return SegmentIdentity{row.id, row.camera_id, row.start_utc_us};
}

void remove_file(const hal::Storage& storage, const fs::path& path) {
  std::error_code ignored;
  if (fs::remove(path, ignored)) (void)storage.sync_directory(path.parent_path());
}

// Every regular file under segments/, with the ids its name claims (if any).
std::vector<fs::path> segment_files(const fs::path& data_dir) {
  std::vector<fs::path> files;
  std::error_code error;
  fs::path root = segments_root(data_dir);
  if (!fs::exists(root, error)) return files;
  for (fs::recursive_directory_iterator it(root, error), end; !error && it != end;
       it.increment(error)) {
    if (it->is_regular_file(error)) files.push_back(it->path());
  }
  return files;
}

}  // namespace

Result<RecoveryReport> recover_data_dir(Catalog& catalog, const hal::Storage& storage,
                                        const hal::KeyStore& keys) {
  RecoveryReport report;
  const fs::path& data_dir = storage.data_dir();

  // Rule 5: a `garbage` row is a deletion in progress (key, WAL checkpoint, file, row); finish
  // it the way the deletion itself would have (recorder/design/retention.md).
  YW_ASSIGN_OR_RETURN(auto garbage, catalog.segments_in_state(SegmentState::kGarbage));
  if (!garbage.empty()) {
    YW_ASSIGN_OR_RETURN(FinishReport finished, finish_deletions(catalog, storage));
    if (!finished.checkpoint_complete) {
      return make_error(ErrorKind::kUnavailable,
                        "recovery could not checkpoint the catalog's WAL to finish " +
                            std::to_string(garbage.size()) +
                            " interrupted deletion(s): another process keeps it open");
    }
    report.garbage_finished = static_cast<int>(finished.rows_removed);
    for (const auto& row : garbage)
      report.notes.push_back("finished deleting " + segment_label(row));
  }

  // Rules 2–3: a `recording` row is closed with every authentic fragment of its file.
  YW_ASSIGN_OR_RETURN(auto recording, catalog.segments_in_state(SegmentState::kRecording));
  for (const auto& row : recording) {
    const fs::path path = segment_path(data_dir, row.camera_id, row.id);
    auto key = unwrap_segment_key(keys.master_key(), row.wrapped_key, identity_of(row));
    Result<RecoveredSegment> recovered =
        key.ok() ? recover_segment_file(storage, path, identity_of(row), key.value())
                 : Result<RecoveredSegment>(key.error());
    if (!recovered.ok() || recovered.value().summary.fragment_count == 0) {
      std::string why = recovered.ok() ? "it held no complete fragment" : recovered.error().message;
      remove_file(storage, path);
      YW_TRY(catalog.delete_segment(row.id));
      ++report.rows_removed;
      report.notes.push_back("removed " + segment_label(row) + ": " + why);
      continue;
    }
    const SegmentSummary& summary = recovered.value().summary;
    YW_TRY(catalog.complete_segment(row.id, SegmentCompletion{summary.end_utc_us,
                                                              summary.file_bytes,
                                                              summary.fragment_count,
                                                              {summary.plaintext_sha256.begin(),
                                                               summary.plaintext_sha256.end()}}));
    ++report.segments_recovered;
    report.bytes_discarded += recovered.value().bytes_discarded;
    report.notes.push_back("recovered " + segment_label(row) + ": " +
                           std::to_string(summary.fragment_count) + " fragments kept, " +
                           std::to_string(recovered.value().bytes_discarded) +
                           " bytes of unfinished tail discarded");
  }

  // Rule 4: a file without a row is unreachable ciphertext (its key was never committed, or
  // was destroyed); remove it.
  YW_ASSIGN_OR_RETURN(auto rows, catalog.all_segments());
  std::set<fs::path> expected;
  for (const auto& row : rows) expected.insert(segment_path(data_dir, row.camera_id, row.id));
  for (const auto& file : segment_files(data_dir)) {
    if (expected.count(file) != 0) continue;
    remove_file(storage, file);
    ++report.orphan_files_removed;
    report.notes.push_back("removed file without a catalog row: " + file.string());
  }
  return report;
}

Result<std::vector<CheckViolation>> check_data_dir(Catalog& catalog, const hal::Storage& storage,
                                                   const hal::KeyStore& keys,
                                                   bool recorder_running) {
  std::vector<CheckViolation> violations;
  const fs::path& data_dir = storage.data_dir();
  YW_ASSIGN_OR_RETURN(auto rows, catalog.all_segments());
  std::set<fs::path> expected;
  std::map<int64_t, int> recording_per_camera;
  std::map<int64_t, const SegmentRow*> previous_per_camera;

  for (const auto& row : rows) {
    const fs::path path = segment_path(data_dir, row.camera_id, row.id);
    expected.insert(path);
    const std::string label = segment_label(row);
    if (row.state == SegmentState::kGarbage) {
      // A deletion in progress is fine while a process is at it; its key must already be gone.
      if (!row.wrapped_key.empty()) {
        violations.push_back({5, label + " is marked garbage but still holds its wrapped key"});
      } else if (!recorder_running) {
        violations.push_back({5, label + " is half-deleted (state garbage): recovery (the next "
                                         "yardwatchd start) finishes it"});
      }
      continue;
    }
    if (row.state == SegmentState::kRecording) {
      if (!recorder_running) {
        violations.push_back({3, label + " is still `recording` but no recorder is running "
                                         "(recovery has not run)"});
      } else if (++recording_per_camera[row.camera_id] > 1) {
        violations.push_back({3, "camera " + std::to_string(row.camera_id) +
                                     " has more than one `recording` segment"});
      }
    }
    // Rule 6: no overlapping segments for one camera (rows are ordered by camera, start).
    auto previous = previous_per_camera.find(row.camera_id);
    if (previous != previous_per_camera.end() && row.start_utc_us < previous->second->end_utc_us) {
      violations.push_back(
          {6, label + " starts before " + segment_label(*previous->second) + " ends (overlap)"});
    }
    previous_per_camera[row.camera_id] = &row;
    if (row.end_utc_us < row.start_utc_us) {
      violations.push_back({6, label + " ends before it starts"});
    }

    std::error_code error;
    if (!fs::exists(path, error)) {
      if (row.state == SegmentState::kComplete || !recorder_running) {
        violations.push_back({2, label + " has no file (" + path.string() + ")"});
      }
      continue;
    }
    auto key = unwrap_segment_key(keys.master_key(), row.wrapped_key,
                                  {row.id, row.camera_id, row.start_utc_us});
    if (!key.ok()) {
      violations.push_back({7, label + ": " + key.error().message});
      continue;
    }
    if (row.state != SegmentState::kComplete) continue;  // a growing file is checked once closed

    const auto size = fs::file_size(path, error);
    if (error || size != row.bytes) {
      violations.push_back({2, label + ": file has " + std::to_string(size) +
                                   " bytes, catalog says " + std::to_string(row.bytes)});
    }
    auto reader = SegmentReader::open(path, {row.id, row.camera_id, row.start_utc_us}, key.value());
    if (!reader.ok()) {
      violations.push_back({7, label + ": " + reader.error().message});
      continue;
    }
    Sha256Hasher hash;
    uint32_t fragments = 0;
    int64_t first_utc = -1;
    int64_t end_utc = 0;
    bool failed = false;
    while (true) {
      auto message = reader.value()->next();
      if (!message.ok()) {
        violations.push_back({7, label + ": " + message.error().message});
        failed = true;
        break;
      }
      if (!message.value()) break;
      const SegmentMessage& m = *message.value();
      if (m.type == MessageType::kFragment) {
        ++fragments;
        if (first_utc < 0) first_utc = m.fragment.utc_start_us;
        end_utc = m.fragment.utc_start_us + m.fragment.duration_us;
      }
      hash.update(m.payload);
    }
    if (failed) continue;
    const auto digest = hash.finish();
    if (std::vector<uint8_t>(digest.begin(), digest.end()) != row.plaintext_sha256) {
      violations.push_back({7, label + ": SHA-256 of the decrypted footage differs from the "
                                       "one recorded in the catalog"});
    }
    if (fragments != row.fragment_count) {
      violations.push_back({7, label + ": file holds " + std::to_string(fragments) +
                                   " fragments, catalog says " +
                                   std::to_string(row.fragment_count)});
    }
    if (fragments > 0 && (first_utc != row.start_utc_us || end_utc != row.end_utc_us)) {
      violations.push_back({6, label + ": catalog range differs from the fragments' times"});
    }
  }
  // Rule 4: every file has a row.
  for (const auto& file : segment_files(data_dir)) {
    if (expected.count(file) == 0) {
      violations.push_back({4, "file without a catalog row: " + file.string()});
    }
  }
  return violations;
}

}  // namespace yardwatch::recorder
