// How long one sign-in's password check costs (Argon2id with the firmware's limits).
// Usage: bench_password [rounds]   — prints the mean hash and verify time in ms.

#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "yardwatch/firmware/accounts.h"

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 10;
  const std::string password = "a-reasonable-passphrase";
  std::string hash;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i) {
    auto hashed = yardwatch::firmware::hash_password(password);
    if (!hashed.ok()) return 1;
    hash = hashed.value();
  }
  const double hash_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
      rounds;
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i) {
    if (crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) != 0) return 1;
  }
  const double verify_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
      rounds;
  std::printf("argon2id m=%zu MiB t=%llu: hash %.0f ms, verify %.0f ms (mean of %d)\n",
              yardwatch::firmware::kPasswordMemLimit >> 20, yardwatch::firmware::kPasswordOpsLimit,
              hash_ms, verify_ms, rounds);
  return 0;
}
