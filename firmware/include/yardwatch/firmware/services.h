#pragma once

// The firmware services of one appliance, wired together. Adapters (CLI, web admin, daemon)
// create one and call nothing else that touches footage or personal data.

#include "yardwatch/firmware/access_review.h"
#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/firmware/breaches.h"
#include "yardwatch/firmware/cameras.h"
#include "yardwatch/firmware/dpia.h"
#include "yardwatch/firmware/exports.h"
#include "yardwatch/firmware/footage.h"
#include "yardwatch/firmware/four_eyes.h"
#include "yardwatch/firmware/holds.h"
#include "yardwatch/firmware/kwaliteitskaart.h"
#include "yardwatch/firmware/requests.h"
#include "yardwatch/firmware/retention.h"
#include "yardwatch/firmware/sessions.h"
#include "yardwatch/firmware/subject_exports.h"
#include "yardwatch/firmware/subject_footage.h"
#include "yardwatch/firmware/viewing.h"

namespace yardwatch::firmware {

struct Services {
  explicit Services(Appliance& appliance)
      : audit(appliance.catalog(), appliance.clock(), appliance.keys()),
        accounts(appliance.catalog(), appliance.clock(), appliance.keys(), audit),
        footage(appliance.catalog(), appliance.storage(), appliance.keys(), audit),
        exports(appliance.catalog(), appliance.storage(), appliance.keys(), appliance.clock(),
                audit),
        sessions(appliance.catalog(), appliance.clock()),
        cameras(appliance.catalog(), appliance.clock(), audit),
        viewing(appliance.catalog(), appliance.clock(), audit, footage),
        holds(appliance.catalog(), appliance.clock(), audit),
        subject_footage(appliance.catalog(), appliance.storage(), appliance.clock(), audit),
        retention(appliance.catalog(), appliance.storage(), appliance.clock(), audit, holds),
        requests(appliance.catalog(), appliance.clock(), audit),
        breaches(appliance.catalog(), appliance.clock(), audit),
        dpia(appliance.catalog(), appliance.clock(), audit),
        four_eyes(appliance.catalog(), appliance.clock(), audit, accounts),
        subject_exports(appliance.catalog(), appliance.storage(), appliance.keys(),
                        appliance.clock(), audit),
        kwaliteitskaart(appliance.catalog(), appliance.clock(), audit),
        access_review(appliance.catalog(), appliance.clock(), audit) {}

  AuditJournal audit;
  AccountService accounts;
  FootageService footage;
  ExportService exports;
  SessionStore sessions;
  CameraService cameras;
  ViewingService viewing;
  HoldService holds;                       // incident holds and hold requests (R2)
  SubjectFootageService subject_footage;   // erasure and restriction on request (R7)
  RetentionService retention;              // the sweep, the clock guard, disk pressure
  RequestService requests;                 // the register of data subjects' requests (R7)
  BreachService breaches;                  // the breach register (R8)
  DpiaService dpia;                        // the DPIA date and its reminder (R10)
  FourEyesService four_eyes;               // second-person approvals (policy.four_eyes)
  SubjectExportService subject_exports;    // subject access exports, others blurred (R7, R11)
  KwaliteitskaartService kwaliteitskaart;  // the quality card (R9); adapters set_board()
  AccessReviewService access_review;       // the monthly access review for the privacy officer
};

}  // namespace yardwatch::firmware
