#pragma once

// The kwaliteitskaart (R9; firmware/design/privacy_desk.md): the school's quality card for its
// camera surveillance, generated from the live database every time, never written by hand. It
// states the appliance, every camera with its zone, location, purpose and placement (and a
// still image only if a director attached one), the retention per camera, the holds in force,
// the roles and who holds them, what is logged and for how long, the export history (counts by
// legal basis) and the date of the last DPIA. As HTML (Dutch, or English) and as PDF.
//
// Directors and privacy officers generate it (kReadComplianceReports), and so does the console
// (`yardwatch report kwaliteitskaart`); every generation is audited. Directors describe each
// camera's purpose and placement and may attach a still (kManageComplianceRecords, audited).

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

constexpr size_t kMaxStillBytes = size_t{2} << 20;  // a PNG of at most 2 MiB
constexpr int kMaxStillSide = 4096;
constexpr size_t kMaxDescriptionLength = 500;

struct CameraDescription {
  int64_t camera_id = 0;
  std::string purpose;    // why this camera films (e.g. "vandalism at the bicycle shed at night")
  std::string placement;  // where and how it is mounted, what it sees
  std::vector<uint8_t> still_png;
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
  int64_t since_utc_us = 0;        // when it was added
  std::vector<uint8_t> still_png;  // empty: no still attached
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
  std::string role;
  std::vector<std::string> cameras;  // viewers: their assigned cameras
};

struct Kwaliteitskaart {
  int64_t generated_utc_us = 0;
  std::string device_name;
  std::string device_id;
  std::string firmware_version;
  std::string device_fingerprint;  // of the device's signing key
  bool four_eyes = false;
  bool require_totp = true;
  std::vector<KwaliteitskaartCamera> cameras;  // in name order
  std::vector<KwaliteitskaartHold> holds;      // in force (active and pending), oldest first
  std::vector<KwaliteitskaartRoleHolder> role_holders;  // enabled accounts, by role then name
  int audit_retention_days = 0;
  int max_retention_days = 0;
  int access_review_retention_months = 0;
  int64_t exports_total = 0;
  int64_t exports_complete = 0;
  std::map<std::string, int64_t> exports_by_legal_basis;  // complete police exports
  std::map<int, int64_t> exports_by_year;                 // complete police exports
  DpiaStatus dpia;
};

// "nl" (default) or "en"; anything else is refused by the generators' callers.
bool kwaliteitskaart_language(std::string_view language);

// Reads everything from the live database. No check, no audit: for the service below.
Result<Kwaliteitskaart> build_kwaliteitskaart(recorder::Catalog& catalog, const hal::Clock& clock,
                                              const hal::KeyStore& keys);

// A complete HTML page (inline style, no script). Every value the configuration holds is marked
// with data-field (and data-value where the text is a translation), so it can be checked
// against the configuration.
std::string kwaliteitskaart_html(const Kwaliteitskaart& card, std::string_view language);
// The same content for the PDF renderer (document.h).
Document kwaliteitskaart_document(const Kwaliteitskaart& card, std::string_view language);

class KwaliteitskaartService {
 public:
  KwaliteitskaartService(recorder::Catalog& catalog, const hal::Clock& clock,
                         const hal::KeyStore& keys, AuditJournal& audit);

  // kReadComplianceReports (directors, privacy officers); `person` nullptr: the console.
  // Audited `report_kwaliteitskaart` with the format and language asked for.
  Result<Kwaliteitskaart> generate(const Principal* person, const std::string& format,
                                   const std::string& language);

  Result<std::vector<CameraDescription>> descriptions();
  // Directors (kManageComplianceRecords). Each audited (`camera_describe`,
  // `camera_still_attach`, `camera_still_remove`). A still must be a PNG cairo can draw, at
  // most 2 MiB and 4096 pixels a side.
  Status describe_camera(const Principal& by, const std::string& camera,
                         const std::optional<std::string>& purpose,
                         const std::optional<std::string>& placement);
  Status attach_still(const Principal& by, const std::string& camera,
                      const std::vector<uint8_t>& png);
  Status remove_still(const Principal& by, const std::string& camera);

 private:
  Result<recorder::Camera> camera_for_change(const Principal& by, const std::string& camera,
                                             AuditEvent& event);

  recorder::Catalog& catalog_;
  const hal::Clock& clock_;
  const hal::KeyStore& keys_;
  AuditJournal& audit_;
};

}  // namespace yardwatch::firmware
