#pragma once

// Viewings: the web admin's door to footage (R4, R6). A person opens a viewing of one camera
// with a purpose — recorded footage of a time range, or the live picture — and the opening is
// audited with that purpose before anything is shown. Every recorded segment read through the
// viewing goes through FootageService::view_segment (role, camera, purpose, audit); live
// fragments come from the recorder's in-memory fan-out and are never read from disk.
//
// Viewings live in memory only: they end with the daemon, after kViewingIdleUs without use, or
// when closed. Only the person who opened a viewing can use it.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/firmware/footage.h"
#include "yardwatch/firmware/four_eyes.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/catalog.h"
#include "yardwatch/recorder/live.h"
#include "yardwatch/recorder/playback.h"

namespace yardwatch::firmware {

constexpr int64_t kViewingIdleUs = 15 * 60'000'000LL;
constexpr size_t kMaxOpenViewings = 256;
constexpr int64_t kMaxTimelineRangeUs = 8LL * 24 * 3600'000'000LL;  // a week and a day
constexpr int64_t kMaxViewingRangeUs = 24LL * 3600'000'000LL;

enum class ViewingKind { kRecorded, kLive };

struct TimelineSegment {
  int64_t id = 0;
  int64_t start_utc_us = 0;
  int64_t end_utc_us = 0;
  bool recording = false;  // still being written: not playable yet
};

struct TimelineGap {
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;
};

struct Timeline {
  recorder::Camera camera;
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;
  std::vector<TimelineSegment> segments;
  // Stretches of [from, min(to, now)) with no footage, longer than kGapToleranceUs.
  std::vector<TimelineGap> gaps;
};
constexpr int64_t kGapToleranceUs = 2'000'000;

struct Viewing {
  std::string id;  // 128 random bits, hex
  int64_t account_id = 0;
  ViewingKind kind = ViewingKind::kRecorded;
  int64_t camera_id = 0;
  std::string camera_name;
  int64_t from_utc_us = 0;  // recorded: the range asked for
  int64_t to_utc_us = 0;
  std::string purpose;
  int64_t opened_utc_us = 0;
  std::vector<TimelineSegment> segments;  // recorded: the complete segments in the range
  int64_t last_used_monotonic_us = 0;
  // The second person who approved opening it (four-eyes), used for every segment read.
  std::optional<FourEyesApproval> approval;
};

class ViewingService {
 public:
  ViewingService(recorder::Catalog& catalog, const hal::Clock& clock, AuditJournal& audit,
                 FootageService& footage);

  // The live fan-out of the recorder in this process (yardwatchd); without it live viewings
  // are refused with kUnavailable.
  void attach_live(recorder::LiveHub* hub) { live_ = hub; }

  // Segments and gaps of one camera in [from, to): needs the right to see recorded footage of
  // that camera (viewers: assigned cameras); a denial is audited.
  Result<Timeline> timeline(const Principal& principal, int64_t camera_id, int64_t from_utc_us,
                            int64_t to_utc_us);

  // Opens a viewing (audited "viewing_open" with purpose and range). Recorded: the range must be
  // at most kMaxViewingRangeUs long, and with the four-eyes policy on `approval` must name a
  // second authorised person for the camera (four_eyes.h); the viewing keeps it for its segment
  // reads. Live: needs kLiveView (admins: setup preview).
  Result<Viewing> open_recorded(const Principal& principal, int64_t camera_id, int64_t from_utc_us,
                                int64_t to_utc_us, const std::string& purpose,
                                const FourEyesApproval* approval = nullptr);
  Result<Viewing> open_live(const Principal& principal, int64_t camera_id,
                            const std::string& purpose);

  // The caller's own open viewing; anyone else's (or an unknown id) is kNotFound, and a
  // viewing owned by another person is also audited as a denial.
  Result<Viewing> get(const Principal& principal, const std::string& viewing_id);
  Status close(const Principal& principal, const std::string& viewing_id);

  // One recorded segment of the viewing, decrypted in memory. The segment must belong to the
  // viewing's camera and range: a segment of another camera is refused by the footage
  // service's role check (audited), and one outside the viewing is refused and audited too.
  Result<recorder::DecryptedSegment> read_segment(const Principal& principal,
                                                  const std::string& viewing_id,
                                                  int64_t segment_id);

  // Live: the init section, and the next fragment after `after` (0: the newest), waiting up to
  // `wait` for one (nullopt: none yet).
  Result<recorder::LiveInit> live_init(const Principal& principal, const std::string& viewing_id);
  Result<std::optional<recorder::LiveFragment>> live_next(const Principal& principal,
                                                          const std::string& viewing_id,
                                                          uint64_t after,
                                                          std::chrono::milliseconds wait);

  // A recent picture of a camera for the admin's dashboard: the setup preview of DESIGN §6
  // (kManageCameras, i.e. admins). The live feed's init section and its newest fragment, as one
  // small fragmented MP4; waits up to `wait` for the feed to start. Every preview is audited
  // ("camera_preview"). Nothing is read from disk.
  Result<std::vector<uint8_t>> preview(const Principal& principal, int64_t camera_id,
                                       std::chrono::milliseconds wait);

  [[nodiscard]] size_t open_count();

 private:
  Result<Viewing> open(const Principal& principal, Viewing viewing, Permission permission,
                       const FourEyesApproval* approval);
  Result<Viewing> touch(const Principal& principal, const std::string& viewing_id);
  void expire_locked(int64_t monotonic_now_us);

  recorder::Catalog& catalog_;
  const hal::Clock& clock_;
  AuditJournal& audit_;
  FootageService& footage_;
  recorder::LiveHub* live_ = nullptr;
  std::mutex mutex_;
  std::map<std::string, Viewing> viewings_;
};

std::string_view viewing_kind_name(ViewingKind kind);

}  // namespace yardwatch::firmware
