// The regression mode of the fuzz targets (tests/README.md, fuzz/): without clang or libFuzzer,
// runs one target over its seeds (the committed corpus and the seeds the production writers
// make at run time) and then over a fixed number of deterministic mutations of them: byte flips,
// truncations, insertions, duplications and splices, drawn from a fixed random seed so that a
// failure replays exactly. In the sanitizer build every input runs under ASan and UBSan; a bug
// aborts the process, so the CTest test fails and names the input's number.
//
//   yw_fuzz_replay_<target> [--corpus DIR]... [--mutations N] [--seed S]
//   yw_fuzz_replay_<target> --write-seeds DIR     (the generated seeds, for tools/fuzz)
//   yw_fuzz_replay_<target> FILE...               (replays files, e.g. a libFuzzer crash-*)
// YW_FUZZ_VERBOSE=1 numbers each mutation; YW_FUZZ_LAST=FILE keeps the input being run in FILE
// (after a crash: the one that crashed).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_target.h"

namespace {

namespace fs = std::filesystem;
using yardwatch::fuzz::Input;

Input read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Input(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool write_file(const fs::path& path, const Input& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

// Runs one input on a copy of exactly its size, so ASan sees any read past its end. With
// YW_FUZZ_LAST=FILE set, each input is written there first: after a crash it holds the input.
void run(const Input& input) {
  if (const char* last = std::getenv("YW_FUZZ_LAST"); last != nullptr) write_file(last, input);
  auto copy = std::make_unique<uint8_t[]>(std::max<size_t>(input.size(), 1));
  std::copy(input.begin(), input.end(), copy.get());
  LLVMFuzzerTestOneInput(copy.get(), input.size());
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : random_(seed) {}

  Input mutate(const std::vector<Input>& seeds) {
    Input input = seeds[pick(seeds.size())];
    const size_t rounds = 1 + pick(4);
    for (size_t i = 0; i < rounds; ++i) mutate_once(input, seeds);
    return input;
  }

 private:
  size_t pick(size_t below) {
    return below == 0 ? 0 : std::uniform_int_distribution<size_t>(0, below - 1)(random_);
  }
  uint8_t byte() { return static_cast<uint8_t>(pick(256)); }
  // An interesting byte: one of the text formats' delimiters, a boundary value or a random one.
  uint8_t interesting_byte() {
    static constexpr std::string_view kSpecial = "{}[]\",:=\\\n\r\t 0-.#'eE\x00\x7f\x80\xff";
    if (pick(2) == 0) return static_cast<uint8_t>(kSpecial[pick(kSpecial.size())]);
    return byte();
  }

  void mutate_once(Input& input, const std::vector<Input>& seeds) {
    switch (pick(7)) {
      case 0:  // flip one bit
        if (!input.empty()) input[pick(input.size())] ^= static_cast<uint8_t>(1u << pick(8));
        break;
      case 1:  // overwrite a byte
        if (!input.empty()) input[pick(input.size())] = interesting_byte();
        break;
      case 2:  // truncate
        input.resize(pick(input.size() + 1));
        break;
      case 3: {  // insert a few bytes
        const size_t at = pick(input.size() + 1);
        const size_t count = 1 + pick(8);
        Input bytes(count);
        for (auto& b : bytes) b = interesting_byte();
        input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), bytes.begin(), bytes.end());
        break;
      }
      case 4: {  // erase a range
        if (input.empty()) break;
        const size_t at = pick(input.size());
        const size_t count = 1 + pick(std::min<size_t>(input.size() - at, 64));
        input.erase(input.begin() + static_cast<std::ptrdiff_t>(at),
                    input.begin() + static_cast<std::ptrdiff_t>(at + count));
        break;
      }
      case 5: {  // duplicate a range in place (repeated keys, deeper nesting, longer lists)
        if (input.empty() || input.size() > (size_t{1} << 20)) break;
        const size_t at = pick(input.size());
        const size_t count = 1 + pick(std::min<size_t>(input.size() - at, 256));
        const Input range(input.begin() + static_cast<std::ptrdiff_t>(at),
                          input.begin() + static_cast<std::ptrdiff_t>(at + count));
        const size_t times = 1 + pick(16);
        for (size_t i = 0; i < times; ++i) {
          input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), range.begin(), range.end());
        }
        break;
      }
      default: {  // splice: our head, another seed's tail
        const Input& other = seeds[pick(seeds.size())];
        const size_t head = pick(input.size() + 1);
        const size_t tail = pick(other.size() + 1);
        input.resize(head);
        input.insert(input.end(), other.begin() + static_cast<std::ptrdiff_t>(tail), other.end());
        break;
      }
    }
  }

  std::mt19937_64 random_;
};

int usage() {
  std::fprintf(stderr,
               "usage: fuzz replay [--corpus DIR]... [--mutations N] [--seed S] | --write-seeds "
               "DIR | FILE...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> corpus_dirs;
  std::vector<fs::path> files;
  std::optional<fs::path> write_seeds;
  uint64_t mutations = 2000;
  uint64_t seed = 20261201;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--corpus" && has_value) {
      corpus_dirs.emplace_back(argv[++i]);
    } else if (arg == "--mutations" && has_value) {
      mutations = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--seed" && has_value) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--write-seeds" && has_value) {
      write_seeds = argv[++i];
    } else if (arg.starts_with("-")) {
      return usage();
    } else {
      files.emplace_back(arg);
    }
  }

  std::vector<Input> seeds = yardwatch::fuzz::generated_seeds();
  if (write_seeds) {
    std::error_code error;
    fs::create_directories(*write_seeds, error);
    for (size_t i = 0; i < seeds.size(); ++i) {
      if (!write_file(*write_seeds / ("generated-" + std::to_string(i)), seeds[i])) {
        std::fprintf(stderr, "cannot write seeds to %s\n", write_seeds->c_str());
        return 1;
      }
    }
    std::fprintf(stderr, "wrote %zu generated seeds to %s\n", seeds.size(), write_seeds->c_str());
    return 0;
  }
  if (!files.empty()) {
    for (const auto& file : files) {
      std::fprintf(stderr, "replaying %s\n", file.c_str());
      run(read_file(file));
    }
    return 0;
  }

  const size_t generated = seeds.size();
  for (const auto& dir : corpus_dirs) {
    std::error_code error;
    std::vector<fs::path> paths;
    for (const auto& entry : fs::directory_iterator(dir, error)) {
      if (entry.is_regular_file()) paths.push_back(entry.path());
    }
    if (error) {
      std::fprintf(stderr, "cannot read the corpus %s: %s\n", dir.c_str(), error.message().c_str());
      return 1;
    }
    std::sort(paths.begin(), paths.end());  // the order, and so the mutations, are fixed
    for (const auto& path : paths) seeds.push_back(read_file(path));
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "no seeds: neither generated nor in a corpus directory\n");
    return 1;
  }
  std::fprintf(stderr, "%zu seeds (%zu generated), %llu mutations, seed %llu\n", seeds.size(),
               generated, static_cast<unsigned long long>(mutations),
               static_cast<unsigned long long>(seed));
  for (const auto& input : seeds) run(input);
  Mutator mutator(seed);
  for (uint64_t i = 0; i < mutations; ++i) {
    const Input input = mutator.mutate(seeds);
    if (std::getenv("YW_FUZZ_VERBOSE") != nullptr) {
      std::fprintf(stderr, "mutation %llu: %zu bytes\n", static_cast<unsigned long long>(i),
                   input.size());
    }
    run(input);
  }
  std::fprintf(stderr, "all %zu seeds and %llu mutations ran to completion\n", seeds.size(),
               static_cast<unsigned long long>(mutations));
  return 0;
}
