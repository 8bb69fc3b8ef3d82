#include "yardwatch/web_admin/server.h"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <vector>

#include "context.h"
#include "yardwatch/firmware/tls_certificate.h"

namespace yardwatch::web_admin {

namespace {

// cpp-httplib's own pool queues without bound. This one holds at most `max_queued` accepted
// connections; beyond that the acceptor waits, so further clients wait in the kernel's listen
// backlog instead of in our memory. (httplib 0.11's TaskQueue::enqueue cannot refuse a task:
// the task owns the socket.) Exceptions never escape a worker.
class BoundedTaskQueue final : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(size_t threads, size_t max_queued) : max_queued_(max_queued) {
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~BoundedTaskQueue() override = default;

  void enqueue(std::function<void()> task) override {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [this] { return tasks_.size() < max_queued_ || shutdown_; });
    tasks_.push_back(std::move(task));
    lock.unlock();
    work_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      shutdown_ = true;
    }
    work_.notify_all();
    room_.notify_all();
    for (auto& worker : workers_) worker.join();
  }

 private:
  void work() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        work_.wait(lock, [this] { return !tasks_.empty() || shutdown_; });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      room_.notify_one();
      try {
        task();
      } catch (...) {
        // The handler layer catches everything; this is the last line (STYLE: nothing escapes
        // a thread).
      }
    }
  }

  size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable room_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> workers_;
  bool shutdown_ = false;
};

const httplib::Headers& security_headers() {
  static const httplib::Headers headers = {
      {"Strict-Transport-Security", "max-age=63072000"},
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
      {"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"},
      {"Cache-Control", "no-store"},
  };
  return headers;
}

std::string cookie_value(const httplib::Request& request, const std::string& name) {
  if (request.get_header_value_count("Cookie") == 0) return "";
  const std::string header = request.get_header_value("Cookie");
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find(';', start);
    if (end == std::string::npos) end = header.size();
    std::string_view pair(header.data() + start, end - start);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const size_t equals = pair.find('=');
    if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
      return std::string(pair.substr(equals + 1));
    }
    start = end + 1;
  }
  return "";
}

bool printable_ascii(const std::string& text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c >= 0x7F) return false;
  }
  return true;
}

// The host the browser asked for: a name, an IPv4 address or a bracketed IPv6 address, with an
// optional port. Anything else is refused (it would end up in a Location header).
bool valid_host(const std::string& host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

bool same_origin(const httplib::Request& request) {
  if (request.get_header_value_count("Origin") != 1 ||
      request.get_header_value_count("Host") != 1) {
    return false;
  }
  const std::string host = request.get_header_value("Host");
  return valid_host(host) && request.get_header_value("Origin") == "https://" + host;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void apply(Reply&& reply, httplib::Response& response) {
  response.status = reply.status;
  for (const auto& [name, value] : reply.headers) {
    response.headers.erase(name);  // a route's own value replaces the default one
    response.set_header(name, value);
  }
  constexpr size_t kCopyLimit = 64 * 1024;
  if (reply.body.size() <= kCopyLimit) {
    response.set_content(reply.body, reply.content_type);
    return;
  }
  // Footage: hand the bytes to the writer without another copy.
  auto body = std::make_shared<std::string>(std::move(reply.body));
  response.set_content_provider(body->size(), reply.content_type,
                                [body](size_t offset, size_t length, httplib::DataSink& sink) {
                                  sink.write(body->data() + offset, length);
                                  return true;
                                });
}

}  // namespace

Result<Endpoint> parse_endpoint(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return make_error(ErrorKind::kInvalidArgument, "expected ADDR:PORT, e.g. 0.0.0.0:8443");
  }
  Endpoint endpoint;
  endpoint.host = text.substr(0, colon);
  if (endpoint.host.size() >= 2 && endpoint.host.front() == '[' && endpoint.host.back() == ']') {
    endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
  }
  if (endpoint.host.empty()) endpoint.host = "0.0.0.0";
  const std::string port = text.substr(colon + 1);
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), endpoint.port);
  if (error != std::errc() || end != port.data() + port.size() || endpoint.port < 0 ||
      endpoint.port > 65535) {
    return make_error(ErrorKind::kInvalidArgument, "'" + port + "' is not a port number");
  }
  return endpoint;
}

WebServer::WebServer(firmware::Appliance& appliance, firmware::Services& services,
                     ServerOptions options)
    : appliance_(appliance), services_(services), options_(std::move(options)) {}

WebServer::~WebServer() { stop(); }

Result<std::unique_ptr<WebServer>> WebServer::create(firmware::Appliance& appliance,
                                                     firmware::Services& services,
                                                     const ServerOptions& options) {
  std::unique_ptr<WebServer> server(new WebServer(appliance, services, options));
  YW_ASSIGN_OR_RETURN(server->tls_fingerprint_,
                      firmware::tls_certificate_fingerprint(options.certificate));
  server->https_ = std::make_unique<httplib::SSLServer>(options.certificate.c_str(),
                                                        options.private_key.c_str());
  if (!server->https_->is_valid()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the web admin's certificate or key could not be loaded (" +
                          options.certificate.string() + ")");
  }
  SSL_CTX* tls = server->https_->ssl_context();
  // TLS 1.2 and newer only; for 1.2, forward-secret AEAD suites only.
  if (SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(tls, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
    return make_error(ErrorKind::kInternal, "could not restrict the TLS versions");
  }
  SSL_CTX_set_options(tls, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);

  server->context_ = std::make_unique<WebContext>(WebContext{
      appliance, services, server->metrics_, server->options_, server->tls_fingerprint_});
  WebContext& context = *server->context_;
  add_asset_routes(server->router_, context);
  add_session_routes(server->router_, context);
  add_status_routes(server->router_, context);
  add_camera_routes(server->router_, context);
  add_viewing_routes(server->router_, context);
  add_account_routes(server->router_, context);
  add_audit_routes(server->router_, context);
  add_export_routes(server->router_, context);
  add_hold_routes(server->router_, context);
  add_request_routes(server->router_, context);
  add_request_footage_routes(server->router_, context);
  add_breach_routes(server->router_, context);
  add_subject_export_routes(server->router_, context);
  add_report_routes(server->router_, context);
  server->configure(*server->https_);
  return server;
}

void WebServer::count(int status) {
  if (status < 300) {
    ++metrics_.responses_2xx;
  } else if (status < 400) {
    ++metrics_.responses_3xx;
  } else if (status < 500) {
    ++metrics_.responses_4xx;
  } else {
    ++metrics_.responses_5xx;
  }
}

void WebServer::configure(httplib::Server& server) {
  server.new_task_queue = [this] {
    return new BoundedTaskQueue(options_.worker_threads, options_.max_queued_connections);
  };
  server.set_read_timeout(options_.read_timeout_s, 0);
  server.set_write_timeout(options_.write_timeout_s, 0);
  server.set_keep_alive_timeout(options_.keep_alive_timeout_s);
  server.set_keep_alive_max_count(1000);
  server.set_payload_max_length(options_.max_body_bytes);
  server.set_default_headers(security_headers());
  server.set_tcp_nodelay(true);
  server.set_exception_handler(
      [this](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
        ++metrics_.handler_exceptions;
        apply(error_reply(500, "internal", "internal error"), response);
      });
  // Before the body is read: too many headers, or a declared body larger than any route takes.
  // A body larger than its route takes but within that bound is read (and bounded) first, and
  // dispatch() answers 413 on a connection that stays usable: answering before reading it and
  // closing would reset the connection with the body unread, and the client would often see
  // only the reset instead of the 413.
  server.set_pre_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        if (request.headers.size() > options_.max_header_count) {
          count(431);
          apply(error_reply(431, "headers", "too many request headers"), response);
          return httplib::Server::HandlerResponse::Handled;
        }
        auto method = parse_method(request.method);
        if (method && request.has_header("Content-Length")) {
          auto match = router_.match(*method, request.path);
          const auto length = request.get_header_value<uint64_t>("Content-Length");
          if (match.route != nullptr && length > match.route->max_body_bytes &&
              length > options_.max_body_bytes) {
            count(413);
            apply(error_reply(413, "too_large", "the request body is too large for this request"),
                  response);
            response.set_header("Connection", "close");
            return httplib::Server::HandlerResponse::Handled;
          }
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });
  auto handle = [this](const httplib::Request& request, httplib::Response& response) {
    Reply reply;
    try {
      reply = dispatch(request);
    } catch (...) {
      ++metrics_.handler_exceptions;
      reply = error_reply(500, "internal", "internal error");
    }
    count(reply.status);
    apply(std::move(reply), response);
  };
  // Every path and method reaches the one dispatcher; httplib's own routing and file serving
  // are never used.
  const std::string everything = ".*";
  server.Get(everything, handle);
  server.Post(everything, handle);
  server.Put(everything, handle);
  server.Delete(everything, handle);
  server.Patch(everything, handle);
  server.Options(everything, handle);
}

Reply WebServer::dispatch(const httplib::Request& http) {
  ++metrics_.requests;
  if (!printable_ascii(http.path) || http.path.empty() || http.path.front() != '/') {
    return error_reply(400, "bad_path", "malformed path");
  }
  const auto method = parse_method(http.method);
  if (!method) return error_reply(405, "method", "method not allowed");
  const auto match = router_.match(*method, http.path);
  if (match.route == nullptr) {
    return match.path_known ? error_reply(405, "method", "method not allowed")
                            : error_reply(404, "not_found", "no such page");
  }
  const Route& route = *match.route;
  if (http.body.size() > route.max_body_bytes) {
    return error_reply(413, "too_large", "the request body is too large for this request");
  }
  Request request{http, match.params, http.remote_addr, std::nullopt, "", ""};
  const bool state_change = changes_state(route.method);
  if (route.access.kind() == Access::Kind::kPublic) {
    if (state_change && !same_origin(http)) {
      return error_reply(403, "origin", "cross-origin request refused");
    }
    return route.handler(request);
  }

  const std::string token = cookie_value(http, kSessionCookie);
  if (token.empty()) return error_reply(401, "signed_out", "please sign in");
  auto session = services_.sessions.validate(token);
  if (!session.ok()) {
    Reply reply = error_reply(401, "signed_out", session.error().message);
    reply.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) +
                                                 "=; Path=/; Secure; HttpOnly; SameSite=Strict; "
                                                 "Max-Age=0");
    return reply;
  }
  auto principal = services_.accounts.principal(session.value().account_id, http.remote_addr);
  if (!principal.ok()) return error_reply(401, "signed_out", "please sign in");
  if (state_change) {
    if (!same_origin(http)) return error_reply(403, "origin", "cross-origin request refused");
    if (http.get_header_value_count("X-CSRF-Token") != 1 ||
        !constant_time_equal(http.get_header_value("X-CSRF-Token"), session.value().csrf_token)) {
      return error_reply(403, "csrf", "missing or wrong CSRF token; reload the page");
    }
  }
  const firmware::Principal& who = principal.value();
  if (route.access.kind() != Access::Kind::kSetup &&
      (who.must_change_password || who.needs_totp_enrolment)) {
    return error_reply(403, "setup_required",
                       who.must_change_password ? "change your temporary password first"
                                                : "set up two-factor sign-in (TOTP) first");
  }
  if (!route.access.allows(who.role)) {
    // The firmware's gate refuses and records the attempt (R6: denied attempts are logged).
    firmware::AuditEvent attempted;
    attempted.action = "http_request";
    attempted.object_type = "route";
    attempted.object_id = std::string(method_name(route.method)) + " " + route.pattern;
    auto refused = firmware::authorize(services_.audit, who, route.access.permissions().front(),
                                       std::nullopt, attempted);
    return error_reply(403, "forbidden",
                       refused.ok() ? "permission denied" : refused.error().message);
  }
  request.principal = std::move(principal).value();
  request.session_token = token;
  request.csrf_token = session.value().csrf_token;
  return route.handler(request);
}

Status WebServer::start() {
  auto bind = [](httplib::Server& server, const Endpoint& endpoint, int& port) -> Status {
    if (endpoint.port == 0) {
      port = server.bind_to_any_port(endpoint.host);
    } else {
      port = server.bind_to_port(endpoint.host, endpoint.port) ? endpoint.port : -1;
    }
    if (port <= 0) {
      return make_error(ErrorKind::kUnavailable, "cannot listen on " + endpoint.host + ":" +
                                                     std::to_string(endpoint.port) +
                                                     " (in use, or not an address of this host)");
    }
    return {};
  };
  YW_TRY(bind(*https_, options_.listen, port_));
  if (options_.redirect) {
    redirect_ = std::make_unique<httplib::Server>();
    redirect_->set_read_timeout(options_.read_timeout_s, 0);
    redirect_->set_payload_max_length(1024);
    redirect_->new_task_queue = [] { return new BoundedTaskQueue(2, 16); };
    redirect_->set_pre_routing_handler(
        [this](const httplib::Request& request, httplib::Response& response) {
          // Only a redirect to the HTTPS console's front page: nothing from the request but the
          // host name is echoed, and that only when it is a plain host name or address.
          std::string host = request.get_header_value("Host");
          if (!host.empty() && host.front() == '[') {
            host = host.substr(0, host.find(']') + 1);
          } else {
            host = host.substr(0, host.find(':'));
          }
          if (!valid_host(host)) {
            response.status = 400;
            response.set_content("bad Host header\n", "text/plain");
            return httplib::Server::HandlerResponse::Handled;
          }
          response.set_redirect("https://" + host + ":" + std::to_string(port_) + "/", 301);
          return httplib::Server::HandlerResponse::Handled;
        });
    YW_TRY(bind(*redirect_, *options_.redirect, redirect_port_));
  }
  if (options_.metrics) {
    metrics_server_ = std::make_unique<httplib::Server>();
    metrics_server_->set_read_timeout(options_.read_timeout_s, 0);
    metrics_server_->set_payload_max_length(1024);
    metrics_server_->new_task_queue = [] { return new BoundedTaskQueue(1, 8); };
    metrics_server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
      try {
        response.set_content(metrics_text(*context_), "text/plain; version=0.0.4");
      } catch (...) {
        response.status = 500;
      }
    });
    YW_TRY(bind(*metrics_server_, *options_.metrics, metrics_port_));
  }
  https_thread_ = std::thread([this] { https_->listen_after_bind(); });
  if (redirect_) redirect_thread_ = std::thread([this] { redirect_->listen_after_bind(); });
  if (metrics_server_) {
    metrics_thread_ = std::thread([this] { metrics_server_->listen_after_bind(); });
  }
  return {};
}

bool WebServer::healthy() const {
  if (https_ && !https_->is_running()) return false;
  if (redirect_ && !redirect_->is_running()) return false;
  if (metrics_server_ && !metrics_server_->is_running()) return false;
  return true;
}

void WebServer::stop() {
  if (https_) https_->stop();
  if (redirect_) redirect_->stop();
  if (metrics_server_) metrics_server_->stop();
  if (https_thread_.joinable()) https_thread_.join();
  if (redirect_thread_.joinable()) redirect_thread_.join();
  if (metrics_thread_.joinable()) metrics_thread_.join();
}

}  // namespace yardwatch::web_admin
