#pragma once
// JSON request and response bodies of inference: the native API and the Open Inference Protocol
// (KServe V2 / Triton REST). Pure functions over the served model's signature.
//
// Native request: {"inputs": rows | {"<input>": rows}, "instances": [row | {"<name>": value}], ...}
//   Tensor models: rows follow the signature's shape after the batch dimension (a flat row for
//   [-1, k]); several inputs by name. Bundles: raw feature rows, in feature order (`inputs`) or by
//   feature name (`instances`).
// Native answer: {"outputs": [per row], "labels", "probabilities", "classes", "distances"} (bundles add
// what their task gives); the route adds model, version, latency_ms and cached.

#include <optional>
#include <string>

#include "common/json.h"
#include "inference/inference.h"

namespace c19ai::inference {

Result<PredictInput> DecodeNative(const Json& body, const ServedModel& model);
Json EncodeNative(const ServedModel& model, const PredictResult& result);

// V2: {"id"?, "parameters"?, "inputs": [{"name", "shape", "datatype", "data", "parameters"?}],
//      "outputs"?: [{"name"}]}; data flat or nested, row-major.
Result<PredictInput> DecodeV2(const Json& body, const ServedModel& model);
// {"model_name", "model_version", "id"?, "outputs": [{"name", "datatype", "shape", "data"}]}; only the
// requested outputs when the request names some (invalid_argument for an unknown name).
Result<Json> EncodeV2(const Json& request, const ServedModel& model, const PredictResult& result);
// Model metadata: {"name", "versions", "platform", "inputs", "outputs"}.
Json V2Metadata(const ServedModel& model);

// Priority and timeout of a request: native `priority` ("high" | "normal" | "low") and `timeout_ms`;
// V2 `parameters.priority` (1 = highest) and `parameters.timeout` (µs).
Result<SubmitOptions> NativeOptions(const Json& body);
Result<SubmitOptions> V2Options(const Json& body);

// Embedding models (bundles with task embedding): a native request's rows (`inputs` | `instances`),
// failed_precondition for any other model; and the answer as one vector per row.
Result<PredictInput> DecodeEmbedding(const Json& body, const ServedModel& model);
Result<std::vector<std::vector<float>>> Embeddings(const PredictResult& result);

}  // namespace c19ai::inference
