#pragma once

// The export writer: stored segments → a police bundle on a removable medium
// (recorder/design/bundle.md). Media and format only: who may export, why, and the audit entry
// are the firmware's export service; here everything about people is opaque text.
//
// Two passes over the encrypted segments: the first authenticates every source segment in full
// (its SHA-256 must equal the catalog's record) and collects the sample tables, the second
// streams the access units, unchanged, through a progressive MP4 header and the bundle's
// encryption straight onto the medium. Plaintext exists only in memory, a chunk at a time.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/removable_media.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/bundle_format.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::recorder {

// Two segments are one continuous range when the second starts within this of the first's end
// (and they have the same sample description); more than this is a gap.
constexpr int64_t kExportJoinToleranceUs = 1'000'000;

// One camera's footage in the requested range, as the catalog knows it.
struct ExportSource {
  Camera camera;
  std::vector<SegmentRow> segments;  // complete, overlapping the range, ordered by start
};

// Reads the catalog only (nothing is decrypted). kNotFound for an unknown camera;
// kFailedPrecondition if a segment in the range is still being recorded (it can be exported once
// it is closed, within a segment length).
Result<std::vector<ExportSource>> plan_export_sources(Catalog& catalog,
                                                      const std::vector<std::string>& cameras,
                                                      int64_t from_utc_us, int64_t to_utc_us);

// What every bundle, police or subject access, says of where, when and for whom it was made,
// and how it is encrypted: the manifest header both writers fill alike.
struct BundleHeader {
  bundle_format::ExportId export_id{};
  int64_t created_utc_us = 0;
  std::string clock_at_export;  // synchronised | unsynchronised | unknown
  std::string device_id;
  std::string device_name;
  std::string legal_basis;
  std::string recipient;
  bundle_format::Person requested_by;
  bundle_format::Person approved_by;
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;
  std::string passphrase;  // already checked with bundle_format::check_passphrase
  uint64_t kdf_opslimit = bundle_format::kDefaultOpsLimit;
  uint64_t kdf_memlimit = bundle_format::kDefaultMemLimit;
  uint32_t chunk_bytes = bundle_format::kDefaultChunkBytes;
  std::span<const uint8_t> verify_page;  // verify.html, built from tools/verify/web
  // The time source state over a wall-clock range ("synchronised", "unsynchronised",
  // "unknown"); the firmware keeps that log. Unset: "unknown".
  std::function<std::string(int64_t from_utc_us, int64_t to_utc_us)> time_source;
};

struct BundleRequest : BundleHeader {
  std::string case_reference;
  std::vector<ExportSource> sources;
  // Worker threads for the passes (0: one per core, at most 4).
  unsigned threads = 0;
};

struct BundleResult {
  std::string manifest_bytes;
  bundle_format::Sha256 manifest_sha256{};
  bundle_format::Manifest manifest;
  uint64_t bytes_written = 0;
  uint64_t source_bytes_read = 0;
};

// Writes the whole bundle into `target` and verifies it by reading every file back;
// manifest.sig is written last, so a bundle without it is incomplete. On failure the files
// written so far are removed (best effort: a pulled stick cannot be cleaned) and the error says
// what happened: kResourceExhausted (medium full), kUnavailable (medium gone), kDataLoss (a
// source segment or the read-back did not check), kInvalidArgument (nothing to export).
Result<BundleResult> write_bundle(const hal::Storage& storage, const hal::KeyStore& keys,
                                  const BundleRequest& request, hal::MediaTarget& target);

// A subject access export (R7; firmware/design/subject_export.md): one redacted MP4, already in
// memory, of one camera, written as a bundle of kind subject_access that carries the request's
// reference. The same encryption, read-back and signature as write_bundle; the source segments
// are listed (id, time, recorded SHA-256) so that the recipient sees what was redacted from.
struct SubjectBundleRequest : BundleHeader {
  std::string request_reference;
  Camera camera;
  std::span<const uint8_t> mp4;  // the redacted progressive MP4 (H.264)
  int64_t start_utc_us = 0;
  int64_t end_utc_us = 0;
  int64_t duration_us = 0;
  uint32_t width = 0;
  uint32_t height = 0;
  uint64_t frames = 0;
  std::vector<SegmentRow> source_segments;
};

// As write_bundle: on failure the files written so far are removed (best effort).
Result<BundleResult> write_subject_bundle(const hal::KeyStore& keys,
                                          const SubjectBundleRequest& request,
                                          hal::MediaTarget& target);

// The README.txt of a bundle (Dutch and English) for the manifest it accompanies.
std::string render_bundle_readme(const bundle_format::Manifest& manifest);

}  // namespace yardwatch::recorder
