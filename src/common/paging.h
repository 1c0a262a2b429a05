#pragma once
// List pagination of the API: `limit` (default 50, max 1000) and an opaque `page_token`.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace c19ai {

inline constexpr int64_t kDefaultPageSize = 50;
inline constexpr int64_t kMaxPageSize = 1000;

// The token for the page that starts at `offset`.
std::string EncodePageToken(int64_t offset);
// invalid_argument (field "page_token") for a token this server did not make.
Result<int64_t> DecodePageToken(std::string_view token);

}  // namespace c19ai
