// hal::Watchdog: the real libsystemd sd_notify against a fake NOTIFY_SOCKET (the datagrams
// systemd would read), and the simulated twin.

#include "yardwatch/hal/watchdog.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "notify_socket.h"
#include "test_support.h"

using namespace yardwatch::hal;
using namespace yardwatch::testing;
using namespace std::chrono_literals;

TEST_CASE("SystemdWatchdog sends READY, WATCHDOG, STATUS and STOPPING over NOTIFY_SOCKET",
          "[hal][watchdog]") {
  TempDir work("yw-notify");
  NotifySocket socket(work / "notify");
  ::setenv("NOTIFY_SOCKET", socket.path().c_str(), 1);
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  SystemdWatchdog watchdog;
  CHECK(watchdog.interval_us() == 1'500'000);
  watchdog.ready();
  watchdog.feed();
  watchdog.feed();
  watchdog.status("recording 2 cameras\nWATCHDOG=1");  // a newline cannot smuggle a command
  watchdog.stopping();
  REQUIRE(wait_until([&] { return socket.count("STOPPING=1") == 1; }, 5s));
  CHECK(socket.count("READY=1") == 1);
  CHECK(socket.count("WATCHDOG=1") == 2);
  CHECK(socket.last_status() == "recording 2 cameras WATCHDOG=1");
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

TEST_CASE("SystemdWatchdog outside systemd: no watchdog armed, messages are harmless no-ops",
          "[hal][watchdog]") {
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  SystemdWatchdog watchdog;
  CHECK(watchdog.interval_us() == 0);
  watchdog.ready();
  watchdog.feed();
  // A watchdog armed for another process (WATCHDOG_PID) is not ours.
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  ::setenv("WATCHDOG_PID", "1", 1);
  CHECK(SystemdWatchdog().interval_us() == 0);
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

TEST_CASE("SimulatedWatchdog records the messages in order", "[hal][watchdog]") {
  SimulatedWatchdog watchdog(1'000'000);
  watchdog.ready();
  watchdog.feed();
  watchdog.status("ok");
  CHECK(watchdog.messages() == std::vector<std::string>{"READY=1", "WATCHDOG=1", "STATUS=ok"});
  CHECK(watchdog.count("WATCHDOG=1") == 1);
  CHECK(watchdog.interval_us() == 1'000'000);
  watchdog.clear();
  CHECK(watchdog.messages().empty());
}
