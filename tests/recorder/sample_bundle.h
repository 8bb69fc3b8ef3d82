#pragma once

// A small but real police bundle for verifier tests: two cameras (H.264 and H.265), the second
// with a gap, written by the real bundle writer from real encrypted segments. Cheap Argon2id and
// small chunks so that every file has several messages.

#include <sodium.h>

#include <filesystem>
#include <span>
#include <string>

#include "recorded_footage.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/export_bundle.h"

namespace yardwatch::recorder::test {

inline const std::string kSamplePassphrase = "correct horse battery staple";

struct SampleBundle {
  std::filesystem::path dir;
  std::string fingerprint;
  BundleResult result;
};

// Writes the footage store under `work / "store"` and the bundle at `bundle_dir`.
inline SampleBundle write_sample_bundle(const std::filesystem::path& work,
                                        const std::filesystem::path& bundle_dir,
                                        std::span<const uint8_t> verify_page,
                                        int frames_per_camera = 100) {
  constexpr int64_t kSecond = 1'000'000;
  const int64_t t0 = hal::parse_iso8601_utc_us("2026-11-25T10:00:00Z").value();
  FootageStore store(work / "store");
  const EncodedStream h264 = encode_stream(VideoCodec::kH264, frames_per_camera, 25, 160, 120);
  const EncodedStream h265 = encode_stream(VideoCodec::kH265, frames_per_camera, 25, 160, 120);
  const Camera yard = store.add_camera("schoolplein", "hoek bij de gymzaal");
  const Camera gate = store.add_camera("poort", "hoofdingang");
  const int half = frames_per_camera / 2;
  store.write_segment(yard, h264, 0, static_cast<size_t>(half), t0);
  store.write_segment(yard, h264, static_cast<size_t>(half), static_cast<size_t>(frames_per_camera),
                      t0 + half * kSecond / 25);
  store.write_segment(gate, h265, 0, static_cast<size_t>(half), t0);
  store.write_segment(gate, h265, static_cast<size_t>(half), static_cast<size_t>(frames_per_camera),
                      t0 + half * kSecond / 25 + 3 * kSecond);
  const int64_t to = t0 + frames_per_camera * kSecond / 25 + 3 * kSecond;
  auto sources = plan_export_sources(store.catalog(), {"schoolplein", "poort"}, t0, to);
  REQUIRE(sources.ok());
  BundleRequest request;
  randombytes_buf(request.export_id.data(), request.export_id.size());
  request.created_utc_us = t0 + 3600 * kSecond;
  request.clock_at_export = "synchronised";
  request.device_id = "0123456789abcdef0123456789abcdef";
  request.device_name = "OBS De Regenboog";
  request.case_reference = "PL0900-2026123456";
  request.legal_basis = "vordering art. 126nd Sv, nr. 2026/4411";
  request.recipient = "Politie Eenheid Amsterdam, brigadier J. de Vries";
  request.requested_by = {"Politie Eenheid Amsterdam, brigadier J. de Vries",
                          "investigating authority"};
  request.approved_by = {"directeur", "director"};
  request.from_utc_us = t0;
  request.to_utc_us = to;
  request.sources = std::move(sources).value();
  request.passphrase = kSamplePassphrase;
  request.kdf_opslimit = 1;
  request.kdf_memlimit = bundle_format::kMinMemLimit;
  request.chunk_bytes = bundle_format::kMinChunkBytes;
  request.verify_page = verify_page;
  request.time_source = [](int64_t, int64_t) { return std::string("synchronised"); };
  auto target = hal::open_directory_target(bundle_dir);
  REQUIRE(target.ok());
  auto result = write_bundle(store.storage(), store.keys(), request, *target.value());
  INFO((result.ok() ? "" : result.error().message));
  REQUIRE(result.ok());
  return {bundle_dir, result.value().manifest.device_fingerprint, std::move(result).value()};
}

}  // namespace yardwatch::recorder::test
