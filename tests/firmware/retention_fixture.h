#pragma once

// An appliance (real data directory, key store and SQLite catalog) with the retention services
// on a simulated clock, cameras, people and real segment files — for the holds, subject-request
// and retention tests. Header-only, for tests/firmware.

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "segment_fixture.h"
#include "test_support.h"
#include "yardwatch/firmware/accounts.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/firmware/footage.h"
#include "yardwatch/firmware/holds.h"
#include "yardwatch/firmware/requests.h"
#include "yardwatch/firmware/retention.h"
#include "yardwatch/firmware/subject_footage.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/recorder/data_dir.h"
#include "yardwatch/recorder/recovery.h"
#include "yardwatch/recorder/retention.h"
#include "yardwatch/recorder/sqlite.h"

namespace yardwatch::testing {

constexpr int64_t kMinuteUs = 60'000'000;
constexpr int64_t kHourUs = 60 * kMinuteUs;
constexpr int64_t kDayUs = 24 * kHourUs;

class RetentionFixture {
 public:
  explicit RetentionFixture(int64_t start_utc_us, const std::string& root = "")
      : dir_(root.empty() ? std::make_unique<TempDir>("yw-holds") : nullptr),
        root_(root.empty() ? dir_->path() : std::filesystem::path(root)),
        clock_(start_utc_us) {
    firmware::ApplianceOptions options{root_ / "data", root_ / "keys", "host-sim"};
    options_ = options;
    auto appliance = firmware::Appliance::init(options_);
    INFO((appliance.ok() ? "" : appliance.error().message));
    REQUIRE(appliance.ok());
    appliance_ = std::move(appliance).value();
    make_services();
  }

  // A restart: every service and the catalog connection are dropped and opened again (what a
  // new process sees). The simulated clock goes on.
  void restart() {
    services_.reset();
    appliance_.reset();
    auto appliance = firmware::Appliance::open(options_);
    REQUIRE(appliance.ok());
    appliance_ = std::move(appliance).value();
    make_services();
  }
  // Drops everything without a restart (a crash); call restart() afterwards.
  void drop() {
    services_.reset();
    appliance_.reset();
  }

  hal::SimulatedClock& clock() { return clock_; }
  recorder::Catalog& catalog() { return appliance_->catalog(); }
  const hal::Storage& storage() const { return appliance_->storage(); }
  const hal::KeyStore& keys() const { return appliance_->keys(); }
  const std::filesystem::path& data_dir() const { return appliance_->data_dir(); }
  firmware::AuditJournal& audit() { return services_->audit; }
  firmware::HoldService& holds() { return services_->holds; }
  firmware::SubjectFootageService& subject() { return services_->subject; }
  firmware::RetentionService& retention() { return services_->retention; }
  firmware::FootageService& footage() { return services_->footage; }
  firmware::RequestService& requests() { return services_->requests; }

  // A data subject's request in the register, received now, so that erasures and restrictions
  // can act under its reference (R7: they need a registered request).
  firmware::SubjectRequest request(const firmware::Principal& director,
                                   const std::string& reference,
                                   firmware::RequestKind kind = firmware::RequestKind::kErasure) {
    firmware::NewSubjectRequest request;
    request.reference = reference;
    request.kind = kind;
    request.requester_name = "a parent";
    request.requester_contact = "ouder@example.org";
    request.received_utc_us = clock_.now_utc_us();
    auto added = requests().add(director, request);
    REQUIRE(added.ok());
    return added.value();
  }

  int64_t camera(const std::string& name, int retention_days = 28, int priority = 50) {
    recorder::CameraSpec spec;
    spec.name = name;
    spec.url = "rtsp://127.0.0.1:1/" + name;
    spec.zone = "schoolyard";
    spec.retention_days = retention_days;
    spec.priority = priority;
    auto added = catalog().add_camera(spec, clock_.now_utc_us());
    REQUIRE(added.ok());
    return added.value().id;
  }

  // A signed-in person as the services see one. The account row is written directly: the
  // sign-in itself (Argon2id, TOTP) is tested elsewhere and costs 130 ms a time.
  firmware::Principal person(const std::string& name, firmware::Role role,
                             const std::set<int64_t>& cameras = {}) {
    std::lock_guard lock(catalog().mutex());
    auto& db = catalog().database();
    auto insert = db.prepare(
        "INSERT INTO accounts(name, role, password_hash, must_change_password, created_utc_us, "
        "password_changed_utc_us) VALUES (?1, ?2, 'not-a-hash', 0, 0, 0)");
    REQUIRE(insert.ok());
    REQUIRE(insert.value().bind(1, name).bind(2, firmware::role_name(role)).run().ok());
    firmware::Principal principal;
    principal.account_id = db.last_insert_rowid();
    principal.name = name;
    principal.role = role;
    principal.camera_ids = cameras;
    principal.client_address = "192.0.2.10";
    for (int64_t camera_id : cameras) {
      auto assign =
          db.prepare("INSERT INTO account_cameras(account_id, camera_id) VALUES (?1, ?2)");
      REQUIRE(assign.ok());
      REQUIRE(assign.value().bind(1, principal.account_id).bind(2, camera_id).run().ok());
    }
    return principal;
  }

  recorder::SegmentRow segment(int64_t camera_id, int64_t start_utc_us,
                               int64_t duration_us = kHourUs) {
    return write_test_segment(catalog(), storage(), keys(), camera_id, start_utc_us, duration_us);
  }

  bool exists(const recorder::SegmentRow& row) {
    auto found = catalog().segment(row.id);
    REQUIRE(found.ok());
    const bool file =
        std::filesystem::exists(recorder::segment_path(data_dir(), row.camera_id, row.id));
    return found.value().has_value() && file;
  }
  bool gone(const recorder::SegmentRow& row) {
    auto found = catalog().segment(row.id);
    REQUIRE(found.ok());
    const bool file =
        std::filesystem::exists(recorder::segment_path(data_dir(), row.camera_id, row.id));
    return !found.value().has_value() && !file;
  }

  std::vector<firmware::AuditEntry> entries(const std::string& action) {
    firmware::AuditFilter filter;
    filter.action = action;
    auto list = audit().list(filter);
    REQUIRE(list.ok());
    return list.value();
  }

  bool has_alarm(const std::string& kind) {
    auto alarms = catalog().open_alarms();
    REQUIRE(alarms.ok());
    for (const auto& alarm : alarms.value()) {
      if (alarm.kind == kind) return true;
    }
    return false;
  }

  std::vector<recorder::CheckViolation> check(bool running = false) {
    auto violations = recorder::check_data_dir(catalog(), storage(), keys(), running);
    REQUIRE(violations.ok());
    for (const auto& v : violations.value()) UNSCOPED_INFO("rule " << v.rule << ": " << v.detail);
    return violations.value();
  }

  firmware::HoldSpec hold_spec(std::vector<std::string> cameras, int64_t from, int64_t to,
                               const std::string& case_reference = "2026-017") {
    firmware::HoldSpec spec;
    spec.cameras = std::move(cameras);
    spec.from_utc_us = from;
    spec.to_utc_us = to;
    spec.reason = "fight at the bicycle shed, parents informed";
    spec.case_reference = case_reference;
    spec.review_by_utc_us = clock_.now_utc_us() + 60 * kDayUs;
    return spec;
  }

 private:
  struct Services {
    Services(firmware::Appliance& appliance, const hal::Clock& clock)
        : audit(appliance.catalog(), clock, appliance.keys()),
          footage(appliance.catalog(), appliance.storage(), appliance.keys(), audit),
          holds(appliance.catalog(), clock, audit),
          subject(appliance.catalog(), appliance.storage(), clock, audit),
          retention(appliance.catalog(), appliance.storage(), clock, audit, holds),
          requests(appliance.catalog(), clock, audit) {}
    firmware::AuditJournal audit;
    firmware::FootageService footage;
    firmware::HoldService holds;
    firmware::SubjectFootageService subject;
    firmware::RetentionService retention;
    firmware::RequestService requests;
  };
  void make_services() { services_ = std::make_unique<Services>(*appliance_, clock_); }

  std::unique_ptr<TempDir> dir_;
  std::filesystem::path root_;
  hal::SimulatedClock clock_;
  firmware::ApplianceOptions options_;
  std::unique_ptr<firmware::Appliance> appliance_;
  std::unique_ptr<Services> services_;
};

}  // namespace yardwatch::testing
