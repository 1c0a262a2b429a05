#pragma once
// The cache module's HTTP side (target c19ai_cache_http): statistics and flushing for operators.

#include "cache/cache.h"
#include "http/http.h"

namespace c19ai::cache {

Status RegisterRoutes(http::Router& router, Cache& cache);

}  // namespace c19ai::cache
