#pragma once

// The directors' HTTPS console: cpp-httplib with OpenSSL, TLS 1.2 and newer only, in the
// daemon's process. Every request goes through one dispatcher: route lookup, body limit,
// Origin and CSRF checks for state changes, the session, the route's declared access, then the
// handler (which calls firmware services), and the security headers on every response.
// An optional plain-HTTP port only redirects to HTTPS; an optional metrics address serves
// `/metrics` without TLS for a local Prometheus.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "yardwatch/firmware/appliance.h"
#include "yardwatch/firmware/services.h"
#include "yardwatch/hal/removable_media.h"
#include "yardwatch/hal/result.h"
#include "yardwatch/web_admin/router.h"

namespace httplib {
class Server;
class SSLServer;
}  // namespace httplib

namespace yardwatch::web_admin {

struct Endpoint {
  std::string host;
  int port = 0;  // 0: any free port (tests)
};

// "ADDR:PORT", "[v6]:PORT" or ":PORT" (all addresses).
Result<Endpoint> parse_endpoint(const std::string& text);

struct ServerOptions {
  Endpoint listen{"0.0.0.0", 8443};
  std::optional<Endpoint> redirect;  // plain HTTP that only redirects
  std::optional<Endpoint> metrics;   // plain HTTP /metrics, bound to a configured address
  std::filesystem::path certificate;
  std::filesystem::path private_key;
  size_t worker_threads = 16;
  size_t max_queued_connections = 64;  // beyond this the acceptor waits (backpressure)
  int read_timeout_s = 5;
  int write_timeout_s = 15;
  int keep_alive_timeout_s = 5;
  size_t max_header_count = 64;
  size_t max_body_bytes = 64 * 1024;  // the largest any route accepts
  // Whether the recorder runs in this process (yardwatchd): status shows it.
  bool recorder_running = true;
  // Retention of a camera added without one (the configuration's retention.default_days; R2
  // caps it at 28).
  int default_retention_days = 28;
  // Where police export bundles may go (USB sticks; on host-sim a directory). None: exports
  // through the web admin are unavailable. Must outlive the server.
  hal::RemovableMedia* media = nullptr;
  // More /metrics from the daemon (recording per camera, the data volume, supervision), in the
  // Prometheus text format; called on a worker thread, so it returns a prepared snapshot.
  std::function<std::string()> daemon_metrics;
};

// Counters for /metrics: no personal data, only numbers.
struct Metrics {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> responses_2xx{0};
  std::atomic<uint64_t> responses_3xx{0};
  std::atomic<uint64_t> responses_4xx{0};
  std::atomic<uint64_t> responses_5xx{0};
  std::atomic<uint64_t> sign_ins_failed{0};
  std::atomic<uint64_t> handler_exceptions{0};
  std::atomic<uint64_t> footage_bytes_served{0};
};

class WebServer {
 public:
  static Result<std::unique_ptr<WebServer>> create(firmware::Appliance& appliance,
                                                   firmware::Services& services,
                                                   const ServerOptions& options);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // Binds every endpoint and starts serving on background threads.
  Status start();
  void stop();
  // Whether every listener it started is still accepting (the supervisor feeds the watchdog only
  // then). A listener whose thread ended — a socket error — makes it unhealthy.
  [[nodiscard]] bool healthy() const;
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] int redirect_port() const { return redirect_port_; }
  [[nodiscard]] int metrics_port() const { return metrics_port_; }
  [[nodiscard]] const Router& router() const { return router_; }
  // Tests only: an extra route (before start()), e.g. one whose handler throws.
  void add_route_for_testing(Route route) { router_.add(std::move(route)); }

 private:
  WebServer(firmware::Appliance& appliance, firmware::Services& services, ServerOptions options);
  void configure(httplib::Server& server);
  Reply dispatch(const httplib::Request& request);
  void count(int status);

  firmware::Appliance& appliance_;
  firmware::Services& services_;
  ServerOptions options_;
  Router router_;
  Metrics metrics_;
  std::string tls_fingerprint_;
  std::unique_ptr<struct WebContext> context_;
  std::unique_ptr<httplib::SSLServer> https_;
  std::unique_ptr<httplib::Server> redirect_;
  std::unique_ptr<httplib::Server> metrics_server_;
  std::thread https_thread_;
  std::thread redirect_thread_;
  std::thread metrics_thread_;
  int port_ = 0;
  int redirect_port_ = 0;
  int metrics_port_ = 0;
};

}  // namespace yardwatch::web_admin
