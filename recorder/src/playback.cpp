#include "yardwatch/recorder/playback.h"

#include <sodium.h>

#include "sha256.h"
#include "yardwatch/recorder/data_dir.h"
#include "yardwatch/recorder/segment_file.h"

namespace yardwatch::recorder {

Result<DecryptedSegment> decrypt_segment(Catalog& catalog, const hal::Storage& storage,
                                         const hal::KeyStore& keys, int64_t segment_id) {
  YW_ASSIGN_OR_RETURN(auto found, catalog.segment(segment_id));
  if (!found || found->state == SegmentState::kGarbage) {
    return make_error(ErrorKind::kNotFound, "no segment with id " + std::to_string(segment_id));
  }
  SegmentRow row = std::move(*found);
  if (row.state == SegmentState::kRecording) {
    return make_error(ErrorKind::kFailedPrecondition,
                      "segment " + std::to_string(segment_id) + " is still being recorded");
  }
  const SegmentIdentity identity{row.id, row.camera_id, row.start_utc_us};
  YW_ASSIGN_OR_RETURN(auto key, unwrap_segment_key(keys.master_key(), row.wrapped_key, identity));
  const auto path = segment_path(storage.data_dir(), row.camera_id, row.id);
  YW_ASSIGN_OR_RETURN(auto reader, SegmentReader::open(path, identity, key));
  DecryptedSegment result;
  result.mp4.reserve(row.bytes);
  Sha256Hasher hash;
  while (true) {
    YW_ASSIGN_OR_RETURN(auto message, reader->next());
    if (!message) break;
    hash.update(message->payload);
    result.mp4.insert(result.mp4.end(), message->payload.begin(), message->payload.end());
  }
  const auto sha256 = hash.finish();
  if (std::vector<uint8_t>(sha256.begin(), sha256.end()) != row.plaintext_sha256) {
    return make_error(ErrorKind::kDataLoss,
                      "segment " + std::to_string(segment_id) +
                          ": decrypted footage does not match the SHA-256 recorded in the catalog");
  }
  result.row = std::move(row);
  return result;
}

}  // namespace yardwatch::recorder
