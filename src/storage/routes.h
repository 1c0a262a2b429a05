#pragma once
// The storage module's HTTP side (target c19ai_storage_http): the files API, which reaches only the
// files/ namespace, storage statistics and replication.

#include <cstdint>

#include "common/clock.h"
#include "http/http.h"
#include "storage/storage.h"

namespace c19ai::storage {

struct RouteOptions {
  int64_t max_file_size = int64_t{64} << 30;
  const Clock* clock = &Clock::System();
};

Status RegisterRoutes(http::Router& router, StorageService& storage, const RouteOptions& options);

}  // namespace c19ai::storage
