// The audit journal export checker behind `yardwatch-verify --audit` (tools/verify/audit_check.h
// check_audit_export) on arbitrary bytes: the export is handed to auditors and may come back
// edited or damaged. Seeds are real exports written by firmware::AuditJournal::export_jsonl of
// a real appliance: one with entries and checkpoints, one pruned (with its signed anchor line).

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "audit_check.h"
#include "fuzz_target.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/audit.h"
#include "yardwatch/hal/clock.h"

namespace yardwatch::fuzz {

namespace {

namespace fs = std::filesystem;

Input read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Input(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

std::vector<Input> generated_seeds() {
  const fs::path dir = fs::temp_directory_path() / ("yw-fuzz-audit-" + std::to_string(::getpid()));
  std::error_code error;
  fs::remove_all(dir, error);
  std::vector<Input> seeds;
  {
    auto appliance = firmware::Appliance::init({dir / "data", dir / "keys", "host-sim"});
    if (!appliance.ok()) std::abort();
    auto& app = *appliance.value();
    hal::SimulatedClock clock(1'795'604'400'000'000);
    firmware::AuditJournal journal(app.catalog(), clock, app.keys());
    const firmware::Actor anna{3, "anna", "director", "10.0.0.7"};
    for (int i = 1; i <= 6; ++i) {
      firmware::AuditEvent event;
      event.action = i % 2 == 0 ? "view_recorded" : "login";
      event.camera = i % 2 == 0 ? "yard" : "";
      event.purpose = "purpose " + std::to_string(i) + "\nforged line \"quoted\"";
      event.details = R"({"n":)" + std::to_string(i) + R"(,"text":"a\u0000b"})";
      if (!journal.append(anna, event).ok()) std::abort();
      if (i == 3 && !journal.checkpoint().ok()) std::abort();
      clock.advance_us(3'600'000'000);
    }
    if (!journal.checkpoint().ok()) std::abort();
    if (!journal.export_jsonl(dir / "audit.jsonl").ok()) std::abort();
    seeds.push_back(read_bytes(dir / "audit.jsonl"));
    // Two years and a day later: the old entries are pruned, the export starts at an anchor.
    clock.advance_us(firmware::kAuditRetentionUs + 86'400'000'000);
    firmware::AuditEvent login;
    login.action = "login";
    if (!journal.append(anna, login).ok()) std::abort();
    if (!journal.checkpoint().ok() || !journal.prune().ok()) std::abort();
    if (!journal.export_jsonl(dir / "pruned.jsonl").ok()) std::abort();
    seeds.push_back(read_bytes(dir / "pruned.jsonl"));
  }
  fs::remove_all(dir, error);
  return seeds;
}

}  // namespace yardwatch::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream input(std::string(reinterpret_cast<const char*>(data), size));
  const yardwatch::verify::AuditCheck check = yardwatch::verify::check_audit_export(input);
  // A verdict is either a pass over at least one entry or a failure that says why.
  if (check.ok ? check.entries == 0 : check.problem.empty()) std::abort();
  return 0;
}
