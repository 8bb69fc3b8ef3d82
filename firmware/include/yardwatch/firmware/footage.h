#pragma once

// Footage: the one door to recorded video (R4). Opening a segment needs the right role (viewers
// only their assigned cameras) and a purpose; the viewing is audited (camera, range, purpose)
// before a single byte is returned, and every denial is audited too.

#include <cstdint>
#include <string>

#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/firmware/four_eyes.h"
#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/storage.h"
#include "yardwatch/recorder/catalog.h"
#include "yardwatch/recorder/playback.h"

namespace yardwatch::firmware {

constexpr size_t kMinPurposeLength = 5;
constexpr size_t kMaxPurposeLength = 500;

class FootageService {
 public:
  FootageService(recorder::Catalog& catalog, const hal::Storage& storage, const hal::KeyStore& keys,
                 AuditJournal& audit);

  // With the four-eyes policy on, `approval` (FourEyesService::approve) must name a second
  // authorised person for the segment's camera; both names go into the `view_recorded` entry.
  Result<recorder::DecryptedSegment> view_segment(const Principal& principal, int64_t segment_id,
                                                  const std::string& purpose,
                                                  const FourEyesApproval* approval = nullptr);

 private:
  recorder::Catalog& catalog_;
  const hal::Storage& storage_;
  const hal::KeyStore& keys_;
  AuditJournal& audit_;
};

}  // namespace yardwatch::firmware
