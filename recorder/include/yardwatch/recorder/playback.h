#pragma once

// Playback: decrypts a stored segment back into a playable fragmented MP4. The whole segment is
// authenticated before a single byte is handed out, so a tampered or truncated file yields an
// error and no output at all.

#include <cstdint>
#include <vector>

#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::recorder {

struct DecryptedSegment {
  SegmentRow row;
  std::vector<uint8_t> mp4;  // init section followed by every fragment
};

// kNotFound for an unknown id; kFailedPrecondition while the segment is still being recorded;
// kDataLoss for anything that does not authenticate or does not match the catalog.
Result<DecryptedSegment> decrypt_segment(Catalog& catalog, const hal::Storage& storage,
                                         const hal::KeyStore& keys, int64_t segment_id);

}  // namespace yardwatch::recorder
