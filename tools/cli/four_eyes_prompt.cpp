#include "four_eyes_prompt.h"

#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "console_session.h"

namespace yardwatch::cli {

namespace {

// Echo off on the terminal for the duration of one line, restored even on failure.
std::string read_hidden_line(const char* prompt) {
  std::fprintf(stderr, "%s", prompt);
  std::fflush(stderr);
  termios saved{};
  const bool terminal = ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (terminal) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    (void)::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line = read_stdin_line();
  if (terminal) {
    (void)::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fprintf(stderr, "\n");
  }
  return line;
}

struct Wiped {
  firmware::Credentials credentials;
  ~Wiped() {
    sodium_memzero(credentials.password.data(), credentials.password.size());
    sodium_memzero(credentials.totp_code.data(), credentials.totp_code.size());
  }
};

}  // namespace

Result<firmware::FourEyesApproval> approve_second_person(firmware::FourEyesService& four_eyes,
                                                         const firmware::Principal& first,
                                                         const std::string& second_user,
                                                         const std::set<int64_t>& camera_ids,
                                                         const firmware::AuditEvent& attempted) {
  Wiped second;
  second.credentials.name = second_user;
  second.credentials.client_address = "console";
  if (::isatty(STDIN_FILENO) != 0) {
    std::fprintf(stderr, "four-eyes: %s approves as the second person\n", second_user.c_str());
    second.credentials.password = read_hidden_line("password of the second person: ");
    second.credentials.totp_code =
        read_hidden_line("their authenticator code (empty if they have none): ");
  } else {
    second.credentials.password = read_stdin_line();
    second.credentials.totp_code = read_stdin_line();
  }
  return four_eyes.approve(first, second.credentials, camera_ids, attempted);
}

}  // namespace yardwatch::cli
