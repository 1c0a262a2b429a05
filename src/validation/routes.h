#pragma once
// The validation module's HTTP side (target c19ai_validation_http): datasets (streamed upload and
// download), profiles, schemas (and Great Expectations import), validation (inline, queued, and of
// inline records), cleaning, drift and outliers.

#include <cstdint>

#include "http/http.h"
#include "validation/validation.h"

namespace c19ai::validation {

struct RouteOptions {
  int64_t max_upload_bytes = int64_t{8} << 30;
  int64_t max_records_bytes = 16 << 20;  // POST /api/v1/validate bodies
};

Status RegisterRoutes(http::Router& router, DatasetService& service, const RouteOptions& options);

}  // namespace c19ai::validation
