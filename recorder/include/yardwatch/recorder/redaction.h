#pragma once

// Redaction for subject access exports (R7, R11; recorder/design/redaction.md): stored footage →
// decoded frames → every detected face, person and moving region blurred except the region a
// person selected (a box drawn on a frame, tracked from frame to frame) → H.264 → one progressive
// MP4 in memory. Media only: who asked, who may see it and where it goes are the firmware's.
//
// GStreamer decodes (appsrc → h264parse/h265parse → avdec_h264/avdec_h265 → videoconvert) and
// encodes (appsrc → videoconvert → x264enc → h264parse), OpenCV detects (Haar cascades from
// Debian's opencv-data, the HOG people detector, a MOG2 background model for motion) and tracks
// (TrackerMIL). Nothing is downloaded at run time; nothing is written to disk: the input arrives
// decrypted in memory, the output is returned in memory. Detections live for one frame (person
// boxes a few frames) inside this module and are never stored, returned or logged (R11): there is
// no recognition and no identification, only "blur here".

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/fmp4.h"

namespace yardwatch::recorder {

// Where Debian's opencv-data puts the Haar cascades.
constexpr std::string_view kDefaultCascadeDir = "/usr/share/opencv4/haarcascades";

// A rectangle in fractions of the picture (0 … 1 from the top left), as a person draws it on a
// still, whatever its pixel size.
struct FrameBox {
  double x = 0;
  double y = 0;
  double width = 0;
  double height = 0;
};

// "This is the requester": the box drawn on the frame shown at `utc_us` (the first frame at or
// after it). Tracking starts there and runs forward until the requester is lost or the next
// selection re-anchors it. Before the first selection nobody is kept.
struct RequesterSelection {
  int64_t utc_us = 0;
  FrameBox box;
};

struct RedactionOptions {
  std::vector<RequesterSelection> selections;  // ordered by time; may be empty
  // Blur the whole picture except the requester's box (instead of only what is detected).
  bool blur_outside_selection = false;
  std::filesystem::path cascade_dir = std::string(kDefaultCascadeDir);
  // x264's constant quality (CRF-like quantizer, 0–51); 23 looks like the source at a fraction
  // of its bitrate.
  int quantizer = 23;
  // The MP4's ©nam and ©cmt (ffprobe: title, comment), e.g. camera and request reference.
  std::string title;
  std::string comment;
  // Called after each output frame with the number done; return false to cancel
  // (kFailedPrecondition "cancelled").
  std::function<bool(uint64_t frames_done)> progress;
};

// One stored segment, decrypted in memory: its init section followed by its fragments (what
// recorder/playback.h and the firmware's footage door give), and the wall-clock time of its
// first sample.
struct RedactionSegment {
  std::span<const uint8_t> mp4;
  int64_t start_utc_us = 0;
};

// What one redaction run produced. The MP4 is plaintext footage: keep it in memory only.
struct RedactedClip {
  std::vector<uint8_t> mp4;  // progressive MP4 (ftyp, moov, mdat), H.264, like a police export's
  int64_t start_utc_us = 0;  // wall-clock time of the first frame
  int64_t end_utc_us = 0;    // … of the end of the last
  uint32_t width = 0;
  uint32_t height = 0;
  uint64_t frames = 0;
  int64_t duration_us = 0;
  // Counts for the reviewer, not detection results: frames in which the requester's box was
  // tracked, and frames after a selection in which the tracker lost it (blurred as if nobody
  // were selected: nothing of the requester's region is kept unless tracked).
  uint64_t frames_with_requester = 0;
  uint64_t frames_requester_lost = 0;
};

// Redacts the frames of [from, to) of consecutive segments of one camera (one continuous run:
// the caller splits at gaps). Decoding starts at the first segment's first keyframe; frames
// before `from` are decoded for the detectors' and tracker's sake but not output. kDataLoss for
// footage that does not parse or decode, kInvalidArgument for no frame in the range or a box
// outside the picture, kFailedPrecondition when cancelled, kUnavailable when a GStreamer element
// or a cascade file is missing.
Result<RedactedClip> redact(std::span<const RedactionSegment> segments, int64_t from_utc_us,
                            int64_t to_utc_us, const RedactionOptions& options);

// One unredacted frame of a segment as JPEG, for a director to draw the requester's box on: the
// first frame at or after `at_utc_us` (or the last one). The caller is the door to footage and
// audits the viewing.
struct StillFrame {
  std::vector<uint8_t> jpeg;
  int64_t utc_us = 0;
  uint32_t width = 0;
  uint32_t height = 0;
};
Result<StillFrame> still_frame(const RedactionSegment& segment, int64_t at_utc_us);

}  // namespace yardwatch::recorder
