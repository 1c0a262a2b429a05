#pragma once
// The registry's HTTP side (target c19ai_registry_http): models, versions (multipart upload, streamed
// download), stages, rollback, aliases, transitions, verification, statistics and retention.

#include <cstdint>

#include "http/http.h"
#include "registry/registry.h"

namespace c19ai::registry {

struct RouteOptions {
  int64_t max_artifact_bytes = int64_t{4} << 30;
};

Status RegisterRoutes(http::Router& router, Registry& registry, const RouteOptions& options);

}  // namespace c19ai::registry
