#pragma once

// The kwaliteitskaart (R9; firmware/design/kwaliteitskaart.md): the school's quality card for its
// camera surveillance, generated from the live database every time it is asked for, never
// written by hand and never stored. It states the appliance (name, board, firmware version,
// where it stands), every camera with its zone, location, purpose and placement (and a still
// image only if a director attached one), the retention per camera, the holds in force, the
// roles and who holds them, what is logged and for how long, the export history (counts by
// legal basis) and the date of the last DPIA with the date the next one is due. As HTML (Dutch,
// or English) and as PDF (document.h).
//
// Directors and privacy officers download it (kReadComplianceReports), and so does the console
// (`yardwatch report kwaliteitskaart` without --user); every download is audited
// (`report_kwaliteitskaart`). Directors describe each camera's purpose and placement and may
// attach a still (kManageComplianceRecords, audited).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/firmware/document.h"
#include "yardwatch/firmware/dpia.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/key_store.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

constexpr size_t kMaxStillBytes = size_t{1} << 20;  // a JPEG of at most 1 MiB
constexpr int kMaxStillSide = 4096;
constexpr size_t kMaxDescriptionLength = 500;
constexpr const char* kDeviceLocationSetting = "device.location";

// "nl" (default) or "en".
bool report_language(std::string_view language);
// "html" or "pdf".
bool report_format(std::string_view format);

struct CameraDescription {
  int64_t camera_id = 0;
  std::string purpose;    // why this camera films (e.g. "vandalism at the bicycle shed at night")
  std::string placement;  // where and how it is mounted, what it sees
  std::vector<uint8_t> still_jpeg;
  int still_width = 0;
  int still_height = 0;
  std::string updated_by;
  int64_t updated_utc_us = 0;
};

struct KwaliteitskaartCamera {
  std::string name;
  std::string zone;
  std::string location;
  std::string purpose;
  std::string placement;
  int retention_days = 0;
  int64_t since_utc_us = 0;         // when it was added
  std::vector<uint8_t> still_jpeg;  // empty: no still attached
};

struct KwaliteitskaartHold {
  int64_t id = 0;
  std::string state;  // active | pending
  std::vector<std::string> cameras;
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;
  int64_t review_by_utc_us = 0;
  int64_t placed_utc_us = 0;
};

struct KwaliteitskaartRoleHolder {
  std::string name;
  std::string role;                  // role_name()
  std::vector<std::string> cameras;  // viewers: their assigned cameras
};

struct LoggedRecord {
  std::string key;        // "audit", "footage", "requests", "breaches", "exports", "clock"
  std::string retention;  // a machine-readable term: "730d", "28d", "per_camera", "forever", …
};

struct Kwaliteitskaart {
  int64_t generated_utc_us = 0;
  std::string device_name;
  std::string device_id;
  std::string device_location;  // setting device.location; empty: not recorded
  std::string board;
  std::string firmware_version;
  bool four_eyes = false;
  bool require_totp = true;
  std::vector<KwaliteitskaartCamera> cameras;           // in name order
  std::vector<KwaliteitskaartHold> holds;               // in force (active, pending), oldest first
  std::vector<KwaliteitskaartRoleHolder> role_holders;  // enabled accounts, by role then name
  int audit_retention_days = 0;
  int max_retention_days = 0;
  std::vector<LoggedRecord> logged;
  int64_t police_exports = 0;                             // complete police exports
  int64_t subject_exports = 0;                            // complete subject exports (R7)
  std::map<std::string, int64_t> exports_by_legal_basis;  // complete police exports
  DpiaStatus dpia;
};

// Reads everything from the live database. No check, no audit: for the service below.
Result<Kwaliteitskaart> build_kwaliteitskaart(recorder::Catalog& catalog, const hal::Clock& clock,
                                              const std::string& board);

// A complete HTML page (inline style, no script). Every value the configuration holds is marked
// with data-field (and data-value where the text shown is a translation), one section per camera
// (data-camera), one row per hold (data-hold), role holder (data-account) and legal basis
// (data-legal-basis), so that a test can check it against the configuration field by field.
std::string kwaliteitskaart_html(const Kwaliteitskaart& card, std::string_view language);
// The same content for the PDF renderer (document.h); stills are converted to PNG for cairo.
Document kwaliteitskaart_document(const Kwaliteitskaart& card, std::string_view language);

// A JPEG's size, if OpenCV can decode it and it is at most kMaxStillSide a side; the PNG of it.
std::optional<std::pair<int, int>> decodable_jpeg(const std::vector<uint8_t>& jpeg);
std::vector<uint8_t> jpeg_to_png(const std::vector<uint8_t>& jpeg);

struct RenderedReport {
  std::string content_type;  // text/html; charset=utf-8 | application/pdf
  std::string filename;      // kwaliteitskaart-2026-12-01.pdf
  std::string body;
};

class KwaliteitskaartService {
 public:
  KwaliteitskaartService(recorder::Catalog& catalog, const hal::Clock& clock, AuditJournal& audit);

  // The board the appliance runs on, as the adapters resolved it (the catalog does not know).
  void set_board(std::string board) { board_ = std::move(board); }

  // kReadComplianceReports (directors, privacy officers); `person` nullptr: the console.
  // Audited `report_kwaliteitskaart` with the format and language asked for; denials too.
  Result<RenderedReport> download(const Principal* person, const std::string& format,
                                  const std::string& language);
  // The card itself (unaudited: for the tests and the adapters' JSON).
  Result<Kwaliteitskaart> card();

  Result<std::vector<CameraDescription>> descriptions();
  // Directors (kManageComplianceRecords); `by` nullptr is not allowed here: describing the
  // cameras is a person's act. Each audited (`camera_describe`, `camera_still_attach`,
  // `camera_still_remove`). A still must be a JPEG OpenCV can decode, at most 1 MiB and 4096
  // pixels a side.
  Status describe_camera(const Principal& by, const std::string& camera,
                         const std::optional<std::string>& purpose,
                         const std::optional<std::string>& placement);
  Status attach_still(const Principal& by, const std::string& camera,
                      const std::vector<uint8_t>& jpeg);
  Status remove_still(const Principal& by, const std::string& camera);

 private:
  Result<recorder::Camera> camera_for_change(const Principal& by, const std::string& camera,
                                             AuditEvent& event);

  recorder::Catalog& catalog_;
  const hal::Clock& clock_;
  AuditJournal& audit_;
  std::string board_ = "unknown";
};

}  // namespace yardwatch::firmware
