#include "export_commands.h"

#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "appliance_commands.h"
#include "console_session.h"
#include "four_eyes_prompt.h"
#include "verify_page.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/export_receipt.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/removable_media.h"
#include "yardwatch/recorder/bundle_format.h"

namespace yardwatch::cli {

namespace {

using nlohmann::json;
namespace format = recorder::bundle_format;

struct ExportOptions {
  firmware::ApplianceArguments arguments;  // resolved with the configuration file and board
  bool json_output = false;
  SignInOptions sign_in;
  std::string cameras;
  std::string from;
  std::string to;
  std::string case_reference;
  std::string legal_basis;
  std::string recipient;
  std::string requested_by;
  std::filesystem::path out;
  std::string media;  // a USB stick (`yardwatch media list`); --out is then the directory name
  std::filesystem::path passphrase_file;
  std::filesystem::path receipt;
  std::string id;
  std::string second_user;  // four-eyes: the second person (four_eyes_prompt.h)
};

int fail(const std::string& message) {
  std::fprintf(stderr, "yardwatch: %s\n", message.c_str());
  return kExitFailure;
}

void add_common(CLI::App* command, ExportOptions& options, bool with_json) {
  add_appliance_options(command, options.arguments);
  add_sign_in_options(command, options.sign_in, true, "your personal account (a director)");
  if (with_json) command->add_flag("--json", options.json_output, "machine-readable output");
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

std::string iso(int64_t us) { return hal::format_iso8601_utc(us); }

json manifest_json(const format::Manifest& m, const std::string& manifest_sha256) {
  json files = json::array();
  for (const auto& file : m.files) {
    files.push_back(json{{"name", file.name},
                         {"camera", file.camera},
                         {"start", iso(file.start_utc_us)},
                         {"end", iso(file.end_utc_us)},
                         {"duration_us", file.duration_us},
                         {"codec", file.codec},
                         {"frames", file.frames},
                         {"mp4_sha256", file.mp4_sha256},
                         {"encrypted_sha256", file.encrypted_sha256}});
  }
  json gaps = json::array();
  for (const auto& camera : m.cameras) {
    for (const auto& gap : camera.gaps) {
      gaps.push_back(json{
          {"camera", camera.name}, {"from", iso(gap.from_utc_us)}, {"to", iso(gap.to_utc_us)}});
    }
  }
  return json{{"export_id", m.export_id},
              {"case", m.case_reference},
              {"manifest_sha256", manifest_sha256},
              {"device_fingerprint", m.device_fingerprint},
              {"files", files},
              {"gaps", gaps}};
}

int cmd_export_create(const ExportOptions& options) {
  auto from = hal::parse_iso8601_utc_us(options.from);
  if (!from.ok()) return fail("--from: " + from.error().message);
  auto to = hal::parse_iso8601_utc_us(options.to);
  if (!to.ok()) return fail("--to: " + to.error().message);
  std::string passphrase;
  {
    std::ifstream input(options.passphrase_file, std::ios::binary);
    if (!input) return fail("cannot read the passphrase file " + options.passphrase_file.string());
    std::string text((std::istreambuf_iterator<char>(input)), std::istreambuf_iterator<char>());
    passphrase = format::passphrase_from_file_text(text);
    sodium_memzero(text.data(), text.size());
  }
  firmware::ResolvedAppliance resolved;
  auto appliance = open_appliance_as_service(options.arguments, &resolved);
  if (!appliance.ok()) return fail(appliance.error().message);
  // With --media the bundle goes into the directory --out on that USB stick (mounted by `yardwatch
  // media mount`); without it --out names the new bundle directory and its parent stands for the
  // stick (a directory medium).
  std::unique_ptr<hal::RemovableMedia> media;
  std::string media_id;
  std::string directory;
  std::filesystem::path out;
  if (!options.media.empty()) {
    media = std::make_unique<hal::UsbMedia>(media_options(resolved));
    media_id = options.media;
    directory = options.out.string();
  } else {
    out = std::filesystem::absolute(options.out).lexically_normal();
    const std::filesystem::path parent = out.parent_path();
    auto directory_media =
        std::make_unique<hal::DirectoryMedia>(parent, "directory " + parent.string());
    media_id = directory_media->id();
    media = std::move(directory_media);
    directory = out.filename().string();
  }
  firmware::Services services(*appliance.value());
  services.exports.set_verify_page(verify_page::html());
  auto principal = sign_in(services, options.sign_in);
  if (!principal.ok()) return fail(principal.error().message);

  firmware::ExportRequest request;
  request.cameras = split_list(options.cameras);
  request.from_utc_us = from.value();
  request.to_utc_us = to.value();
  request.case_reference = options.case_reference;
  request.legal_basis = options.legal_basis;
  request.recipient = options.recipient;
  request.requested_by = options.requested_by;
  request.passphrase = std::move(passphrase);
  request.media_id = media_id;
  request.directory_name = directory;
  // Four-eyes: with --second-user, the second person approves here (four_eyes_prompt.h).
  std::optional<firmware::FourEyesApproval> approval;
  if (!options.second_user.empty()) {
    firmware::AuditEvent attempted;
    attempted.action = "police_export";
    attempted.object_type = "export";
    attempted.camera = options.cameras;
    attempted.range_from_utc_us = request.from_utc_us;
    attempted.range_to_utc_us = request.to_utc_us;
    attempted.purpose = request.legal_basis;
    std::set<int64_t> camera_ids;
    for (const auto& name : request.cameras) {
      if (auto camera = appliance.value()->catalog().camera_by_name(name); camera.ok()) {
        camera_ids.insert(camera.value().id);
      }
    }
    auto approved = approve_second_person(services.four_eyes, principal.value(),
                                          options.second_user, camera_ids, attempted);
    if (!approved.ok()) return fail(approved.error().message);
    approval = std::move(approved).value();
    request.second_approval = &*approval;
  }
  const auto started = std::chrono::steady_clock::now();
  auto outcome = services.exports.create_export(principal.value(), std::move(request), *media);
  if (!outcome.ok()) return fail(outcome.error().message);
  if (out.empty()) {
    // On a stick: where it is mounted.
    out = directory;
    if (auto present = media->list(); present.ok()) {
      for (const auto& stick : present.value()) {
        if (stick.id == media_id && !stick.root.empty()) out = stick.root / directory;
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto& record = outcome.value().record;
  const auto& manifest = outcome.value().manifest;
  if (!options.receipt.empty()) {
    if (auto written = firmware::write_receipt(options.receipt, manifest, record.manifest_sha256);
        !written.ok()) {
      return fail("the bundle is complete, but the receipt could not be written: " +
                  written.error().message);
    }
  }
  if (options.json_output) {
    json result = manifest_json(manifest, record.manifest_sha256);
    result["bundle"] = out.string();
    result["bytes_written"] = outcome.value().bytes_written;
    result["source_bytes_read"] = outcome.value().source_bytes_read;
    result["seconds"] = seconds;
    result["receipt"] = options.receipt.empty() ? json(nullptr) : json(options.receipt.string());
    std::cout << result.dump(2) << "\n";
    return 0;
  }
  std::printf("%s\n", firmware::receipt_text(manifest, record.manifest_sha256).c_str());
  std::printf(
      "bundle written and verified (read back from the medium): %s\n"
      "  %llu bytes in %.1f s\n"
      "  hand over the passphrase separately from the stick; the recipient checks the bundle "
      "with verify.html or:\n"
      "    yardwatch-verify %s --expect-fingerprint \"%s\" --passphrase-file FILE\n",
      out.c_str(), static_cast<unsigned long long>(outcome.value().bytes_written), seconds,
      out.c_str(), manifest.device_fingerprint.c_str());
  if (!options.receipt.empty()) std::printf("  receipt: %s\n", options.receipt.c_str());
  return 0;
}

int cmd_export_receipt(const ExportOptions& options) {
  auto appliance = open_appliance_as_service(options.arguments);
  if (!appliance.ok()) return fail(appliance.error().message);
  firmware::Services services(*appliance.value());
  auto principal = sign_in(services, options.sign_in);
  if (!principal.ok()) return fail(principal.error().message);
  auto record = services.exports.receipt(principal.value(), options.id);
  if (!record.ok()) return fail(record.error().message);
  auto manifest = format::parse_manifest(record.value().manifest);
  if (!manifest.ok())
    return fail("the stored manifest does not parse: " + manifest.error().message);
  if (!options.receipt.empty()) {
    if (auto written = firmware::write_receipt(options.receipt, manifest.value(),
                                               record.value().manifest_sha256);
        !written.ok()) {
      return fail(written.error().message);
    }
  }
  if (options.json_output) {
    json result = manifest_json(manifest.value(), record.value().manifest_sha256);
    result["receipt"] = options.receipt.empty() ? json(nullptr) : json(options.receipt.string());
    std::cout << result.dump(2) << "\n";
    return 0;
  }
  std::printf("%s",
              firmware::receipt_text(manifest.value(), record.value().manifest_sha256).c_str());
  return 0;
}

}  // namespace

std::function<std::optional<int>()> register_export_commands(CLI::App& app) {
  auto options = std::make_shared<ExportOptions>();
  auto* group = app.add_subcommand("export", "police exports (directors; audited)");
  group->require_subcommand(1);

  auto* create = group->add_subcommand(
      "create", "write a signed, encrypted police bundle to a new directory (or stick)");
  add_common(create, *options, true);
  create->add_option("--camera", options->cameras, "camera name(s), comma-separated")->required();
  create->add_option("--from", options->from, "start, ISO-8601 UTC")->required();
  create->add_option("--to", options->to, "end, ISO-8601 UTC")->required();
  // Not required by the command line on purpose: the export service refuses a missing case or
  // legal basis itself, so that the attempt is audited.
  create->add_option("--case", options->case_reference, "the police case reference");
  create->add_option("--legal-basis", options->legal_basis,
                     "reference of the official demand (e.g. the vordering number)");
  create->add_option("--recipient", options->recipient, "the authority and officer receiving it");
  create->add_option("--requested-by", options->requested_by,
                     "who made the demand (default: the recipient)");
  create
      ->add_option("--out", options->out,
                   "the bundle directory to create ([A-Za-z0-9._-] name; must not exist); with "
                   "--media, its name on the stick")
      ->required();
  create->add_option("--media", options->media,
                     "a USB stick from `yardwatch media list` (mounted with `media mount`)");
  create
      ->add_option("--passphrase-file", options->passphrase_file,
                   "file whose first line is the passphrase (12+ characters), handed over "
                   "separately")
      ->required();
  create->add_option("--second-user", options->second_user,
                     "four-eyes: the second authorised person, who types their password (and "
                     "TOTP code) when asked");
  create->add_option("--receipt", options->receipt,
                     "also write the handover receipt (.pdf or .html)");

  auto* receipt = group->add_subcommand("receipt", "print or write an export's handover receipt");
  add_common(receipt, *options, true);
  receipt->add_option("--id", options->id, "the export id")->required();
  receipt->add_option("--out", options->receipt, "write it as .pdf or .html");

  return [options, create, receipt]() -> std::optional<int> {
    if (create->parsed()) return cmd_export_create(*options);
    if (receipt->parsed()) return cmd_export_receipt(*options);
    return std::nullopt;
  };
}

}  // namespace yardwatch::cli
