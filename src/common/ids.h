#pragma once
// Opaque identifiers: UUIDv7 (time-ordered, 74 random bits) as 36-character lower-case strings.
// Not secrets: tokens and keys use a cryptographic generator (auth module).

#include <cstdint>
#include <string>
#include <string_view>

namespace c19ai {

std::string NewId();                      // UUIDv7 at the current time
std::string NewIdAt(int64_t ms_since_epoch);
bool LooksLikeId(std::string_view text);  // 8-4-4-4-12 hex
// A short random id for requests ("r-" + 16 hex characters).
std::string NewRequestId();

}  // namespace c19ai
