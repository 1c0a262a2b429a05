#pragma once
// Inference over HTTP (target c19ai_inference_http): predict (native JSON), deployments, and the Open
// Inference Protocol (KServe V2 / Triton REST) under /v2.

#include <cstdint>

#include "http/http.h"
#include "inference/batch.h"
#include "inference/inference.h"
#include "inference/search.h"

namespace c19ai {
class ThreadPool;
}
namespace c19ai::registry {
class Registry;
}

namespace c19ai::inference {

struct RouteOptions {
  int64_t max_request_bytes = 16 << 20;
  DeploymentSpec defaults;  // options of POST .../deploy when the body leaves them out
};

// `pool` parses large request bodies off the io threads.
Status RegisterRoutes(http::Router& router, InferenceService& service, registry::Registry& registry,
                      ThreadPool& pool, const RouteOptions& options);

// Batch prediction jobs: submit, list, get, cancel, download the result.
Status RegisterBatchRoutes(http::Router& router, BatchPredictions& batches);

// Embedding models: POST /api/v1/models/{name}/embed (rows → vectors) and /search (nearest rows of a
// dataset version).
// Both read only (inference:predict); search also needs datasets:read. `pool` parses large bodies.
Status RegisterEmbeddingRoutes(http::Router& router, InferenceService& service, EmbeddingSearch& search,
                               ThreadPool& pool, const RouteOptions& options);

}  // namespace c19ai::inference
