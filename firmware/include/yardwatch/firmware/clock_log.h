#pragma once

// The log of the clock's synchronisation state. yardwatchd records every change (and the state
// at start-up); a police export states, for each file, whether the clock was synchronised while
// the footage was recorded, because a court weighs the time stamps by it.

#include <cstdint>
#include <string>

#include "yardwatch/hal/clock.h"
#include "yardwatch/hal/result.h"
#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

// Appends the clock's current state if it differs from the last one logged. Returns whether
// a row was added.
Result<bool> record_clock_state(recorder::Catalog& catalog, const hal::Clock& clock);

// The state over [from, to): "synchronised" if every logged state in force then was
// synchronised, "unsynchronised" if any was, "unknown" if nothing was logged for (part of) it.
Result<std::string> clock_state_during(recorder::Catalog& catalog, int64_t from_utc_us,
                                       int64_t to_utc_us);

}  // namespace yardwatch::firmware
