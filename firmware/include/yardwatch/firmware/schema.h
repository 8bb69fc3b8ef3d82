#pragma once

// The firmware's tables in the appliance database (accounts, sessions, throttling, TOTP,
// settings, the audit journal). They share the catalog's file so that an effect on footage and
// its audit entry commit in one transaction.

#include <span>

#include "yardwatch/recorder/catalog.h"

namespace yardwatch::firmware {

// Schema steps owned by the firmware (global versions 2, …).
std::span<const recorder::Migration> firmware_migrations();

}  // namespace yardwatch::firmware
