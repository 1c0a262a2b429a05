// The dynamic batcher with a model that records every call: batching, preferred sizes, priorities,
// deadlines, the queue bound, splitting, and a bad request inside a batch.

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "inference/batcher.h"

namespace c19ai::inference::internal {
namespace {

// y = 2x on [-1, 2] float rows; refuses negative values; may sleep; records batch sizes and the
// first value of every row it computed.
class RecordingModel final : public ml::Model {
 public:
  explicit RecordingModel(int64_t sleep_ms = 0) : sleep_ms_(sleep_ms) {
    sig_.inputs.push_back({"x", ml::DataType::kFp32, {-1, -1}});
    sig_.outputs.push_back({"y", ml::DataType::kFp32, {-1, -1}});
  }
  ml::Framework framework() const override { return ml::Framework::kCustom; }
  const ml::Signature& signature() const override { return sig_; }
  int64_t MemoryBytes() const override { return 1; }
  Result<ml::PredictOutput> Predict(const std::vector<ml::Tensor>& in) override {
    if (sleep_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    if (gate_) gate_->wait();
    std::lock_guard lock(mu_);
    batches.push_back(in[0].shape[0]);
    ml::Tensor y{"y", ml::DataType::kFp32, in[0].shape, {}, {}};
    for (int64_t r = 0; r < in[0].shape[0]; ++r) seen.push_back(in[0].values[static_cast<size_t>(r * in[0].shape[1])]);
    for (double v : in[0].values) {
      if (v < 0) return Error::InvalidArgument("negative value");
      y.values.push_back(2 * v);
    }
    ml::PredictOutput out;
    out.outputs.push_back(std::move(y));
    return out;
  }
  void Gate(std::shared_future<void> gate) { gate_ = std::move(gate); }

  std::mutex mu_;
  std::vector<int64_t> batches;
  std::vector<double> seen;

 private:
  ml::Signature sig_;
  int64_t sleep_ms_;
  std::optional<std::shared_future<void>> gate_;
};

PredictInput Rows(std::vector<std::vector<double>> rows) {
  PredictInput in;
  ml::Tensor t{"x", ml::DataType::kFp32, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())}, {}, {}};
  for (const auto& r : rows) t.values.insert(t.values.end(), r.begin(), r.end());
  in.tensors.push_back(std::move(t));
  return in;
}

struct Outcome {
  std::promise<Result<PredictResult>> promise;
  std::future<Result<PredictResult>> future = promise.get_future();
};

WorkItem Item(PredictInput in, Outcome& out, Priority p = Priority::kNormal, int64_t timeout_ms = 10'000) {
  WorkItem w;
  w.input = std::move(in);
  w.priority = p;
  w.enqueued_us = SteadyNowUs();
  w.deadline_us = w.enqueued_us + timeout_ms * 1000;
  w.shape_key = Batcher::ShapeKey(w.input);
  w.done = [&out](Result<PredictResult> r) { out.promise.set_value(std::move(r)); };
  return w;
}

std::unique_ptr<Batcher> Make(RecordingModel*& model, BatchingOptions o, int64_t sleep_ms = 0) {
  auto m = std::make_unique<RecordingModel>(sleep_ms);
  model = m.get();
  std::vector<std::unique_ptr<ml::Model>> instances;
  instances.push_back(std::move(m));
  return std::make_unique<Batcher>(o, std::move(instances), BatcherMetrics{}, [](std::function<void()> f) { f(); });
}

TEST(Batcher, ConcurrentRequestsAreBatchedAndAnsweredWithTheirOwnRows) {
  RecordingModel* model;
  BatchingOptions o;
  o.max_batch_size = 16;
  o.max_queue_delay_us = 20'000;
  auto b = Make(model, o);
  std::vector<Outcome> outs(64);
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(b->Submit(Item(Rows({{double(i), 1}}), outs[i])).ok());
  for (int i = 0; i < 64; ++i) {
    auto r = outs[i].future.get();
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->output.outputs[0].shape, (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(r->output.outputs[0].values, (std::vector<double>{2.0 * i, 2}));
  }
  std::lock_guard lock(model->mu_);
  EXPECT_LE(model->batches.size(), 8u);  // 64 rows in batches of up to 16
  for (int64_t n : model->batches) EXPECT_LE(n, 16);
}

TEST(Batcher, WithoutBatchingEveryRequestIsItsOwnCall) {
  RecordingModel* model;
  BatchingOptions o;
  o.enabled = false;
  auto b = Make(model, o);
  std::vector<Outcome> outs(20);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(b->Submit(Item(Rows({{1, 1}}), outs[i])).ok());
  for (auto& out : outs) ASSERT_TRUE(out.future.get().ok());
  EXPECT_EQ(model->batches.size(), 20u);
}

TEST(Batcher, APreferredSizeDispatchesWithoutWaitingForTheDelay) {
  RecordingModel* model;
  BatchingOptions o;
  o.max_batch_size = 64;
  o.max_queue_delay_us = 5'000'000;  // 5 s: only the preferred size can dispatch early
  o.preferred_batch_sizes = {4};
  auto b = Make(model, o);
  const int64_t start = SteadyNowMs();
  std::vector<Outcome> outs(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(b->Submit(Item(Rows({{1, 1}}), outs[i])).ok());
  for (auto& out : outs) ASSERT_TRUE(out.future.get().ok());
  EXPECT_LT(SteadyNowMs() - start, 2000);
  EXPECT_EQ(model->batches, (std::vector<int64_t>{4}));
}

TEST(Batcher, HigherPrioritiesGoFirstAndExpiredRequestsAreNeverComputed) {
  RecordingModel* model;
  BatchingOptions o;
  o.enabled = false;
  auto b = Make(model, o);
  std::promise<void> open;
  model->Gate(open.get_future().share());
  Outcome first, low, normal, high, expiring;
  ASSERT_TRUE(b->Submit(Item(Rows({{100, 0}}), first)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the model is now busy with `first`
  ASSERT_TRUE(b->Submit(Item(Rows({{3, 0}}), low, Priority::kLow)).ok());
  ASSERT_TRUE(b->Submit(Item(Rows({{2, 0}}), normal, Priority::kNormal)).ok());
  ASSERT_TRUE(b->Submit(Item(Rows({{1, 0}}), high, Priority::kHigh)).ok());
  ASSERT_TRUE(b->Submit(Item(Rows({{99, 0}}), expiring, Priority::kHigh, /*timeout_ms=*/20)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  open.set_value();
  for (Outcome* o2 : {&first, &low, &normal, &high}) ASSERT_TRUE(o2->future.get().ok());
  auto late = expiring.future.get();
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::kDeadlineExceeded);
  std::lock_guard lock(model->mu_);
  EXPECT_EQ(model->seen, (std::vector<double>{100, 1, 2, 3}));  // 99 never reached the model
}

TEST(Batcher, AFullQueueRefusesAndStopAnswersTheQueued) {
  RecordingModel* model;
  BatchingOptions o;
  o.enabled = false;
  o.max_queue_size = 2;
  auto b = Make(model, o);
  std::promise<void> open;
  model->Gate(open.get_future().share());
  Outcome running, q1, q2, q3;
  ASSERT_TRUE(b->Submit(Item(Rows({{1, 0}}), running)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(b->Submit(Item(Rows({{1, 0}}), q1)).ok());
  ASSERT_TRUE(b->Submit(Item(Rows({{1, 0}}), q2)).ok());
  auto full = b->Submit(Item(Rows({{1, 0}}), q3));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(b->queued(), 2);
  std::thread stopper([&] { b->Stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  open.set_value();
  stopper.join();
  EXPECT_TRUE(running.future.get().ok());
  EXPECT_EQ(q1.future.get().error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(q2.future.get().error().code, ErrorCode::kUnavailable);
}

TEST(Batcher, OneBadRequestDoesNotFailItsBatch) {
  RecordingModel* model;
  BatchingOptions o;
  o.max_batch_size = 8;
  o.preferred_batch_sizes = {3};
  o.max_queue_delay_us = 5'000'000;
  auto b = Make(model, o);
  Outcome good1, bad, good2;
  ASSERT_TRUE(b->Submit(Item(Rows({{1, 1}}), good1)).ok());
  ASSERT_TRUE(b->Submit(Item(Rows({{-1, 1}}), bad)).ok());
  ASSERT_TRUE(b->Submit(Item(Rows({{3, 1}}), good2)).ok());
  EXPECT_EQ(good1.future.get()->output.outputs[0].values, (std::vector<double>{2, 2}));
  EXPECT_EQ(bad.future.get().error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(good2.future.get()->output.outputs[0].values, (std::vector<double>{6, 2}));
}

TEST(Batcher, RequestsOfDifferentShapesAreNotMixedAndMultiRowRequestsStayWhole) {
  RecordingModel* model;
  BatchingOptions o;
  o.max_batch_size = 8;
  o.max_queue_delay_us = 30'000;
  auto b = Make(model, o);
  Outcome two_cols, three_cols, many;
  ASSERT_TRUE(b->Submit(Item(Rows({{1, 1}}), two_cols)).ok());
  ASSERT_TRUE(b->Submit(Item(Rows({{1, 1, 1}}), three_cols)).ok());
  ASSERT_TRUE(b->Submit(Item(Rows({{5, 5}, {6, 6}, {7, 7}}), many)).ok());
  EXPECT_EQ(two_cols.future.get()->output.outputs[0].shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(three_cols.future.get()->output.outputs[0].shape, (std::vector<int64_t>{1, 3}));
  auto m = many.future.get();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->output.outputs[0].values, (std::vector<double>{10, 10, 12, 12, 14, 14}));
  std::lock_guard lock(model->mu_);
  EXPECT_EQ(model->batches.size(), 2u);  // [2-col x1 + 2-col x3] and [3-col]
}

TEST(Batcher, SplitOutputCutsTensorsAndBundleColumnsPerRequest) {
  ml::PredictOutput out;
  out.outputs.push_back({"label", ml::DataType::kBytes, {3}, {}, {"a", "b", "c"}});
  out.outputs.push_back({"p", ml::DataType::kFp32, {3, 2}, {.1, .9, .2, .8, .3, .7}, {}});
  out.labels = {"a", "b", "c"};
  out.probabilities = {{.1, .9}, {.2, .8}, {.3, .7}};
  auto parts = SplitOutput(out, {1, 2});
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ((*parts)[0].labels, (std::vector<std::string>{"a"}));
  EXPECT_EQ((*parts)[1].outputs[0].strings, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ((*parts)[1].outputs[1].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ((*parts)[1].outputs[1].values, (std::vector<double>{.2, .8, .3, .7}));
  EXPECT_EQ((*parts)[1].probabilities.size(), 2u);
  out.outputs[1].shape = {1, 6};
  EXPECT_FALSE(SplitOutput(out, {1, 2}).ok());
}

}  // namespace
}  // namespace c19ai::inference::internal
