#pragma once
// The dynamic batcher of one loaded model version (internal to the inference module).
//
// Requests wait in three priority queues. Each model instance has a thread that takes the oldest
// request of the highest priority, then keeps collecting compatible requests (same input shapes
// apart from the batch dimension) until the batch is full, reaches a preferred size, or the first
// request has waited max_queue_delay. Requests whose deadline passed are answered deadline_exceeded
// and never computed. One model call per batch; its outputs are split back per request.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "inference/inference.h"

namespace c19ai::metrics {
class Counter;
class Histogram;
}  // namespace c19ai::metrics

namespace c19ai::inference::internal {

struct WorkItem {
  PredictInput input;
  Priority priority = Priority::kNormal;
  int64_t enqueued_us = 0;
  int64_t deadline_us = 0;
  std::string shape_key;  // requests batch together only with the same key
  std::function<void(Result<PredictResult>)> done;
};

struct BatcherMetrics {
  metrics::Histogram* queue_seconds = nullptr;
  metrics::Histogram* compute_seconds = nullptr;
  metrics::Histogram* batch_size = nullptr;
  metrics::Counter* expired = nullptr;
};

// Runs a batch's completions (the service hands them to a pool so the model thread moves on).
using CompletionExecutor = std::function<void(std::function<void()>)>;

class Batcher {
 public:
  Batcher(BatchingOptions options, std::vector<std::unique_ptr<ml::Model>> instances, BatcherMetrics metrics,
          CompletionExecutor executor);
  ~Batcher();  // Stop()
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // resource_exhausted when the queue is full; unavailable after Stop().
  Status Submit(WorkItem item);
  // Answers queued requests `unavailable` and joins the threads. Idempotent.
  void Stop();
  int64_t queued() const;
  int instances() const { return static_cast<int>(models_.size()); }
  const ml::Model& model() const { return *models_[0]; }
  // The first instance, for calls that bypass the queue (text generation); the model is then called
  // from the caller's thread, which ml::Model's contract allows.
  ml::Model& direct_model() { return *models_[0]; }

  // The key of a request's shapes (dimensions after the first, per tensor; rows: column count).
  static std::string ShapeKey(const PredictInput& input);

 private:
  void Run(size_t instance);
  // Takes the next batch (under the lock); empty when stopping.
  std::vector<WorkItem> TakeBatch(std::unique_lock<std::mutex>& lock);
  void Execute(ml::Model& model, std::vector<WorkItem> batch);

  BatchingOptions o_;
  std::vector<std::unique_ptr<ml::Model>> models_;
  BatcherMetrics metrics_;
  CompletionExecutor executor_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WorkItem> queues_[3];
  int64_t queued_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Concatenates the inputs of several requests along the batch dimension (tensors) or appends their
// rows; SplitOutput cuts a batched output back into per-request pieces.
PredictInput Concatenate(const std::vector<const PredictInput*>& inputs);
Result<std::vector<ml::PredictOutput>> SplitOutput(const ml::PredictOutput& out, const std::vector<int64_t>& rows);

}  // namespace c19ai::inference::internal
