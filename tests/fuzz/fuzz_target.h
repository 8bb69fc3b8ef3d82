#pragma once

// What every fuzz target in tests/fuzz/ provides: the libFuzzer entry point, which feeds one
// input to a real production parser, and the seeds that can only be made at run time (real
// encrypted segment files, signed exports) by the production writers. fuzz_replay_main.cpp
// links with one target for the regression mode of the normal build; libFuzzer (YW_FUZZ=ON)
// links with the same target for real fuzzing.

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace yardwatch::fuzz {

using Input = std::vector<uint8_t>;

// Valid inputs written by the production code paths (may be empty: then the committed corpus
// under tests/fuzz/corpus/<target>/ is the only seed).
std::vector<Input> generated_seeds();

}  // namespace yardwatch::fuzz
