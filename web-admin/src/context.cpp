#include "context.h"

#include <httplib.h>

#include <charconv>

#include "yardwatch/hal/clock.h"

namespace yardwatch::web_admin {

namespace {

// Thrown only inside parse_body's callback and caught right there.
struct TooDeep {};

}  // namespace

Reply json_reply(int status, const json& body) {
  Reply reply;
  reply.status = status;
  reply.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return reply;
}

Reply error_reply(int status, const std::string& code, const std::string& message) {
  return json_reply(status, json{{"error", {{"code", code}, {"message", message}}}});
}

Reply error_reply(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kPermissionDenied:
      return error_reply(403, "forbidden", error.message);
    case ErrorKind::kNotFound:
      return error_reply(404, "not_found", error.message);
    case ErrorKind::kInvalidArgument:
      return error_reply(400, "invalid", error.message);
    case ErrorKind::kAlreadyExists:
      return error_reply(409, "exists", error.message);
    case ErrorKind::kFailedPrecondition:
      return error_reply(409, "precondition", error.message);
    case ErrorKind::kResourceExhausted:
      return error_reply(503, "exhausted", error.message);
    case ErrorKind::kUnavailable:
      return error_reply(503, "unavailable", error.message);
    case ErrorKind::kDataLoss:
      return error_reply(500, "data_loss",
                         "stored data failed its integrity check; the appliance raised an alarm");
    case ErrorKind::kInternal:
      break;
  }
  return error_reply(500, "internal", "internal error");
}

Reply bytes_reply(const std::string& content_type, std::string body) {
  Reply reply;
  reply.content_type = content_type;
  reply.body = std::move(body);
  return reply;
}

Result<json> parse_body(const Request& request) {
  const auto& content_type = request.http.get_header_value("Content-Type");
  if (content_type.rfind("application/json", 0) != 0) {
    return make_error(ErrorKind::kInvalidArgument, "the body must be application/json");
  }
  json parsed;
  try {
    parsed = json::parse(
        request.http.body,
        [](int depth, json::parse_event_t, json&) {
          if (depth > kMaxJsonDepth) throw TooDeep{};
          return true;
        },
        /*allow_exceptions=*/true);
  } catch (const TooDeep&) {
    return make_error(ErrorKind::kInvalidArgument, "the JSON body is nested too deeply");
  } catch (const json::exception&) {
    return make_error(ErrorKind::kInvalidArgument, "the body is not valid JSON");
  }
  if (!parsed.is_object()) {
    return make_error(ErrorKind::kInvalidArgument, "the body must be a JSON object");
  }
  return parsed;
}

Result<std::string> string_field(const json& body, const std::string& name, size_t max_length,
                                 bool required) {
  auto found = body.find(name);
  if (found == body.end() || found->is_null()) {
    if (!required) return std::string();
    return make_error(ErrorKind::kInvalidArgument, "'" + name + "' is required");
  }
  if (!found->is_string()) {
    return make_error(ErrorKind::kInvalidArgument, "'" + name + "' must be a string");
  }
  const auto& text = found->get_ref<const std::string&>();
  if (text.size() > max_length) {
    return make_error(ErrorKind::kInvalidArgument,
                      "'" + name + "' is longer than " + std::to_string(max_length) + " bytes");
  }
  if (text.find('\0') != std::string::npos) {
    return make_error(ErrorKind::kInvalidArgument, "'" + name + "' holds a NUL character");
  }
  return text;
}

Result<int64_t> int_field(const json& body, const std::string& name) {
  auto found = body.find(name);
  if (found == body.end() || !found->is_number_integer()) {
    return make_error(ErrorKind::kInvalidArgument, "'" + name + "' must be an integer");
  }
  return found->get<int64_t>();
}

Result<int64_t> time_field(const json& body, const std::string& name) {
  YW_ASSIGN_OR_RETURN(std::string text, string_field(body, name, 40));
  auto parsed = hal::parse_iso8601_utc_us(text);
  if (!parsed.ok()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "'" + name + "' must be an ISO-8601 UTC time such as 2026-11-25T10:00:00Z");
  }
  return parsed;
}

Result<int64_t> id_param(const std::string& text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value <= 0) {
    return make_error(ErrorKind::kInvalidArgument, "not a valid id");
  }
  return value;
}

Result<int64_t> time_query(const Request& request, const std::string& name) {
  auto text = request.query(name);
  if (!text || text->size() > 40) {
    return make_error(ErrorKind::kInvalidArgument,
                      "'" + name + "' must be given once, as an ISO-8601 UTC time");
  }
  auto parsed = hal::parse_iso8601_utc_us(*text);
  if (!parsed.ok()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "'" + name + "' must be an ISO-8601 UTC time such as 2026-11-25T10:00:00Z");
  }
  return parsed;
}

std::string iso(int64_t utc_us) { return hal::format_iso8601_utc(utc_us); }

json optional_time(const std::optional<int64_t>& utc_us) {
  return utc_us ? json(iso(*utc_us)) : json(nullptr);
}

}  // namespace yardwatch::web_admin
