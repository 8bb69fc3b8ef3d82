#include "report_commands.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "appliance_commands.h"
#include "console_session.h"
#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/services.h"

namespace yardwatch::cli {

namespace {

namespace fs = std::filesystem;

struct Options {
  firmware::ApplianceArguments arguments;
  bool json_output = false;
  SignInOptions sign_in;
  fs::path out;
  std::string format;
  std::string language = "nl";
  std::string month;
  std::string camera;
  fs::path image;
  bool remove = false;
  std::optional<std::string> purpose;
  std::optional<std::string> placement;
};

void add_common(CLI::App* command, Options& options) {
  add_appliance_options(command, options.arguments);
}

void add_sign_in(CLI::App* command, Options& options, bool required) {
  add_sign_in_options(command, options.sign_in, required,
                      required ? "your personal account (a director)"
                               : "your personal account (director or privacy "
                                 "officer); without it: the console, audited as such");
}

// Opens the appliance as the service user, signs the person in when --user is given, and runs
// the body with the services (the board set for the kwaliteitskaart; console_session.h).
int with_services(const Options& options,
                  const std::function<int(firmware::Services&, const firmware::Principal*)>& body) {
  return with_session(options.arguments, options.sign_in, SignInWhen::kWhenUserGiven,
                      [&](ConsoleSession& session) {
                        session.services.kwaliteitskaart.set_board(session.resolved.options.board);
                        return body(session.services, session.principal);
                      });
}

// html or pdf from --format, else from the file's extension.
Result<std::string> format_for(const Options& options, bool allow_json) {
  std::string format = options.format;
  if (format.empty()) {
    const std::string extension = options.out.extension().string();
    if (extension == ".html" || extension == ".htm") format = "html";
    if (extension == ".pdf") format = "pdf";
    if (extension == ".json" && allow_json) format = "json";
  }
  if (format.empty()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "say which format: --format html|pdf" +
                          std::string(allow_json ? "|json" : "") +
                          ", or an --out file ending in .html or .pdf");
  }
  return format;
}

// Written beside the target and renamed into place: a reader never sees half a report.
Status write_report(const fs::path& path, const std::string& body) {
  const fs::path partial = path.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(partial, ignored);
      return make_error(ErrorKind::kUnavailable, "cannot write " + path.string());
    }
  }
  std::error_code error;
  fs::rename(partial, path, error);
  if (error) return make_error(ErrorKind::kUnavailable, "cannot write " + path.string());
  return {};
}

int cmd_kwaliteitskaart(const Options& options) {
  auto format = format_for(options, false);
  if (!format.ok()) return fail(format.error());
  return with_services(options, [&](firmware::Services& services, const firmware::Principal* who) {
    auto report = services.kwaliteitskaart.download(who, format.value(), options.language);
    if (!report.ok()) return fail(report.error());
    if (auto written = write_report(options.out, report.value().body); !written.ok()) {
      return fail(written.error());
    }
    std::printf("kwaliteitskaart (%s, %s) written to %s\n", format.value().c_str(),
                options.language.c_str(), options.out.c_str());
    return 0;
  });
}

int cmd_access_review(const Options& options) {
  std::string format = options.json_output ? "json" : "";
  if (format.empty()) {
    if (options.out.empty() && options.format.empty()) {
      format = "html";  // to stdout without --out
    } else {
      auto chosen = format_for(options, true);
      if (!chosen.ok()) return fail(chosen.error());
      format = chosen.value();
    }
  }
  return with_services(options, [&](firmware::Services& services, const firmware::Principal* who) {
    auto report = services.access_review.download(who, options.month, format, options.language);
    if (!report.ok()) return fail(report.error());
    if (options.out.empty()) {
      if (format == "pdf") {
        return fail(Error{ErrorKind::kInvalidArgument, "a PDF needs --out FILE"});
      }
      std::fwrite(report.value().body.data(), 1, report.value().body.size(), stdout);
      return 0;
    }
    if (auto written = write_report(options.out, report.value().body); !written.ok()) {
      return fail(written.error());
    }
    if (!options.json_output) {
      std::printf("access review %s (%s) written to %s\n", options.month.c_str(), format.c_str(),
                  options.out.c_str());
    }
    return 0;
  });
}

int cmd_describe(const Options& options) {
  if (!options.purpose && !options.placement) {
    return fail(Error{ErrorKind::kInvalidArgument, "give --purpose, --placement or both"});
  }
  return with_services(options, [&](firmware::Services& services, const firmware::Principal* who) {
    auto done = services.kwaliteitskaart.describe_camera(*who, options.camera, options.purpose,
                                                         options.placement);
    if (!done.ok()) return fail(done.error());
    std::printf("camera %s described\n", options.camera.c_str());
    return 0;
  });
}

int cmd_still(const Options& options) {
  if (options.remove == !options.image.empty()) {
    return fail(Error{ErrorKind::kInvalidArgument, "give either --image FILE.jpg or --remove"});
  }
  std::vector<uint8_t> jpeg;
  if (!options.remove) {
    std::error_code error;
    const auto size = fs::file_size(options.image, error);
    if (error) return fail(Error{ErrorKind::kNotFound, "cannot read " + options.image.string()});
    if (size > firmware::kMaxStillBytes) {
      return fail(Error{ErrorKind::kInvalidArgument, "the still is larger than 1 MiB"});
    }
    std::ifstream in(options.image, std::ios::binary);
    jpeg.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return with_services(options, [&](firmware::Services& services, const firmware::Principal* who) {
    auto done = options.remove ? services.kwaliteitskaart.remove_still(*who, options.camera)
                               : services.kwaliteitskaart.attach_still(*who, options.camera, jpeg);
    if (!done.ok()) return fail(done.error());
    std::printf("camera %s: still %s\n", options.camera.c_str(),
                options.remove ? "removed" : "attached");
    return 0;
  });
}

}  // namespace

ReportCommandRunner register_report_commands(CLI::App& app) {
  auto options = std::make_shared<Options>();
  Options& o = *options;
  auto* report = app.add_subcommand("report",
                                    "compliance reports: the kwaliteitskaart (R9), the access "
                                    "review (directors, privacy officers; audited)");
  report->require_subcommand(1);

  auto* card = report->add_subcommand("kwaliteitskaart",
                                      "the quality card, generated from the live configuration");
  add_common(card, o);
  add_sign_in(card, o, false);
  card->add_option("--out", o.out, "file to write (.html or .pdf)")->required();
  card->add_option("--format", o.format, "html or pdf (default: from the file's extension)");
  card->add_option("--lang", o.language, "nl (default) or en")->capture_default_str();

  auto* review = report->add_subcommand("access-review", "the monthly access review");
  add_common(review, o);
  add_sign_in(review, o, false);
  review->add_option("--month", o.month, "YYYY-MM (UTC)")->required();
  review->add_flag("--json", o.json_output, "the review as JSON (see tools/cli/README.md)");
  review->add_option("--out", o.out, "file to write (.html, .pdf or .json; default: stdout)");
  review->add_option("--format", o.format, "html, pdf or json");
  review->add_option("--lang", o.language, "nl (default) or en")->capture_default_str();

  // The card's camera descriptions belong with the camera commands; the issue spells them
  // `yardwatch cameras …`, the house `camera …`: both work.
  CLI::App* camera = app.get_subcommand("camera");
  camera->alias("cameras");
  auto* describe = camera->add_subcommand(
      "describe", "purpose and placement of a camera for the kwaliteitskaart (directors)");
  add_common(describe, o);
  add_sign_in(describe, o, true);
  describe->add_option("name", o.camera, "camera name")->required();
  describe->add_option("--purpose", o.purpose, "why it films (at most 500 characters)");
  describe->add_option("--placement", o.placement, "how it is mounted, what it sees");

  auto* still = camera->add_subcommand(
      "still", "attach or remove the camera's still on the kwaliteitskaart (directors)");
  add_common(still, o);
  add_sign_in(still, o, true);
  still->add_option("name", o.camera, "camera name")->required();
  still->add_option("--image", o.image, "a JPEG of at most 1 MiB and 4096 pixels a side");
  still->add_flag("--remove", o.remove, "remove the attached still");

  return [=]() -> std::optional<int> {
    const Options& opts = *options;
    if (card->parsed()) return cmd_kwaliteitskaart(opts);
    if (review->parsed()) return cmd_access_review(opts);
    if (describe->parsed()) return cmd_describe(opts);
    if (still->parsed()) return cmd_still(opts);
    return std::nullopt;
  };
}

}  // namespace yardwatch::cli
