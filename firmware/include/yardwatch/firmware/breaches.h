#pragma once

// The breach register (R8; firmware/design/privacy_desk.md). Every security incident gets an
// entry: detection time, description, whether personal data was affected, whether it was
// encrypted and inaccessible, the 72-hour deadline for reporting to the Autoriteit
// Persoonsgegevens, and the decision (report / not report) with its reasoning and who decided.
//
// The appliance registers its own incidents: the alarm kinds in the `breach_alarm_kinds` table
// (lock-outs, sign-in bursts, a journal that does not verify, a failed export write, the clock
// guard, the data volume removed or swapped, a factory reset) create an entry through a trigger
// on the `alarms` table, in the same statement as the alarm, whoever raises it. It states
// plainly what it knows about its own data (footage is always encrypted at rest; the database
// is not). Directors register other incidents by hand and decide on every entry; privacy
// officers read the register. Registering, deciding and reading are audited.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

// The term of the GDPR (art. 33) for reporting a breach to the supervisory authority.
constexpr int64_t kBreachReportTermUs = 72LL * 3600 * 1'000'000;
constexpr size_t kMinBreachTextLength = 10;
constexpr size_t kMaxBreachTextLength = 2000;

// Failed sign-ins (all accounts and addresses together) within kLoginBurstWindowUs that raise
// the `login_burst` alarm: password spraying stays under every per-account lock-out.
constexpr int kLoginBurstFailures = 20;
constexpr int64_t kLoginBurstWindowUs = 10LL * 60 * 1'000'000;

struct Breach {
  int64_t id = 0;
  std::string source;  // "alarm" (registered by the appliance) or "manual"
  std::string kind;    // the alarm kind, or "manual"
  std::optional<int64_t> alarm_id;
  std::optional<int64_t> camera_id;
  int64_t detected_utc_us = 0;
  std::string description;
  std::string personal_data;           // yes | no | unknown
  std::string encrypted_inaccessible;  // yes | partly | no | not_applicable | unknown
  std::string assessment;              // what the appliance (or the director) states about it
  int64_t deadline_utc_us = 0;         // detected + 72 h
  int64_t registered_utc_us = 0;
  std::string registered_by;
  std::optional<std::string> decision;  // report | not_report; nullopt: not decided yet
  std::string reasoning;
  std::string report_reference;
  std::string decided_by;
  std::optional<int64_t> decided_utc_us;
  // At the service clock's now: undecided and past the deadline, and the time left (negative
  // once past).
  bool overdue = false;
  int64_t remaining_us = 0;
};

struct ManualBreach {
  int64_t detected_utc_us = 0;  // not in the future
  std::string description;      // 10–2000 characters
  std::string personal_data = "unknown";
  std::string encrypted_inaccessible = "unknown";
  std::string assessment;  // optional: what is known about encryption and access
};

struct BreachDecision {
  std::string decision;   // "report" or "not_report"
  std::string reasoning;  // 10–2000 characters: why (e.g. "encrypted and inaccessible")
  // Revises the entry's answer when the director knows better than the first registration.
  std::optional<std::string> personal_data;
  std::string report_reference;  // the DPA's reference once reported (optional)
};

// One alarm kind that is a security incident (the `breach_alarm_kinds` table).
struct BreachAlarmKind {
  std::string kind;
  std::string title;
  std::string personal_data;
  std::string encrypted_inaccessible;
  std::string assessment;
  bool clears_on_decision = false;
};

class BreachService {
 public:
  BreachService(recorder::Catalog& catalog, const hal::Clock& clock, AuditJournal& audit);

  // A director registers an incident the appliance did not see (kManageBreaches). Audited
  // `breach_register`.
  Result<Breach> register_manual(const Principal& by, const ManualBreach& breach);
  // A director decides (kManageBreaches): report or not, with the reasoning. A decision may be
  // revised; the journal keeps every version (`breach_decide`). Deciding on an automatic entry
  // of an event alarm (a lock-out, a burst, a failed export) closes that alarm, so the next
  // such event is a new incident.
  Result<Breach> decide(const Principal& by, int64_t id, const BreachDecision& decision);
  // The register, newest first (kReadBreaches: directors and privacy officers). Audited
  // `breach_register_read`. `person` nullptr: the console of the appliance (audited as such).
  Result<std::vector<Breach>> list(const Principal* person);
  Result<Breach> get(const Principal* person, int64_t id);

  // --- for the appliance itself; no person involved ---
  // Entries nobody decided on yet, oldest first (the dashboard; not audited: the route shows it
  // only to those who may read the register).
  Result<std::vector<Breach>> undecided();
  // Writes a `breach_registered` entry by `system` for each automatic entry not yet in the
  // journal (yardwatchd, every minute; the trigger that made the entry cannot sign a chain).
  // Returns how many it wrote.
  Result<int> audit_new_entries();
  Result<std::vector<BreachAlarmKind>> alarm_kinds();

 private:
  Result<std::vector<Breach>> query(std::optional<int64_t> id, bool undecided_only);
  Status authorize_reading(const Principal* person, const std::string& object_id);

  recorder::Catalog& catalog_;
  const hal::Clock& clock_;
  AuditJournal& audit_;
};

// Counts failed sign-ins in the last kLoginBurstWindowUs and raises `login_burst` at
// kLoginBurstFailures (AccountService calls it after every failure).
Status check_login_burst(recorder::Catalog& catalog, int64_t now_utc_us);

// Valid answers: "yes", "no", "unknown" / "yes", "partly", "no", "not_applicable", "unknown".
bool valid_personal_data_answer(const std::string& answer);
bool valid_encryption_answer(const std::string& answer);

}  // namespace yardwatch::firmware
