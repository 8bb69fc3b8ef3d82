#include "yardwatch/recorder/export_bundle.h"

#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "sha256.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/data_dir.h"
#include "yardwatch/recorder/mp4_remux.h"
#include "yardwatch/recorder/segment_file.h"

// Design and byte layouts: recorder/design/bundle.md.

namespace yardwatch::recorder {

namespace format = bundle_format;

namespace {

// How often a long write looks whether the medium is still there: Linux keeps writing to files
// of a directory that was removed, so errors alone would not tell.
constexpr uint64_t kPresenceCheckBytes = uint64_t{64} << 20;
// Parts of the requested range without footage shorter than this are rounding, not gaps.
constexpr int64_t kGapToleranceUs = kExportJoinToleranceUs;
constexpr std::string_view kPartialSignatureName = "manifest.sig.partial";

std::string hex(std::span<const uint8_t> bytes) { return format::to_hex(bytes); }

// One stored fragment, as pass 1 found it.
struct FragmentRecord {
  size_t segment = 0;    // index into the camera's segments
  uint32_t ordinal = 0;  // 0-based position among the segment's fragments
  int64_t utc_start_us = 0;
  int64_t duration_us = 0;
  size_t init = 0;  // index into the camera's distinct init sections
  std::vector<Mp4Sample> samples;
};

struct SegmentScan {
  size_t init = 0;
  std::vector<FragmentRecord> fragments;
};

// A continuous run of fragments of one camera that becomes one MP4 file.
struct OutputFile {
  size_t camera = 0;
  size_t init = 0;
  std::vector<const FragmentRecord*> fragments;
  uint32_t index = 0;
  std::string name;
};

struct CameraScan {
  std::vector<InitInfo> inits;
  std::vector<SegmentScan> segments;
};

std::string sanitize(std::string_view name) {
  std::string out;
  for (char c : name) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
    if (keep) {
      out.push_back(c);
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
    if (out.size() >= 40) break;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "camera" : out;
}

// "20261125T100000Z"
std::string compact_time(int64_t utc_us) {
  std::string iso = hal::format_iso8601_utc(utc_us);
  std::string out;
  for (char c : iso.substr(0, 19)) {
    if (c != '-' && c != ':') out.push_back(c);
  }
  return out + "Z";
}

std::string segment_name(const SegmentRow& row) {
  return "segment " + std::to_string(row.id) + " (" + hal::format_iso8601_utc(row.start_utc_us) +
         ")";
}

Error with_context(const Error& error, const std::string& context) {
  return make_error(error.kind, context + ": " + error.message);
}

// Runs `count` tasks on up to `threads` threads; the first error stops the rest.
Status run_parallel(size_t count, unsigned threads, const std::function<Status(size_t)>& task) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::optional<Error> first_error;
  auto worker = [&] {
    while (!stop.load()) {
      const size_t i = next.fetch_add(1);
      if (i >= count) return;
      Status status = make_error(ErrorKind::kInternal, "task did not run");
      try {
        status = task(i);
      } catch (const std::exception& e) {
        status = make_error(ErrorKind::kInternal, std::string("export task failed: ") + e.what());
      }
      if (!status.ok()) {
        std::lock_guard lock(mutex);
        if (!first_error) first_error = status.error();
        stop = true;
      }
    }
  };
  const unsigned workers = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(count)));
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < workers; ++i) pool.emplace_back(worker);
  worker();
  for (auto& thread : pool) thread.join();
  if (first_error) return *first_error;
  return {};
}

Result<std::unique_ptr<SegmentReader>> open_segment(const hal::Storage& storage,
                                                    const hal::KeyStore& keys,
                                                    const SegmentRow& row) {
  const SegmentIdentity identity{row.id, row.camera_id, row.start_utc_us};
  YW_ASSIGN_OR_RETURN(auto key, unwrap_segment_key(keys.master_key(), row.wrapped_key, identity));
  return SegmentReader::open(segment_path(storage.data_dir(), row.camera_id, row.id), identity,
                             key);
}

std::vector<Mp4Sample> to_mp4_samples(const ParsedFragment& parsed) {
  std::vector<Mp4Sample> samples;
  samples.reserve(parsed.samples.size());
  for (const auto& s : parsed.samples) {
    samples.push_back({s.size, s.duration, s.composition_offset, s.keyframe});
  }
  return samples;
}

bool same_samples(const std::vector<Mp4Sample>& a, const ParsedFragment& b) {
  if (a.size() != b.samples.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto& s = b.samples[i];
    if (a[i].size != s.size || a[i].duration != s.duration ||
        a[i].composition_offset != s.composition_offset || a[i].keyframe != s.keyframe) {
      return false;
    }
  }
  return true;
}

// Pass 1 over one camera: authenticates every source segment in full, checks its SHA-256
// against the catalog, and records each fragment's sample table.
Status scan_camera(const hal::Storage& storage, const hal::KeyStore& keys,
                   const ExportSource& source, CameraScan& scan, std::atomic<uint64_t>& read) {
  scan.segments.resize(source.segments.size());
  for (size_t s = 0; s < source.segments.size(); ++s) {
    const SegmentRow& row = source.segments[s];
    const std::string context = "camera " + source.camera.spec.name + ", " + segment_name(row);
    auto reader = open_segment(storage, keys, row);
    if (!reader.ok()) return with_context(reader.error(), context);
    std::optional<size_t> init;
    uint32_t ordinal = 0;
    while (true) {
      auto message = reader.value()->next();
      if (!message.ok()) return with_context(message.error(), context);
      if (!message.value()) break;
      SegmentMessage& m = *message.value();
      read += m.payload.size();
      if (m.type == MessageType::kInit) {
        auto info = parse_init_section(m.payload);
        if (!info.ok()) return with_context(info.error(), context);
        // Segments of one camera usually share their init section; keep each distinct one once.
        auto same = std::find_if(scan.inits.begin(), scan.inits.end(), [&](const InitInfo& i) {
          return i.sample_entry == info.value().sample_entry &&
                 i.timescale == info.value().timescale;
        });
        init = static_cast<size_t>(same - scan.inits.begin());
        if (same == scan.inits.end()) scan.inits.push_back(std::move(info).value());
        continue;
      }
      if (!init) return make_error(ErrorKind::kDataLoss, context + ": no init section");
      auto parsed = parse_media_fragment(m.payload, scan.inits[*init]);
      if (!parsed.ok()) return with_context(parsed.error(), context);
      FragmentRecord record;
      record.segment = s;
      record.ordinal = ordinal++;
      record.utc_start_us = m.fragment.utc_start_us;
      record.duration_us = m.fragment.duration_us;
      record.init = *init;
      record.samples = to_mp4_samples(parsed.value());
      scan.segments[s].fragments.push_back(std::move(record));
    }
    const auto sha256 = reader.value()->verified_sha256();
    if (!sha256 || std::vector<uint8_t>(sha256->begin(), sha256->end()) != row.plaintext_sha256) {
      return make_error(ErrorKind::kDataLoss,
                        context +
                            ": the decrypted footage does not match the SHA-256 the catalog "
                            "recorded when the segment was closed; it is not exported");
    }
    scan.segments[s].init = init.value_or(0);
  }
  return {};
}

// Chooses the fragments that overlap [from, to) (starting at a keyframe) and cuts them into
// continuous runs.
std::vector<OutputFile> select_files(const CameraScan& scan, size_t camera, int64_t from,
                                     int64_t to) {
  std::vector<OutputFile> files;
  const FragmentRecord* previous = nullptr;
  for (const auto& segment : scan.segments) {
    const auto& fragments = segment.fragments;
    // The first fragment that overlaps, moved back to a keyframe so the file decodes.
    size_t first = fragments.size();
    size_t last = 0;
    for (size_t i = 0; i < fragments.size(); ++i) {
      const auto& f = fragments[i];
      if (f.utc_start_us < to && f.utc_start_us + f.duration_us > from) {
        first = std::min(first, i);
        last = i;
      }
    }
    if (first == fragments.size() || [&] {
          while (first > 0 && !fragments[first].samples.front().keyframe) --first;
          return !fragments[first].samples.front().keyframe;  // nothing decodable
        }()) {
      previous = nullptr;  // a segment left out breaks the chain
      continue;
    }
    for (size_t i = first; i <= last; ++i) {
      const FragmentRecord* f = &fragments[i];
      const bool continues =
          previous != nullptr && !files.empty() &&
          (previous->segment == f->segment ||
           (previous->init == f->init &&
            std::llabs(f->utc_start_us - (previous->utc_start_us + previous->duration_us)) <=
                kExportJoinToleranceUs));
      if (!continues) {
        OutputFile file;
        file.camera = camera;
        file.init = f->init;
        files.push_back(std::move(file));
      }
      files.back().fragments.push_back(f);
      previous = f;
    }
    // A gap inside a segment cannot happen (the segmenter keeps time continuous); a segment that
    // ends outside the range breaks the chain on purpose.
    if (last + 1 < fragments.size()) previous = nullptr;
  }
  return files;
}

int64_t file_start(const OutputFile& file) { return file.fragments.front()->utc_start_us; }
int64_t file_end(const OutputFile& file) {
  const FragmentRecord* last = file.fragments.back();
  return last->utc_start_us + last->duration_us;
}

std::vector<format::Gap> find_gaps(const std::vector<const OutputFile*>& files, int64_t from,
                                   int64_t to) {
  std::vector<format::Gap> gaps;
  int64_t covered_until = from;
  for (const OutputFile* file : files) {
    if (file_start(*file) - covered_until > kGapToleranceUs) {
      gaps.push_back({covered_until, std::min(file_start(*file), to)});
    }
    covered_until = std::max(covered_until, file_end(*file));
  }
  if (to - covered_until > kGapToleranceUs) gaps.push_back({covered_until, to});
  return gaps;
}

// The bundle being written: what went onto the medium and how to check it.
struct WrittenFile {
  std::string name;
  uint64_t bytes = 0;
  format::Sha256 sha256{};
};

class OutputStream {
 public:
  OutputStream(hal::MediaTarget& target, std::unique_ptr<hal::MediaFile> file)
      : target_(target), file_(std::move(file)) {}

  Status write(std::span<const uint8_t> bytes) {
    YW_TRY(file_->write(bytes));
    hash_.update(bytes);
    written_ += bytes.size();
    if (written_ - last_check_ >= kPresenceCheckBytes) {
      last_check_ = written_;
      YW_TRY(target_.check_present());
    }
    return {};
  }
  Result<WrittenFile> finish(std::string name) {
    YW_TRY(file_->finish());
    WrittenFile written;
    written.name = std::move(name);
    written.bytes = written_;
    written.sha256 = hash_.finish();
    return written;
  }

 private:
  hal::MediaTarget& target_;
  std::unique_ptr<hal::MediaFile> file_;
  Sha256Hasher hash_;
  uint64_t written_ = 0;
  uint64_t last_check_ = 0;
};

Result<WrittenFile> write_plain_file(hal::MediaTarget& target, std::string_view name,
                                     std::span<const uint8_t> bytes) {
  YW_ASSIGN_OR_RETURN(auto file, target.create_file(name));
  OutputStream out(target, std::move(file));
  YW_TRY(out.write(bytes));
  return out.finish(std::string(name));
}

std::span<const uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

struct FileResult {
  WrittenFile encrypted;
  uint64_t mp4_bytes = 0;
  format::Sha256 mp4_sha256{};
  uint64_t frames = 0;
  int64_t duration_us = 0;
};

// Pass 2 for one output file: header, then every access unit, through the encryption onto the
// medium.
Status write_footage_file(const hal::Storage& storage, const hal::KeyStore& keys,
                          const BundleRequest& request, const format::BundleKeys& bundle_keys,
                          const ExportSource& source, const CameraScan& scan,
                          const OutputFile& file, hal::MediaTarget& target, FileResult& result,
                          std::atomic<uint64_t>& read) {
  const InitInfo& init = scan.inits[file.init];
  std::vector<Mp4Sample> samples;
  std::vector<uint32_t> chunks;
  uint64_t duration_ticks = 0;
  for (const FragmentRecord* f : file.fragments) {
    samples.insert(samples.end(), f->samples.begin(), f->samples.end());
    chunks.push_back(static_cast<uint32_t>(f->samples.size()));
    for (const auto& s : f->samples) duration_ticks += s.duration;
  }
  Mp4Metadata metadata;
  metadata.creation_utc_us = file_start(file);
  metadata.title = source.camera.spec.name + " " + hal::format_iso8601_utc(file_start(file));
  metadata.comment = "Yardwatch export " + format::export_id_text(request.export_id) + ", case " +
                     request.case_reference;
  const std::vector<uint8_t> header = build_progressive_mp4_header(init, samples, chunks, metadata);

  YW_ASSIGN_OR_RETURN(auto media_file, target.create_file(file.name));
  OutputStream out(target, std::move(media_file));
  Sha256Hasher mp4_hash;
  uint64_t mp4_bytes = 0;
  format::FileEncryptor encryptor(
      bundle_keys, request.chunk_bytes, request.export_id, file.index,
      [&](std::span<const uint8_t> sealed) { return out.write(sealed); });
  auto put = [&](std::span<const uint8_t> bytes) -> Status {
    mp4_hash.update(bytes);
    mp4_bytes += bytes.size();
    return encryptor.write(bytes);
  };
  YW_TRY(put(header));

  // The fragments of one segment are consecutive in `file.fragments`; read each segment once.
  size_t i = 0;
  while (i < file.fragments.size()) {
    const size_t segment = file.fragments[i]->segment;
    const SegmentRow& row = source.segments[segment];
    const std::string context = "camera " + source.camera.spec.name + ", " + segment_name(row);
    auto reader = open_segment(storage, keys, row);
    if (!reader.ok()) return with_context(reader.error(), context);
    uint32_t ordinal = 0;
    while (i < file.fragments.size() && file.fragments[i]->segment == segment) {
      auto message = reader.value()->next();
      if (!message.ok()) return with_context(message.error(), context);
      if (!message.value()) {
        return make_error(ErrorKind::kDataLoss, context + ": ended early during the export");
      }
      const SegmentMessage& m = *message.value();
      read += m.payload.size();
      if (m.type != MessageType::kFragment) continue;
      if (ordinal++ != file.fragments[i]->ordinal) continue;
      auto parsed = parse_media_fragment(m.payload, init);
      if (!parsed.ok()) return with_context(parsed.error(), context);
      if (!same_samples(file.fragments[i]->samples, parsed.value())) {
        return make_error(ErrorKind::kDataLoss, context + ": changed while it was being exported");
      }
      for (const auto& s : parsed.value().samples) {
        YW_TRY(put(std::span(m.payload).subspan(s.offset, s.size)));
      }
      ++i;
    }
  }
  YW_TRY(encryptor.finish());
  YW_ASSIGN_OR_RETURN(result.encrypted, out.finish(file.name));
  result.mp4_bytes = mp4_bytes;
  result.mp4_sha256 = mp4_hash.finish();
  result.frames = samples.size();
  result.duration_us = static_cast<int64_t>(duration_ticks * 1'000'000 / init.timescale);
  if (result.encrypted.bytes != format::encrypted_size(mp4_bytes, request.chunk_bytes)) {
    return make_error(ErrorKind::kInternal, file.name + ": encrypted size does not add up");
  }
  return {};
}

Status read_back(hal::MediaTarget& target, const WrittenFile& file) {
  Sha256Hasher hash;
  uint64_t bytes = 0;
  YW_TRY(target.read_back(file.name, [&](std::span<const uint8_t> piece) -> Status {
    hash.update(piece);
    bytes += piece.size();
    return {};
  }));
  if (bytes != file.bytes || hash.finish() != file.sha256) {
    return make_error(ErrorKind::kDataLoss,
                      "read-back of " + file.name + " from the export medium does not match what " +
                          "was written (" + std::to_string(bytes) + " of " +
                          std::to_string(file.bytes) + " bytes; faulty or counterfeit stick?)");
  }
  return {};
}

std::string worst_time_source(const std::vector<std::string>& states) {
  bool unknown = states.empty();
  for (const auto& state : states) {
    if (state == "unsynchronised") return state;
    if (state != "synchronised") unknown = true;
  }
  return unknown ? "unknown" : "synchronised";
}

Result<BundleResult> finish_bundle(const hal::KeyStore& keys, format::Manifest m,
                                   std::span<const uint8_t> verify_page,
                                   std::vector<WrittenFile> written, hal::MediaTarget& target);

// What both writers refuse before anything is written.
Status check_header(const BundleHeader& header) {
  if (sodium_init() < 0) return make_error(ErrorKind::kInternal, "libsodium failed to initialise");
  YW_TRY(format::check_passphrase(header.passphrase));
  if (header.verify_page.empty()) {
    return make_error(ErrorKind::kFailedPrecondition, "this build has no verify.html to include");
  }
  return {};
}

// The bundle's key, once per bundle, from the passphrase and a fresh salt.
struct BundleEncryption {
  format::KdfParams kdf;
  format::BundleKeys keys;
};

Result<BundleEncryption> derive_bundle_encryption(const BundleHeader& header) {
  BundleEncryption encryption;
  randombytes_buf(encryption.kdf.salt.data(), encryption.kdf.salt.size());
  encryption.kdf.opslimit = header.kdf_opslimit;
  encryption.kdf.memlimit = header.kdf_memlimit;
  YW_ASSIGN_OR_RETURN(encryption.keys, format::derive_keys(header.passphrase, encryption.kdf));
  return encryption;
}

// The manifest's header fields, the same for every kind of bundle; the caller adds the kind, the
// case reference, the cameras and the files.
format::Manifest manifest_header(const hal::KeyStore& keys, const BundleHeader& header,
                                 const BundleEncryption& encryption) {
  format::Manifest m;
  m.export_id = format::export_id_text(header.export_id);
  m.created_utc_us = header.created_utc_us;
  m.clock_at_export = header.clock_at_export;
  m.device_id = header.device_id;
  m.device_name = header.device_name;
  const auto public_key = keys.signing_public_key();
  m.device_public_key = hex(public_key);
  m.device_fingerprint = format::key_fingerprint(public_key);
  m.legal_basis = header.legal_basis;
  m.recipient = header.recipient;
  m.requested_by = header.requested_by;
  m.approved_by = header.approved_by;
  m.from_utc_us = header.from_utc_us;
  m.to_utc_us = header.to_utc_us;
  m.chunk_bytes = header.chunk_bytes;
  m.kdf_salt = hex(encryption.kdf.salt);
  m.kdf_opslimit = encryption.kdf.opslimit;
  m.kdf_memlimit = encryption.kdf.memlimit;
  m.key_check = hex(format::key_check(encryption.keys));
  return m;
}

// A source segment as the manifest lists it, with the time source state over its range.
format::SourceSegment manifest_source(const BundleHeader& header, const SegmentRow& row) {
  format::SourceSegment s;
  s.id = row.id;
  s.start_utc_us = row.start_utc_us;
  s.end_utc_us = row.end_utc_us;
  s.sha256 = hex(row.plaintext_sha256);
  s.time_source = header.time_source ? header.time_source(row.start_utc_us, row.end_utc_us)
                                     : std::string("unknown");
  return s;
}

// Never leave something that looks like a bundle: without manifest.sig it is incomplete
// anyway, but a half-written stick confuses people. A pulled stick cannot be cleaned.
Result<BundleResult> removing_unfinished(Result<BundleResult> result, hal::MediaTarget& target) {
  if (result.ok()) return result;
  Error error = std::move(result).error();
  if (auto cleaned = target.remove_all(); !cleaned.ok()) {
    error.message += " (the unfinished files could not be removed: " + cleaned.error().message +
                     "; without manifest.sig they are not a valid bundle)";
  } else {
    error.message += " (the unfinished bundle was removed)";
  }
  return error;
}

Result<BundleResult> write_bundle_unchecked(const hal::Storage& storage, const hal::KeyStore& keys,
                                            const BundleRequest& request,
                                            hal::MediaTarget& target) {
  YW_TRY(check_header(request));
  const unsigned threads = request.threads != 0
                               ? request.threads
                               : std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  std::atomic<uint64_t> read{0};

  // Pass 1: authenticate and index every source segment, camera by camera.
  std::vector<CameraScan> scans(request.sources.size());
  YW_TRY(run_parallel(request.sources.size(), threads, [&](size_t c) {
    return scan_camera(storage, keys, request.sources[c], scans[c], read);
  }));

  // The files, in camera order then time order, and each camera's gaps.
  std::vector<OutputFile> files;
  for (size_t c = 0; c < scans.size(); ++c) {
    auto selected = select_files(scans[c], c, request.from_utc_us, request.to_utc_us);
    for (auto& file : selected) files.push_back(std::move(file));
  }
  if (files.empty()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "there is no recorded footage of these cameras in the requested range");
  }
  for (size_t i = 0; i < files.size(); ++i) {
    files[i].index = static_cast<uint32_t>(i);
    std::string number = std::to_string(i + 1);
    if (number.size() < 3) number.insert(0, 3 - number.size(), '0');
    files[i].name = number + "_" + sanitize(request.sources[files[i].camera].camera.spec.name) +
                    "_" + compact_time(file_start(files[i])) +
                    std::string(format::kEncryptedSuffix);
  }

  // The key, once per bundle.
  YW_ASSIGN_OR_RETURN(BundleEncryption encryption, derive_bundle_encryption(request));
  const format::BundleKeys& bundle_keys = encryption.keys;

  // Pass 2: the footage files.
  std::vector<FileResult> results(files.size());
  YW_TRY(run_parallel(files.size(), threads, [&](size_t i) {
    const OutputFile& file = files[i];
    return write_footage_file(storage, keys, request, bundle_keys, request.sources[file.camera],
                              scans[file.camera], file, target, results[i], read);
  }));

  // The manifest, without its support files yet (the README is rendered from it).
  format::Manifest m = manifest_header(keys, request, encryption);
  m.case_reference = request.case_reference;
  for (size_t c = 0; c < request.sources.size(); ++c) {
    const Camera& camera = request.sources[c].camera;
    format::CameraEntry entry;
    entry.name = camera.spec.name;
    entry.zone = camera.spec.zone;
    entry.location = camera.spec.location;
    std::vector<const OutputFile*> own;
    for (const auto& file : files) {
      if (file.camera != c) continue;
      entry.files.push_back(file.index);
      own.push_back(&file);
    }
    entry.gaps = find_gaps(own, request.from_utc_us, request.to_utc_us);
    m.cameras.push_back(std::move(entry));
  }
  for (size_t i = 0; i < files.size(); ++i) {
    const OutputFile& file = files[i];
    const ExportSource& source = request.sources[file.camera];
    const InitInfo& init = scans[file.camera].inits[file.init];
    format::FileEntry entry;
    entry.index = file.index;
    entry.name = file.name;
    entry.camera = source.camera.spec.name;
    entry.zone = source.camera.spec.zone;
    entry.location = source.camera.spec.location;
    entry.start_utc_us = file_start(file);
    entry.end_utc_us = file_end(file);
    entry.duration_us = results[i].duration_us;
    entry.codec = std::string(codec_name(init.codec));
    entry.width = init.width;
    entry.height = init.height;
    entry.frames = results[i].frames;
    entry.mp4_bytes = results[i].mp4_bytes;
    entry.mp4_sha256 = hex(results[i].mp4_sha256);
    entry.encrypted_bytes = results[i].encrypted.bytes;
    entry.encrypted_sha256 = hex(results[i].encrypted.sha256);
    std::vector<std::string> states;
    std::optional<size_t> last_segment;
    for (const FragmentRecord* f : file.fragments) {
      if (last_segment == f->segment) continue;
      last_segment = f->segment;
      format::SourceSegment s = manifest_source(request, source.segments[f->segment]);
      states.push_back(s.time_source);
      entry.source_segments.push_back(std::move(s));
    }
    entry.time_source = worst_time_source(states);
    m.files.push_back(std::move(entry));
  }

  std::vector<WrittenFile> written;
  for (const auto& result : results) written.push_back(result.encrypted);
  YW_ASSIGN_OR_RETURN(BundleResult result,
                      finish_bundle(keys, std::move(m), request.verify_page, written, target));
  result.source_bytes_read = read.load();
  return result;
}

// The support files, the manifest, the read-back of everything and the signature, last.
Result<BundleResult> finish_bundle(const hal::KeyStore& keys, format::Manifest m,
                                   std::span<const uint8_t> verify_page,
                                   std::vector<WrittenFile> written, hal::MediaTarget& target) {
  const std::string readme = render_bundle_readme(m);
  YW_ASSIGN_OR_RETURN(auto readme_file,
                      write_plain_file(target, format::kReadmeName, as_bytes(readme)));
  YW_ASSIGN_OR_RETURN(auto page_file,
                      write_plain_file(target, format::kVerifyPageName, verify_page));
  for (const auto* support : {&readme_file, &page_file}) {
    m.support_files.push_back({support->name, support->bytes, hex(support->sha256)});
    written.push_back(*support);
  }

  BundleResult result;
  result.manifest_bytes = format::serialize_manifest(m);
  YW_ASSIGN_OR_RETURN(auto manifest_file, write_plain_file(target, format::kManifestName,
                                                           as_bytes(result.manifest_bytes)));
  written.push_back(manifest_file);
  YW_TRY(target.sync());

  // Everything must come back from the medium as written before the bundle is declared
  // complete by its signature.
  for (const auto& file : written) YW_TRY(read_back(target, file));

  const auto signature =
      format::sign_manifest(result.manifest_bytes, keys.signing_secret_key().span());
  YW_ASSIGN_OR_RETURN(auto signature_file,
                      write_plain_file(target, kPartialSignatureName, signature));
  YW_TRY(target.rename_file(kPartialSignatureName, format::kSignatureName));
  signature_file.name = std::string(format::kSignatureName);
  YW_TRY(read_back(target, signature_file));
  YW_TRY(target.sync());

  result.manifest_sha256 = manifest_file.sha256;
  result.manifest = std::move(m);
  result.bytes_written = 0;
  for (const auto& file : written) result.bytes_written += file.bytes;
  result.bytes_written += signature_file.bytes;
  return result;
}

Result<BundleResult> write_subject_bundle_unchecked(const hal::KeyStore& keys,
                                                    const SubjectBundleRequest& request,
                                                    hal::MediaTarget& target) {
  YW_TRY(check_header(request));
  if (request.mp4.empty() || request.request_reference.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "a subject export needs footage and a request");
  }
  YW_ASSIGN_OR_RETURN(BundleEncryption encryption, derive_bundle_encryption(request));
  const format::BundleKeys& bundle_keys = encryption.keys;

  const std::string name = "001_" + sanitize(request.camera.spec.name) + "_" +
                           compact_time(request.start_utc_us) + "_redacted" +
                           std::string(format::kEncryptedSuffix);
  YW_ASSIGN_OR_RETURN(auto media_file, target.create_file(name));
  OutputStream out(target, std::move(media_file));
  format::FileEncryptor encryptor(
      bundle_keys, request.chunk_bytes, request.export_id, 0,
      [&](std::span<const uint8_t> sealed) { return out.write(sealed); });
  YW_TRY(encryptor.write(request.mp4));
  YW_TRY(encryptor.finish());
  YW_ASSIGN_OR_RETURN(WrittenFile encrypted, out.finish(name));
  Sha256Hasher mp4_hash;
  mp4_hash.update(request.mp4);

  format::Manifest m = manifest_header(keys, request, encryption);
  m.kind = format::BundleKind::kSubjectAccess;
  m.request_reference = request.request_reference;
  m.case_reference = request.request_reference;
  format::CameraEntry camera;
  camera.name = request.camera.spec.name;
  camera.zone = request.camera.spec.zone;
  camera.location = request.camera.spec.location;
  camera.files = {0};
  m.cameras.push_back(std::move(camera));
  format::FileEntry entry;
  entry.index = 0;
  entry.name = name;
  entry.camera = request.camera.spec.name;
  entry.zone = request.camera.spec.zone;
  entry.location = request.camera.spec.location;
  entry.start_utc_us = request.start_utc_us;
  entry.end_utc_us = request.end_utc_us;
  entry.duration_us = request.duration_us;
  entry.codec = "h264";
  entry.width = request.width;
  entry.height = request.height;
  entry.frames = request.frames;
  entry.mp4_bytes = request.mp4.size();
  entry.mp4_sha256 = hex(mp4_hash.finish());
  entry.encrypted_bytes = encrypted.bytes;
  entry.encrypted_sha256 = hex(encrypted.sha256);
  std::vector<std::string> states;
  for (const auto& row : request.source_segments) {
    format::SourceSegment source = manifest_source(request, row);
    states.push_back(source.time_source);
    entry.source_segments.push_back(std::move(source));
  }
  entry.time_source = worst_time_source(states);
  m.files.push_back(std::move(entry));
  return finish_bundle(keys, std::move(m), request.verify_page, {encrypted}, target);
}

}  // namespace

Result<std::vector<ExportSource>> plan_export_sources(Catalog& catalog,
                                                      const std::vector<std::string>& cameras,
                                                      int64_t from_utc_us, int64_t to_utc_us) {
  if (to_utc_us <= from_utc_us) {
    return make_error(ErrorKind::kInvalidArgument, "the range must end after it starts");
  }
  if (cameras.empty()) return make_error(ErrorKind::kInvalidArgument, "no camera given");
  std::vector<ExportSource> sources;
  for (const auto& name : cameras) {
    if (std::any_of(sources.begin(), sources.end(),
                    [&](const ExportSource& s) { return s.camera.spec.name == name; })) {
      return make_error(ErrorKind::kInvalidArgument, "camera " + name + " is named twice");
    }
    YW_ASSIGN_OR_RETURN(Camera camera, catalog.camera_by_name(name));
    YW_ASSIGN_OR_RETURN(auto rows, catalog.segments_for_camera(camera.id, from_utc_us, to_utc_us));
    ExportSource source;
    source.camera = std::move(camera);
    for (auto& row : rows) {
      if (row.state == SegmentState::kGarbage) continue;  // being deleted
      if (row.state == SegmentState::kRecording) {
        return make_error(ErrorKind::kFailedPrecondition,
                          "camera " + name + " is still recording footage in the range (since " +
                              hal::format_iso8601_utc(row.start_utc_us) +
                              "); export again once that segment is closed (within a segment "
                              "length) or end the range before that time");
      }
      source.segments.push_back(std::move(row));
    }
    sources.push_back(std::move(source));
  }
  return sources;
}

Result<BundleResult> write_bundle(const hal::Storage& storage, const hal::KeyStore& keys,
                                  const BundleRequest& request, hal::MediaTarget& target) {
  return removing_unfinished(write_bundle_unchecked(storage, keys, request, target), target);
}

Result<BundleResult> write_subject_bundle(const hal::KeyStore& keys,
                                          const SubjectBundleRequest& request,
                                          hal::MediaTarget& target) {
  return removing_unfinished(write_subject_bundle_unchecked(keys, request, target), target);
}

std::string render_bundle_readme(const format::Manifest& m) {
  auto iso = [](int64_t us) { return hal::format_iso8601_utc(us); };
  std::string out;
  const bool subject = m.kind == format::BundleKind::kSubjectAccess;
  if (subject) {
    out +=
        "YARDWATCH - INZAGE-EXPORT / SUBJECT ACCESS EXPORT (GEEN POLITIE-EXPORT / NOT A POLICE "
        "EXPORT)\n";
    out +=
        "=================================================================================="
        "=========\n\n";
    out +=
        "Beelden voor de betrokkene van een inzageverzoek (AVG art. 15). Andere personen zijn\n"
        "onherkenbaar gemaakt (vervaagd); de directeur heeft elk beeld gecontroleerd.\n"
        "Footage for the data subject of an access request (GDPR Art. 15). Other people are\n"
        "blurred; the director reviewed every frame before release.\n\n";
    out += "Verzoek / request reference:  " + m.request_reference + "\n";
  } else {
    out += "YARDWATCH - POLITIE-EXPORT / POLICE EXPORT\n";
    out += "==========================================\n\n";
  }
  out += "Export-id / export id:        " + m.export_id + "\n";
  if (!subject) out += "Zaak / case:                  " + m.case_reference + "\n";
  out +=
      std::string(subject ? "Grondslag / legal basis:      " : "Vordering / legal basis:      ") +
      m.legal_basis + "\n";
  out += "Ontvanger / recipient:        " + m.recipient + "\n";
  out += "Goedgekeurd door / approved:  " + m.approved_by.name + " (" + m.approved_by.role + ")\n";
  out += "Gemaakt / created (UTC):      " + iso(m.created_utc_us) + "\n";
  out += "Periode / range (UTC):        " + iso(m.from_utc_us) + " - " + iso(m.to_utc_us) + "\n";
  out += "Apparaat / device:            " + m.device_name + " (" + m.device_id + ")\n\n";
  out += "VINGERAFDRUK VAN DE APPARAATSLEUTEL / DEVICE KEY FINGERPRINT\n";
  out += "    " + m.device_fingerprint + "\n\n";
  out +=
      "Vergelijk deze vingerafdruk met het papieren overdrachtsformulier. Alleen als ze gelijk\n"
      "zijn, is de handtekening van dit apparaat.\n"
      "Compare this fingerprint with the paper handover form. Only if they match is the\n"
      "signature this device's.\n\n";

  out += "NEDERLANDS\n----------\n";
  out += subject
             ? "Deze map is een versleutelde inzage-export van camerabeelden, gemaakt door een\n"
               "Yardwatch-recorder op een inzageverzoek. Andere personen zijn vervaagd; de\n"
               "beelden zijn daarvoor opnieuw gecodeerd (H.264 MP4) en versleuteld met een\n"
               "wachtwoordzin die apart is overhandigd.\n\n"
             : "Deze map is een versleutelde bewijsbundel van camerabeelden, gemaakt door een "
               "Yardwatch-\n"
               "recorder op een officiele vordering. De beelden zijn standaard MP4-bestanden "
               "(niet\n"
               "opnieuw gecodeerd), versleuteld met een wachtwoordzin die apart is "
               "overhandigd. Zonder\n"
               "die wachtwoordzin zijn de beelden onleesbaar.\n\n";
  out +=
      "Controleren en bekijken:\n"
      "  1. Open verify.html in een actuele browser (Chrome, Edge, Firefox, Safari). De pagina\n"
      "     werkt zonder netwerk. Kies de bestanden van deze map, vul de wachtwoordzin in.\n"
      "     De pagina controleert de handtekening en elke SHA-256, ontsleutelt en speelt af.\n"
      "  2. Of met het referentieprogramma:\n"
      "       yardwatch-verify DEZE_MAP --expect-fingerprint \"VINGERAFDRUK\" \\\n"
      "         --passphrase-file WACHTWOORD.txt --extract UITVOERMAP\n"
      "  3. Zonder wachtwoordzin kan iedereen de versleutelde bestanden controleren met\n"
      "     sha256sum tegen manifest.json (encrypted_sha256).\n"
      "  Het formaat staat byte voor byte beschreven in recorder/design/bundle.md van "
      "Yardwatch.\n\n";

  out += "ENGLISH\n-------\n";
  out += subject
             ? "This folder is an encrypted subject access export of camera footage, made by a\n"
               "Yardwatch recorder on an access request. Other people are blurred; for that the\n"
               "footage was re-encoded (H.264 MP4) and encrypted with a passphrase that was\n"
               "handed over separately.\n\n"
             : "This folder is an encrypted evidence bundle of camera footage, made by a "
               "Yardwatch\n"
               "recorder on an official demand. The footage is standard MP4 (remuxed, never\n"
               "transcoded), encrypted with a passphrase that was handed over separately. "
               "Without it the\n"
               "footage cannot be read.\n\n";
  out +=
      "To verify and view:\n"
      "  1. Open verify.html in a current browser (Chrome, Edge, Firefox, Safari). It works\n"
      "     offline. Select this folder's files and enter the passphrase. The page checks the\n"
      "     signature and every SHA-256, decrypts and plays the footage.\n"
      "  2. Or with the reference verifier:\n"
      "       yardwatch-verify THIS_FOLDER --expect-fingerprint \"FINGERPRINT\" \\\n"
      "         --passphrase-file PASSPHRASE.txt --extract OUTPUT_DIR\n"
      "  3. Without the passphrase anyone can check the encrypted files with sha256sum against\n"
      "     manifest.json (encrypted_sha256).\n"
      "  The format is specified byte by byte in Yardwatch's recorder/design/bundle.md.\n\n";

  out += "BESTANDEN / FILES\n-----------------\n";
  for (const auto& file : m.files) {
    out += file.name + "\n";
    out += "    camera " + file.camera + (file.location.empty() ? "" : " (" + file.location + ")") +
           ", " + iso(file.start_utc_us) + " - " + iso(file.end_utc_us) + ", " + file.codec + " " +
           std::to_string(file.width) + "x" + std::to_string(file.height) + "\n";
    out += "    SHA-256 MP4 (na ontsleutelen / decrypted): " + file.mp4_sha256 + "\n";
    out += "    SHA-256 versleuteld / encrypted:           " + file.encrypted_sha256 + "\n";
  }
  bool any_gap = false;
  for (const auto& camera : m.cameras) {
    for (const auto& gap : camera.gaps) {
      if (!any_gap) out += "\nONTBREKENDE BEELDEN / GAPS IN THE FOOTAGE\n";
      any_gap = true;
      out += "    " + camera.name + ": " + iso(gap.from_utc_us) + " - " + iso(gap.to_utc_us) + "\n";
    }
  }
  out +=
      "\nmanifest.json beschrijft alles; manifest.sig is de Ed25519-handtekening erover.\n"
      "manifest.json describes everything; manifest.sig is the Ed25519 signature over it.\n"
      "Een bundel zonder manifest.sig is onvolledig. / A bundle without manifest.sig is "
      "incomplete.\n";
  return out;
}

}  // namespace yardwatch::recorder
