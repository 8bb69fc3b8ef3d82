#include "yardwatch/firmware/schema.h"

#include <array>

namespace yardwatch::firmware {

namespace {

constexpr std::array<recorder::Migration, 6> kFirmwareMigrations = {{
    // 1 → 2: accounts, roles, sessions, throttling, setup codes, settings, audit journal.
    {2, R"sql(
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'director', 'viewer', 'privacy_officer')),
  password_hash TEXT NOT NULL,                  -- crypto_pwhash_str: Argon2id, self-describing
  must_change_password INTEGER NOT NULL DEFAULT 1,
  disabled INTEGER NOT NULL DEFAULT 0,
  totp_secret BLOB,                             -- wrapped by the device master key
  totp_last_step INTEGER NOT NULL DEFAULT 0,    -- replay protection
  language TEXT NOT NULL DEFAULT 'nl',
  created_utc_us INTEGER NOT NULL,
  password_changed_utc_us INTEGER NOT NULL,
  last_login_utc_us INTEGER
);
CREATE TABLE account_cameras (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  camera_id INTEGER NOT NULL REFERENCES cameras(id),
  PRIMARY KEY (account_id, camera_id)
);
CREATE TABLE setup_codes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  code_hash TEXT NOT NULL,
  created_utc_us INTEGER NOT NULL,
  expires_utc_us INTEGER NOT NULL,
  used_utc_us INTEGER
);
-- Failed sign-ins per account name and per client address; survives restarts.
CREATE TABLE login_throttle (
  subject TEXT PRIMARY KEY,                     -- 'account:<name>' or 'address:<ip>'
  failures INTEGER NOT NULL,
  lockouts INTEGER NOT NULL DEFAULT 0,
  locked_until_utc_us INTEGER NOT NULL DEFAULT 0,
  last_failure_utc_us INTEGER NOT NULL
);
CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY,                  -- BLAKE2b-256 of the 256-bit token
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  client_address TEXT NOT NULL,
  created_utc_us INTEGER NOT NULL,
  last_seen_utc_us INTEGER NOT NULL
);
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO settings(key, value) VALUES ('policy.require_totp', '1');
-- The audit journal (R6): append-only, hash-chained. AUTOINCREMENT keeps the high-water mark
-- in sqlite_sequence, which `audit verify` compares with the last entry.
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time_utc_us INTEGER NOT NULL,
  actor_id INTEGER,
  actor_name TEXT NOT NULL,
  actor_role TEXT NOT NULL,
  action TEXT NOT NULL,
  object_type TEXT NOT NULL,
  object_id TEXT NOT NULL,
  camera TEXT NOT NULL,
  range_from_utc_us INTEGER,
  range_to_utc_us INTEGER,
  purpose TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied')),
  reason TEXT NOT NULL,
  client_address TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL
);
CREATE INDEX audit_by_time ON audit (time_utc_us);
CREATE INDEX audit_by_actor ON audit (actor_name);
CREATE INDEX audit_by_action ON audit (action);
-- Where pruning after the retention term cut the journal (firmware/design/audit.md §Retention):
-- the last pruned entry's seq and hash, signed by the device; `verify` starts the chain from
-- it. At most one row, and it only moves forward.
CREATE TABLE audit_anchor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash BLOB NOT NULL,
  time_utc_us INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL
);
CREATE TRIGGER audit_anchor_forward_only BEFORE UPDATE ON audit_anchor
  WHEN NEW.seq <= OLD.seq
  BEGIN SELECT RAISE(ABORT, 'the audit anchor only moves forward'); END;
CREATE TRIGGER audit_anchor_no_delete BEFORE DELETE ON audit_anchor
  BEGIN SELECT RAISE(ABORT, 'the audit anchor cannot be removed'); END;
-- Only pruning deletes entries: it moves the anchor first, in the same transaction, and then
-- deletes up to it. Everything after the anchor is untouchable.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit journal is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
  WHEN OLD.seq > (SELECT COALESCE(MAX(seq), 0) FROM audit_anchor)
  BEGIN SELECT RAISE(ABORT, 'the audit journal is append-only'); END;
-- Signed checkpoints of the chain head (hourly and at shutdown). Those at or before the anchor
-- sign entries that pruning removed, and go with them.
CREATE TABLE audit_checkpoints (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  seq INTEGER NOT NULL,
  head_hash BLOB NOT NULL,
  time_utc_us INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
  BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
  WHEN OLD.seq > (SELECT COALESCE(MAX(seq), 0) FROM audit_anchor)
  BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
)sql"},
    // 2 → 3: police exports, and the log of the clock's synchronisation state (issue 5).
    {3, R"sql(
-- One row per police export attempt that passed the checks; the audit journal has every
-- attempt. A complete export keeps the exact manifest.json it signed, so its handover receipt
-- can be printed again and its hash compared.
CREATE TABLE exports (
  id TEXT PRIMARY KEY,
  created_utc_us INTEGER NOT NULL,
  account_id INTEGER REFERENCES accounts(id),
  approved_by TEXT NOT NULL,
  case_reference TEXT NOT NULL,
  legal_basis TEXT NOT NULL,
  recipient TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  cameras TEXT NOT NULL,
  from_utc_us INTEGER NOT NULL,
  to_utc_us INTEGER NOT NULL,
  target TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('writing', 'complete', 'failed')),
  finished_utc_us INTEGER,
  manifest TEXT,
  manifest_sha256 TEXT,
  error TEXT NOT NULL DEFAULT ''
);
-- When the clock's synchronisation state changed (yardwatchd samples it): the "time source
-- state at recording" a police bundle states for each file.
CREATE TABLE clock_sync_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  since_utc_us INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('synchronised', 'unsynchronised', 'unknown'))
);
CREATE INDEX clock_sync_log_by_time ON clock_sync_log (since_utc_us);
)sql"},
    // 4 → 5: incident holds and restrictions (issue #4, firmware/design/holds.md). What they
    // keep is in the recorder's protected_ranges (step 4); these tables say who decided what.
    {5, R"sql(
CREATE TABLE holds (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'released', 'rejected', 'expired')),
  from_utc_us INTEGER NOT NULL,
  to_utc_us INTEGER NOT NULL,
  reason TEXT NOT NULL,
  case_reference TEXT NOT NULL,
  review_by_utc_us INTEGER NOT NULL,
  created_by_id INTEGER REFERENCES accounts(id),
  created_by TEXT NOT NULL,
  created_utc_us INTEGER NOT NULL,
  pending_until_utc_us INTEGER,               -- a viewer's request keeps footage until then
  decided_by TEXT,                            -- confirmed or rejected by
  decided_utc_us INTEGER,
  decision_note TEXT NOT NULL DEFAULT '',
  released_by TEXT,
  released_utc_us INTEGER,
  CHECK (to_utc_us > from_utc_us)
);
CREATE INDEX holds_by_state ON holds (state);
CREATE TABLE hold_cameras (
  hold_id INTEGER NOT NULL REFERENCES holds(id),
  camera_id INTEGER NOT NULL REFERENCES cameras(id),
  protected_range_id INTEGER REFERENCES protected_ranges(id) ON DELETE SET NULL,
  PRIMARY KEY (hold_id, camera_id)
);
CREATE TABLE restrictions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  camera_id INTEGER NOT NULL REFERENCES cameras(id),
  from_utc_us INTEGER NOT NULL,
  to_utc_us INTEGER NOT NULL,
  request_reference TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  placed_by_id INTEGER REFERENCES accounts(id),
  placed_by TEXT NOT NULL,
  placed_utc_us INTEGER NOT NULL,
  lifted_by TEXT,
  lifted_utc_us INTEGER,
  lift_request_reference TEXT,
  protected_range_id INTEGER REFERENCES protected_ranges(id) ON DELETE SET NULL,
  CHECK (to_utc_us > from_utc_us)
);
CREATE INDEX restrictions_in_force ON restrictions (camera_id, from_utc_us)
  WHERE lifted_utc_us IS NULL;
)sql"},
    // 5 → 6: the register of data subjects' requests and the subject exports (issue #8, R7;
    // firmware/design/requests.md). The requester's name, contact and description are emptied
    // when a request is closed; closed requests go 2 years later with everything below them.
    {6, R"sql(
CREATE TABLE subject_requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  reference TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('access', 'objection', 'erasure', 'restriction')),
  requester_name TEXT NOT NULL,
  requester_contact TEXT NOT NULL,
  description TEXT NOT NULL,
  received_utc_us INTEGER NOT NULL,
  deadline_utc_us INTEGER NOT NULL,
  extended_utc_us INTEGER,
  extension_reason TEXT NOT NULL DEFAULT '',
  extended_by TEXT NOT NULL DEFAULT '',
  outcome TEXT CHECK (outcome IN ('granted', 'partially_granted', 'refused', 'withdrawn')),
  closing_note TEXT NOT NULL DEFAULT '',
  closed_utc_us INTEGER,
  closed_by TEXT NOT NULL DEFAULT '',
  registered_by_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
  registered_by TEXT NOT NULL,
  registered_utc_us INTEGER NOT NULL,
  minimised_utc_us INTEGER,
  CHECK ((closed_utc_us IS NULL) = (outcome IS NULL)),
  CHECK (deadline_utc_us > received_utc_us)
);
CREATE INDEX subject_requests_open ON subject_requests (deadline_utc_us) WHERE closed_utc_us IS NULL;
CREATE INDEX subject_requests_closed ON subject_requests (closed_utc_us) WHERE closed_utc_us IS NOT NULL;
CREATE TABLE subject_request_footage (
  request_id INTEGER NOT NULL REFERENCES subject_requests(id) ON DELETE CASCADE,
  camera_id INTEGER NOT NULL REFERENCES cameras(id),
  from_utc_us INTEGER NOT NULL,
  to_utc_us INTEGER NOT NULL,
  CHECK (to_utc_us > from_utc_us)
);
CREATE INDEX subject_request_footage_by_request ON subject_request_footage (request_id);
CREATE TABLE subject_request_actions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id INTEGER NOT NULL REFERENCES subject_requests(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('erasure', 'restriction', 'restriction_lifted',
                                     'subject_export', 'hold')),
  object_id TEXT NOT NULL,
  summary TEXT NOT NULL,
  linked_by TEXT NOT NULL,
  linked_utc_us INTEGER NOT NULL
);
CREATE INDEX subject_request_actions_by_request ON subject_request_actions (request_id);
-- One row per subject export that reached the writing stage; the audit journal has every
-- attempt. A complete one keeps the manifest it signed. reviewed_utc_us is set when the director
-- reviewed the redacted footage frame by frame: before writing (web admin) or, for a bundle
-- written at the console, when the director releases it after viewing it with verify.html.
CREATE TABLE subject_exports (
  id TEXT PRIMARY KEY,
  request_id INTEGER NOT NULL REFERENCES subject_requests(id) ON DELETE CASCADE,
  camera_id INTEGER NOT NULL REFERENCES cameras(id),
  from_utc_us INTEGER NOT NULL,
  to_utc_us INTEGER NOT NULL,
  blur_outside_selection INTEGER NOT NULL,
  created_utc_us INTEGER NOT NULL,
  account_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
  created_by TEXT NOT NULL,
  reviewed_by TEXT NOT NULL DEFAULT '',
  reviewed_utc_us INTEGER,
  target TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('writing', 'complete', 'failed')),
  finished_utc_us INTEGER,
  manifest TEXT,
  manifest_sha256 TEXT,
  error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX subject_exports_by_request ON subject_exports (request_id);
)sql"},
    // 6 → 7: the privacy desk (issue #8): the breach register fed by the appliance's own alarms
    // (R8).
    // firmware/design/privacy_desk.md.
    {7, R"sql(
-- Which alarm kinds are security incidents, and what the appliance itself can say about each:
-- whether personal data is involved and whether it was encrypted and inaccessible. The trigger
-- below reads it, so a new incident kind is one row here, not a change at any call site.
CREATE TABLE breach_alarm_kinds (
  kind TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  personal_data TEXT NOT NULL CHECK (personal_data IN ('yes', 'no', 'unknown')),
  encrypted_inaccessible TEXT NOT NULL
    CHECK (encrypted_inaccessible IN ('yes', 'partly', 'no', 'not_applicable', 'unknown')),
  assessment TEXT NOT NULL,
  -- An event alarm (a lock-out, a failed export) stays open until a director decides on its
  -- register entry; a state alarm (a missing disk, a distrusted clock) clears itself.
  clears_on_decision INTEGER NOT NULL CHECK (clears_on_decision IN (0, 1))
);
INSERT INTO breach_alarm_kinds VALUES
  ('login_lockout', 'Sign-in lock-out after repeated failed sign-ins', 'no', 'not_applicable',
   'No sign-in succeeded: nothing was shown and nothing left the appliance. Footage is encrypted at rest.',
   1),
  ('login_burst', 'Burst of failed sign-ins across accounts (brute force or password spraying)',
   'no', 'not_applicable',
   'No sign-in succeeded through the burst itself: nothing was shown and nothing left the appliance. Footage is encrypted at rest.',
   1),
  ('audit_tamper', 'The audit journal does not verify (tampering or corruption)', 'yes', 'no',
   'The audit journal is stored unencrypted in the appliance database: whoever changed it could read it (account names, client addresses, purposes of viewings). Footage itself stays encrypted at rest.',
   0),
  ('export_failed', 'A police export could not be written completely', 'yes', 'partly',
   'The video files of a bundle are encrypted under the export passphrase, which is never on the medium. Not encrypted on the medium: manifest.json (case reference, legal basis, recipient, the approving director, camera names and times).',
   1),
  ('retention_clock', 'Clock attack or fault: the retention sweep distrusts the clock', 'no',
   'not_applicable',
   'No footage was deleted or shown because of the clock: the sweep deletes nothing until the clock is trusted again. Footage is encrypted at rest.',
   0),
  ('storage_missing', 'The data volume was removed or is not mounted', 'yes', 'partly',
   'Footage on the volume is encrypted at rest (a key per segment, wrapped by the device key, which is not on the volume): it is inaccessible without this appliance. Not encrypted on the volume: the appliance database (account names, the audit journal with names, client addresses and purposes, holds and requests).',
   0),
  ('storage_wrong_volume', 'Another disk was found where the data volume belongs (swapped disk)',
   'yes', 'partly',
   'Footage on the missing volume is encrypted at rest (a key per segment, wrapped by the device key, which is not on the volume): it is inaccessible without this appliance. Not encrypted on the volume: the appliance database (account names, the audit journal with names, client addresses and purposes, holds and requests).',
   0),
  ('storage_read_only', 'The data volume became read-only (filesystem errors)', 'no',
   'not_applicable',
   'Nothing was disclosed; recording stopped while the volume could not be written. Footage is encrypted at rest.',
   0),
  ('storage_unreadable', 'The data volume could not be read (I/O errors)', 'unknown', 'partly',
   'Footage on the volume is encrypted at rest and inaccessible without this appliance. Not encrypted on the volume: the appliance database (account names, the audit journal, holds and requests).',
   0),
  ('factory_reset', 'Factory reset: every device key and the database were destroyed', 'yes', 'yes',
   'Every device key was destroyed: footage left on the volume cannot be read by anyone, the school included (it is lost). The database was removed.',
   1);
-- The breach register (R8): every security incident, whether a person decides to report it to
-- the Autoriteit Persoonsgegevens (72 hours after detection) or not, and why.
CREATE TABLE breaches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL CHECK (source IN ('alarm', 'manual')),
  kind TEXT NOT NULL,                           -- the alarm kind, or 'manual'
  alarm_id INTEGER,                             -- alarms(id) for automatic entries
  camera_id INTEGER,
  detected_utc_us INTEGER NOT NULL,
  description TEXT NOT NULL,
  personal_data TEXT NOT NULL CHECK (personal_data IN ('yes', 'no', 'unknown')),
  encrypted_inaccessible TEXT NOT NULL
    CHECK (encrypted_inaccessible IN ('yes', 'partly', 'no', 'not_applicable', 'unknown')),
  assessment TEXT NOT NULL,
  deadline_utc_us INTEGER NOT NULL,             -- detected + 72 h: the Dutch DPA's term
  registered_utc_us INTEGER NOT NULL,
  registered_by TEXT NOT NULL,
  audit_seq INTEGER,                            -- the `breach_registered` entry, once written
  decision TEXT CHECK (decision IN ('report', 'not_report')),
  reasoning TEXT NOT NULL DEFAULT '',
  report_reference TEXT NOT NULL DEFAULT '',    -- the DPA's reference of a report
  decided_by TEXT,
  decided_by_id INTEGER REFERENCES accounts(id),
  decided_utc_us INTEGER
);
CREATE INDEX breaches_undecided ON breaches (detected_utc_us) WHERE decision IS NULL;
-- The register is fed in the same statement as the alarm, whoever raises it (the daemon, the
-- CLI, the recorder). Only a new alarm counts: an open alarm of the same kind is the same
-- incident (Catalog::raise_alarm does not insert again).
CREATE TRIGGER breach_from_alarm AFTER INSERT ON alarms
  WHEN EXISTS (SELECT 1 FROM breach_alarm_kinds WHERE kind = NEW.kind)
BEGIN
  INSERT INTO breaches(source, kind, alarm_id, camera_id, detected_utc_us, description,
                       personal_data, encrypted_inaccessible, assessment, deadline_utc_us,
                       registered_utc_us, registered_by)
  SELECT 'alarm', NEW.kind, NEW.id, NEW.camera_id, NEW.raised_utc_us,
         k.title || ': ' || NEW.message, k.personal_data, k.encrypted_inaccessible, k.assessment,
         NEW.raised_utc_us + 259200000000, NEW.raised_utc_us, 'system'
  FROM breach_alarm_kinds k WHERE k.kind = NEW.kind;
END;
CREATE TRIGGER breaches_no_delete BEFORE DELETE ON breaches
  BEGIN SELECT RAISE(ABORT, 'the breach register keeps every entry'); END;
)sql"},
    // 7 → 8: the kwaliteitskaart (R9; firmware/design/kwaliteitskaart.md): what the card says
    // about each camera beyond the placement plan — why it films, how it is mounted — and a
    // still image only if a director attaches one (JPEG as uploaded, at most 1 MiB).
    {8, R"sql(
CREATE TABLE camera_descriptions (
  camera_id INTEGER PRIMARY KEY REFERENCES cameras(id),
  purpose TEXT NOT NULL DEFAULT '',
  placement TEXT NOT NULL DEFAULT '',
  still_jpeg BLOB,
  still_width INTEGER,
  still_height INTEGER,
  updated_by TEXT NOT NULL,
  updated_utc_us INTEGER NOT NULL
);
)sql"},
}};

}  // namespace

std::span<const recorder::Migration> firmware_migrations() { return kFirmwareMigrations; }

}  // namespace yardwatch::firmware
