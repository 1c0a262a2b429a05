#pragma once
// Shared by the queue backends (internal to the queue module).

#include <string_view>

#include "common/result.h"

namespace c19ai::queue {

// invalid_argument unless 1-128 characters of letters, digits, '.', '_' or '-'.
Status ValidateTopic(std::string_view topic);

}  // namespace c19ai::queue
