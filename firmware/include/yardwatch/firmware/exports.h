#pragma once

// Police exports (R5): the one way footage leaves the appliance. Only a director may export,
// only with the reference of an official demand (legal basis), a case reference and a named
// recipient. Restricted footage is refused (R7), and the exported range is put on a director's
// hold ("police export", the case reference, review in six months) in the same transaction as
// the export's record, so the source cannot age out while the case runs (R2; holds.h). Every
// attempt — allowed, denied or failed — is audited,
// and a completed export records who, what, why, to whom, the bundle id and its manifest hash.
// The bundle itself is written by recorder/export_bundle (recorder/design/bundle.md).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/firmware/four_eyes.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/removable_media.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/bundle_format.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

constexpr size_t kMaxExportTextBytes = 500;
constexpr size_t kMinLegalBasisLength = 5;

struct ExportRequest {
  std::vector<std::string> cameras;
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;
  std::string case_reference;
  std::string legal_basis;   // the reference of the official demand (e.g. a vordering number)
  std::string recipient;     // the authority and officer receiving the bundle
  std::string requested_by;  // who made the demand; empty: the recipient
  std::string passphrase;    // wiped by the service after use
  // Where the bundle goes: a medium and a new directory on it (opened only once the export is
  // allowed, so a refused attempt leaves nothing on the stick).
  std::string media_id;
  std::string directory_name;
  // With the four-eyes policy on, the second authorised person's approval (four_eyes.h) for
  // every exported camera; not owned, must outlive the call.
  const FourEyesApproval* second_approval = nullptr;
  // Argon2id cost of the passphrase; the defaults are the format's. Tests lower them.
  uint64_t kdf_opslimit = recorder::bundle_format::kDefaultOpsLimit;
  uint64_t kdf_memlimit = recorder::bundle_format::kDefaultMemLimit;
};

struct ExportRecord {
  std::string id;
  int64_t created_utc_us = 0;
  std::string approved_by;
  std::string case_reference;
  std::string legal_basis;
  std::string recipient;
  std::string requested_by;
  std::vector<std::string> cameras;
  int64_t from_utc_us = 0;
  int64_t to_utc_us = 0;
  std::string target;
  std::string state;  // writing | complete | failed
  std::optional<int64_t> finished_utc_us;
  std::string manifest;         // exact manifest.json bytes (complete exports)
  std::string manifest_sha256;  // hex
  std::string error;
};

struct ExportOutcome {
  ExportRecord record;
  recorder::bundle_format::Manifest manifest;
  uint64_t bytes_written = 0;
  uint64_t source_bytes_read = 0;
};

class ExportService {
 public:
  ExportService(recorder::Catalog& catalog, const hal::Storage& storage, const hal::KeyStore& keys,
                const hal::Clock& clock, AuditJournal& audit);

  // verify.html, the offline browser verifier put into every bundle. The adapters provide it
  // (it is built from tools/verify/web); without it exports are refused.
  void set_verify_page(std::span<const uint8_t> page) { verify_page_ = page; }

  // kPermissionDenied (not a director), kInvalidArgument (no case, legal basis, recipient, a
  // weak passphrase, no footage), kFailedPrecondition (restricted footage, a segment still being
  // recorded), kResourceExhausted / kUnavailable (medium full / gone), kDataLoss (footage that
  // does not authenticate). Each of them is audited.
  Result<ExportOutcome> create_export(const Principal& principal, ExportRequest request,
                                      hal::RemovableMedia& media);

  // A complete export's record (with its manifest) to print the handover receipt again:
  // directors only, audited (`police_export_receipt`).
  Result<ExportRecord> receipt(const Principal& principal, const std::string& id);

  // Unchecked reads for the service itself and its tests.
  Result<std::vector<ExportRecord>> list();
  Result<ExportRecord> find(const std::string& id);

 private:
  recorder::Catalog& catalog_;
  const hal::Storage& storage_;
  const hal::KeyStore& keys_;
  const hal::Clock& clock_;
  AuditJournal& audit_;
  std::span<const uint8_t> verify_page_;
};

// The appliance's name as a bundle states it: setting device.name, else "Yardwatch <id>".
std::string device_name(recorder::Catalog& catalog);

}  // namespace yardwatch::firmware
