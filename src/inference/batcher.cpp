#include "inference/batcher.h"

#include <algorithm>
#include <numeric>

#include "common/clock.h"
#include "common/metrics.h"

namespace c19ai::inference {

int64_t PredictInput::batch() const {
  if (by_rows) return static_cast<int64_t>(rows.size());
  if (tensors.empty() || tensors[0].shape.empty()) return 1;
  return tensors[0].shape[0];
}

namespace internal {

std::string Batcher::ShapeKey(const PredictInput& input) {
  std::string key;
  if (input.by_rows) return "rows:" + std::to_string(input.rows.empty() ? 0 : input.rows[0].size());
  for (const auto& t : input.tensors) {
    key += std::to_string(static_cast<int>(t.datatype));
    for (size_t d = 1; d < t.shape.size(); ++d) key += "," + std::to_string(t.shape[d]);
    if (t.shape.empty()) key += "s";
    key += ';';
  }
  return key;
}

PredictInput Concatenate(const std::vector<const PredictInput*>& inputs) {
  PredictInput out;
  out.by_rows = inputs[0]->by_rows;
  if (out.by_rows) {
    for (const auto* in : inputs) out.rows.insert(out.rows.end(), in->rows.begin(), in->rows.end());
    return out;
  }
  out.tensors = inputs[0]->tensors;
  for (size_t t = 0; t < out.tensors.size(); ++t) {
    ml::Tensor& dst = out.tensors[t];
    for (size_t i = 1; i < inputs.size(); ++i) {
      const ml::Tensor& src = inputs[i]->tensors[t];
      dst.shape[0] += src.shape[0];
      dst.values.insert(dst.values.end(), src.values.begin(), src.values.end());
      dst.strings.insert(dst.strings.end(), src.strings.begin(), src.strings.end());
    }
  }
  return out;
}

Result<std::vector<ml::PredictOutput>> SplitOutput(const ml::PredictOutput& out, const std::vector<int64_t>& rows) {
  std::vector<ml::PredictOutput> parts(rows.size());
  if (rows.size() == 1) {
    parts[0] = out;
    return parts;
  }
  int64_t total = 0;
  for (int64_t r : rows) total += r;
  for (const auto& t : out.outputs) {
    if (t.shape.empty() || t.shape[0] != total) {
      return Error::Internal("output \"" + t.name + "\" has no batch dimension to split");
    }
    const int64_t per_row = total == 0 ? 0 : t.elements() / total;
    int64_t row = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      ml::Tensor piece{t.name, t.datatype, t.shape, {}, {}};
      piece.shape[0] = rows[i];
      const size_t from = static_cast<size_t>(row * per_row), n = static_cast<size_t>(rows[i] * per_row);
      if (!t.values.empty()) piece.values.assign(t.values.begin() + from, t.values.begin() + from + n);
      if (!t.strings.empty()) piece.strings.assign(t.strings.begin() + from, t.strings.begin() + from + n);
      parts[i].outputs.push_back(std::move(piece));
      row += rows[i];
    }
  }
  auto split_rows = [&](const auto& all, auto member) {
    if (static_cast<int64_t>(all.size()) != total) return;
    size_t at = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      auto& dst = parts[i].*member;
      dst.assign(all.begin() + at, all.begin() + at + rows[i]);
      at += static_cast<size_t>(rows[i]);
    }
  };
  split_rows(out.labels, &ml::PredictOutput::labels);
  split_rows(out.probabilities, &ml::PredictOutput::probabilities);
  split_rows(out.distances, &ml::PredictOutput::distances);
  return parts;
}

Batcher::Batcher(BatchingOptions options, std::vector<std::unique_ptr<ml::Model>> instances, BatcherMetrics metrics,
                 CompletionExecutor executor)
    : o_(std::move(options)), models_(std::move(instances)), metrics_(metrics), executor_(std::move(executor)) {
  if (!o_.enabled) o_.max_batch_size = 1;
  std::sort(o_.preferred_batch_sizes.begin(), o_.preferred_batch_sizes.end());
  for (size_t i = 0; i < models_.size(); ++i) threads_.emplace_back([this, i] { Run(i); });
}

Batcher::~Batcher() { Stop(); }

Status Batcher::Submit(WorkItem item) {
  std::unique_lock lock(mu_);
  if (stopping_) return Error::Unavailable("the model is being unloaded; retry");
  if (queued_ >= o_.max_queue_size) {
    return Error::ResourceExhausted("the model's queue is full (" + std::to_string(o_.max_queue_size) +
                                    " requests); retry later");
  }
  queues_[static_cast<int>(item.priority)].push_back(std::move(item));
  ++queued_;
  lock.unlock();
  cv_.notify_one();
  return OkStatus();
}

void Batcher::Stop() {
  std::vector<WorkItem> left;
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    for (auto& q : queues_) {
      for (auto& item : q) left.push_back(std::move(item));
      q.clear();
    }
    queued_ = 0;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  for (auto& item : left) item.done(Error::Unavailable("the model was unloaded before this request ran; retry"));
}

int64_t Batcher::queued() const {
  std::lock_guard lock(mu_);
  return queued_;
}

std::vector<WorkItem> Batcher::TakeBatch(std::unique_lock<std::mutex>& lock) {
  for (;;) {
    if (stopping_) return {};
    // Expired requests are answered without being computed.
    const int64_t now = SteadyNowUs();
    std::vector<WorkItem> expired;
    for (auto& q : queues_) {
      for (auto it = q.begin(); it != q.end();) {
        if (it->deadline_us > 0 && it->deadline_us <= now) {
          expired.push_back(std::move(*it));
          it = q.erase(it);
          --queued_;
        } else {
          ++it;
        }
      }
    }
    if (!expired.empty()) {
      lock.unlock();
      for (auto& item : expired) {
        if (metrics_.expired) metrics_.expired->Inc();
        item.done(Error::DeadlineExceeded("the request's deadline passed while it waited in the queue"));
      }
      lock.lock();
      continue;
    }
    const WorkItem* head = nullptr;
    for (auto& q : queues_) {
      if (!q.empty()) {
        head = &q.front();
        break;
      }
    }
    if (!head) {
      cv_.wait(lock);
      continue;
    }
    // Rows available in requests compatible with the head, in priority order.
    const std::string key = head->shape_key;
    int64_t available = 0;
    for (auto& q : queues_) {
      for (auto& item : q) {
        if (item.shape_key == key) available += item.input.batch();
      }
    }
    const int64_t max_rows = o_.max_batch_size;
    int64_t target = max_rows;
    bool ready = available >= max_rows || max_rows <= 1 || o_.max_queue_delay_us <= 0 ||
                 now >= head->enqueued_us + o_.max_queue_delay_us;
    for (auto it = o_.preferred_batch_sizes.rbegin(); it != o_.preferred_batch_sizes.rend(); ++it) {
      if (*it <= available && *it <= max_rows) {
        target = *it;
        ready = true;
        break;
      }
    }
    if (!ready) {
      // Also wake up for the earliest deadline among the waiting.
      int64_t wake = head->enqueued_us + o_.max_queue_delay_us;
      cv_.wait_for(lock, std::chrono::microseconds(std::max<int64_t>(1, wake - now)));
      continue;
    }
    std::vector<WorkItem> batch;
    int64_t rows = 0;
    for (auto& q : queues_) {
      for (auto it = q.begin(); it != q.end();) {
        const int64_t n = it->input.batch();
        if (it->shape_key == key && (batch.empty() || rows + n <= target)) {
          rows += n;
          batch.push_back(std::move(*it));
          it = q.erase(it);
          --queued_;
          if (rows >= target) break;
        } else {
          ++it;
        }
      }
      if (rows >= target) break;
    }
    return batch;
  }
}

void Batcher::Run(size_t instance) {
  ml::Model& model = *models_[instance];
  std::unique_lock lock(mu_);
  for (;;) {
    std::vector<WorkItem> batch = TakeBatch(lock);
    if (batch.empty()) return;
    lock.unlock();
    Execute(model, std::move(batch));
    lock.lock();
  }
}

void Batcher::Execute(ml::Model& model, std::vector<WorkItem> batch) {
  const int64_t start = SteadyNowUs();
  std::vector<const PredictInput*> inputs;
  std::vector<int64_t> rows;
  for (const auto& item : batch) {
    inputs.push_back(&item.input);
    rows.push_back(item.input.batch());
  }
  auto run = [&model](const PredictInput& in) {
    return in.by_rows ? model.PredictRows(in.rows) : model.Predict(in.tensors);
  };
  Result<ml::PredictOutput> out =
      batch.size() == 1 ? run(batch[0].input) : run(Concatenate(inputs));
  const int64_t end = SteadyNowUs();
  Result<std::vector<ml::PredictOutput>> parts = out.ok() ? SplitOutput(*out, rows) : Result<std::vector<ml::PredictOutput>>(out.error());
  if (!parts.ok() && batch.size() > 1) {
    // One request may have spoiled the batch (a value the model refuses), or the outputs cannot be
    // split: run each alone so that only the bad one fails.
    std::vector<Result<ml::PredictOutput>> single;
    for (const auto& item : batch) single.push_back(run(item.input));
    const int64_t single_end = SteadyNowUs();
    auto results = std::make_shared<std::vector<WorkItem>>(std::move(batch));
    auto outs = std::make_shared<std::vector<Result<ml::PredictOutput>>>(std::move(single));
    executor_([results, outs, start, single_end] {
      for (size_t i = 0; i < results->size(); ++i) {
        WorkItem& item = (*results)[i];
        if (!(*outs)[i].ok()) {
          item.done((*outs)[i].error());
          continue;
        }
        PredictResult r;
        r.output = std::move(*(*outs)[i]);
        r.queue_ms = static_cast<double>(start - item.enqueued_us) / 1000.0;
        r.compute_ms = static_cast<double>(single_end - start) / 1000.0;
        item.done(std::move(r));
      }
    });
    return;
  }
  if (metrics_.batch_size) metrics_.batch_size->Observe(static_cast<double>(std::accumulate(rows.begin(), rows.end(), int64_t{0})));
  if (metrics_.compute_seconds) metrics_.compute_seconds->Observe(static_cast<double>(end - start) / 1e6);
  for (const auto& item : batch) {
    if (metrics_.queue_seconds) metrics_.queue_seconds->Observe(static_cast<double>(start - item.enqueued_us) / 1e6);
  }
  auto items = std::make_shared<std::vector<WorkItem>>(std::move(batch));
  auto results = std::make_shared<Result<std::vector<ml::PredictOutput>>>(std::move(parts));
  executor_([items, results, start, end] {
    for (size_t i = 0; i < items->size(); ++i) {
      WorkItem& item = (*items)[i];
      if (!results->ok()) {
        item.done(results->error());
        continue;
      }
      PredictResult r;
      r.output = std::move((**results)[i]);
      r.queue_ms = static_cast<double>(start - item.enqueued_us) / 1000.0;
      r.compute_ms = static_cast<double>(end - start) / 1000.0;
      item.done(std::move(r));
    }
  });
}

}  // namespace internal
}  // namespace c19ai::inference
