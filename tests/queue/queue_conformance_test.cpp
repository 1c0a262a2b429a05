// One suite for every queue backend: the database (SQLite, PostgreSQL) and Redis Streams.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <set>
#include <thread>

#include "common/ids.h"
#include "queue/queue.h"
#include "support/test_env.h"

namespace c19ai::queue {
namespace {

using namespace std::chrono_literals;

std::string RedisUrl() {
  const char* v = std::getenv("C19AI_TEST_REDIS_URL");
  return v ? v : "";
}

class QueueTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    options_.backoff_base_ms = 20;
    options_.backoff_max_ms = 100;
    if (GetParam() == "redis") {
      if (RedisUrl().empty()) {
        if (testing::RequireServers()) FAIL() << "C19AI_TEST_REDIS_URL is not set";
        GTEST_SKIP() << "no Redis server";
      }
    } else {
      db_ = OpenDb();
      if (!db_) return;
      ASSERT_TRUE(db::Migrate(*db_, Migrations()).ok());
    }
    q_ = OpenQueue(db_.get());
    topic_ = "t" + NewRequestId().substr(2);
  }
  void TearDown() override {
    if (q_) (void)q_->Purge(topic_);
    q_.reset();
    db_.reset();
  }

  std::unique_ptr<db::Database> OpenDb() {
    db::Options o;
    if (GetParam() == "sqlite") {
      o.url = "sqlite://" + dir_.path() + "/q.db";
    } else {
      if (!pg_) pg_ = std::make_unique<testing::PostgresDatabase>();
      if (pg_->url().empty()) {
        if (testing::RequireServers()) ADD_FAILURE() << "C19AI_TEST_POSTGRES_URL is not set";
        return nullptr;
      }
      o.url = pg_->url();
    }
    auto d = db::Open(o);
    EXPECT_TRUE(d.ok()) << d.error().message;
    return d.ok() ? std::move(d).value() : nullptr;
  }
  std::unique_ptr<Queue> OpenQueue(db::Database* database) {
    auto q = GetParam() == "redis" ? OpenRedisQueue(RedisUrl(), options_) : OpenDbQueue(*database, options_);
    EXPECT_TRUE(q.ok()) << q.error().message;
    return std::move(q).value();
  }
  void SkipIfUnavailable() {
    if (!q_) GTEST_SKIP() << "backend unavailable";
  }

  std::vector<Message> Take(int n = 10, int64_t lease_ms = 30'000, std::map<std::string, std::string> filter = {}) {
    auto r = q_->Consume(topic_, {n, lease_ms, filter, "test"});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : std::vector<Message>{};
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresDatabase> pg_;
  std::unique_ptr<db::Database> db_;
  QueueOptions options_;
  std::unique_ptr<Queue> q_;
  std::string topic_;
};

TEST_P(QueueTest, PublishConsumeAckAndNeverAgain) {
  SkipIfUnavailable();
  auto id = q_->Publish(topic_, "hello", {.headers = {{"kind", "greeting"}}});
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto got = Take(10, 100);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, *id);
  EXPECT_EQ(got[0].body, "hello");
  EXPECT_EQ(got[0].headers.at("kind"), "greeting");
  EXPECT_EQ(got[0].attempts, 1);
  ASSERT_TRUE(q_->Ack(got).ok());
  std::this_thread::sleep_for(200ms);  // past the lease: an acknowledged message never comes back
  EXPECT_TRUE(Take().empty());
}

TEST_P(QueueTest, HigherPrioritiesFirstThenOldest) {
  SkipIfUnavailable();
  ASSERT_TRUE(q_->Publish(topic_, "low", {.priority = Priority::kLow}).ok());
  ASSERT_TRUE(q_->Publish(topic_, "normal-1").ok());
  ASSERT_TRUE(q_->Publish(topic_, "high", {.priority = Priority::kHigh}).ok());
  ASSERT_TRUE(q_->Publish(topic_, "normal-2").ok());
  std::vector<std::string> order;
  for (auto& m : Take(10)) order.push_back(m.body);
  EXPECT_EQ(order, (std::vector<std::string>{"high", "normal-1", "normal-2", "low"}));
}

TEST_P(QueueTest, DelayedDelivery) {
  SkipIfUnavailable();
  ASSERT_TRUE(q_->Publish(topic_, "later", {.delay_ms = 300}).ok());
  EXPECT_TRUE(Take().empty());
  auto stats = q_->Stats();
  ASSERT_TRUE(stats.ok());
  for (const auto& t : *stats) {
    if (t.topic == topic_) {
      EXPECT_EQ(t.delayed, 1);
    }
  }
  std::this_thread::sleep_for(400ms);
  auto got = Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "later");
}

TEST_P(QueueTest, ExpiredLeasesAreDeliveredAgainAndTheOldLeaseCannotAck) {
  SkipIfUnavailable();
  ASSERT_TRUE(q_->Publish(topic_, "work").ok());
  auto first = Take(1, 150);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(Take(1, 150).empty());  // leased
  std::this_thread::sleep_for(250ms);
  auto again = Take(1, 10'000);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, first[0].id);
  EXPECT_EQ(again[0].attempts, 2);
  EXPECT_EQ(q_->Ack(first).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(q_->Ack(again).ok());
}

TEST_P(QueueTest, ExtendLeaseKeepsTheMessage) {
  SkipIfUnavailable();
  ASSERT_TRUE(q_->Publish(topic_, "long job").ok());
  auto got = Take(1, 200);
  ASSERT_EQ(got.size(), 1u);
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(q_->ExtendLease(got[0], 200).ok());
  }
  EXPECT_TRUE(Take(1, 200).empty());
  EXPECT_TRUE(q_->Ack(got).ok());
}

TEST_P(QueueTest, NackRetriesThenDeadLettersThenRedrive) {
  SkipIfUnavailable();
  auto id = q_->Publish(topic_, "flaky", {.max_attempts = 3});
  ASSERT_TRUE(id.ok());
  for (int attempt = 1; attempt <= 3; ++attempt) {
    std::vector<Message> got;
    for (int i = 0; i < 50 && got.empty(); ++i) {  // waits out the back-off
      got = Take(1);
      if (got.empty()) std::this_thread::sleep_for(20ms);
    }
    ASSERT_EQ(got.size(), 1u) << "attempt " << attempt;
    EXPECT_EQ(got[0].attempts, attempt);
    ASSERT_TRUE(q_->Nack(got[0], "boom " + std::to_string(attempt)).ok());
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(Take().empty());
  auto dead = q_->DeadLetters(topic_, 10, 0);
  ASSERT_TRUE(dead.ok()) << dead.error().message;
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].id, *id);
  EXPECT_EQ((*dead)[0].last_error, "boom 3");
  EXPECT_EQ(*q_->Redrive(topic_, {}), 1);
  auto back = Take(1);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].body, "flaky");
  EXPECT_EQ(back[0].attempts, 1);
  EXPECT_TRUE(q_->DeadLetters(topic_, 10, 0)->empty());
}

TEST_P(QueueTest, ReleaseDoesNotUseAnAttempt) {
  SkipIfUnavailable();
  ASSERT_TRUE(q_->Publish(topic_, "x", {.max_attempts = 1}).ok());
  auto got = Take(1);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(q_->Release(got[0]).ok());
  auto again = Take(1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 1);
}

TEST_P(QueueTest, IdempotencyKeysDropDuplicates) {
  SkipIfUnavailable();
  auto a = q_->Publish(topic_, "once", {.idempotency_key = "order-17"});
  auto b = q_->Publish(topic_, "once again", {.idempotency_key = "order-17"});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  auto got = Take(10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "once");
}

TEST_P(QueueTest, ConsumersCanFilterByHeader) {
  SkipIfUnavailable();
  ASSERT_TRUE(q_->Publish(topic_, "cpu job", {.headers = {{"device", "cpu"}}}).ok());
  ASSERT_TRUE(q_->Publish(topic_, "gpu job", {.headers = {{"device", "gpu"}}}).ok());
  auto gpu = Take(10, 30'000, {{"device", "gpu"}});
  ASSERT_EQ(gpu.size(), 1u);
  EXPECT_EQ(gpu[0].body, "gpu job");
  auto rest = Take(10);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].body, "cpu job");
  EXPECT_EQ(rest[0].attempts, 1);  // being skipped by a filter is not an attempt
}

TEST_P(QueueTest, BatchesAndConcurrentConsumersDeliverEachMessageOnce) {
  SkipIfUnavailable();
  std::vector<std::pair<std::string, PublishOptions>> batch;
  for (int i = 0; i < 300; ++i) batch.emplace_back(std::to_string(i), PublishOptions{});
  auto ids = q_->PublishBatch(topic_, batch);
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  ASSERT_EQ(ids->size(), 300u);
  std::mutex mu;
  std::multiset<std::string> seen;
  std::vector<std::thread> consumers;
  for (int t = 0; t < 4; ++t) {
    consumers.emplace_back([&, t] {
      for (int empty = 0; empty < 3;) {
        auto got = q_->Consume(topic_, {25, 30'000, {}, "c" + std::to_string(t)});
        if (!got.ok() || got->empty()) {
          ++empty;
          std::this_thread::sleep_for(20ms);
          continue;
        }
        {
          std::lock_guard lock(mu);
          for (auto& m : *got) seen.insert(m.body);
        }
        EXPECT_TRUE(q_->Ack(*got).ok());
      }
    });
  }
  for (auto& c : consumers) c.join();
  EXPECT_EQ(seen.size(), 300u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 300u);  // no duplicates
}

TEST_P(QueueTest, StatsCountReadyInFlightAndDead) {
  SkipIfUnavailable();
  ASSERT_TRUE(q_->Publish(topic_, "a").ok());
  ASSERT_TRUE(q_->Publish(topic_, "b").ok());
  ASSERT_TRUE(q_->Publish(topic_, "c", {.max_attempts = 1}).ok());
  auto one = Take(1);
  ASSERT_EQ(one.size(), 1u);
  auto two = Take(1);
  ASSERT_TRUE(q_->Nack(two[0], "x").ok());  // b or c; both have one attempt left or none
  auto stats = q_->Stats();
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  bool found = false;
  for (const auto& t : *stats) {
    if (t.topic != topic_) continue;
    found = true;
    EXPECT_EQ(t.in_flight, 1);
    EXPECT_EQ(t.ready + t.delayed + t.dead, 2);
  }
  EXPECT_TRUE(found);
}

TEST_P(QueueTest, AConsumerKilledWithSigkillLosesNothing) {
  SkipIfUnavailable();
  ASSERT_TRUE(q_->Publish(topic_, "survive me").ok());
  pid_t child = fork();
  if (child == 0) {
    // A separate process with its own connections takes the message and dies holding it.
    std::unique_ptr<db::Database> own = GetParam() == "redis" ? nullptr : OpenDb();
    auto q = OpenQueue(own.get());
    auto got = q->Consume(topic_, {1, 300, {}, "doomed"});
    if (!got.ok() || got->size() != 1) _exit(3);
    raise(SIGKILL);
    _exit(4);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child exited with " << status;
  EXPECT_TRUE(Take(1, 300).empty());  // still leased by the dead consumer
  std::this_thread::sleep_for(400ms);
  auto got = Take(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "survive me");
  EXPECT_EQ(got[0].attempts, 2);
}

TEST_P(QueueTest, WorkersAckSuccessesRetryFailuresAndHeartbeatLongJobs) {
  SkipIfUnavailable();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q_->Publish(topic_, "job-" + std::to_string(i)).ok());
  ASSERT_TRUE(q_->Publish(topic_, "poison", {.max_attempts = 2}).ok());
  ASSERT_TRUE(q_->Publish(topic_, "slow").ok());
  std::atomic<int> ok{0}, slow_runs{0};
  WorkerRuntime workers(*q_, "test");
  workers.Register(topic_, {.name = "t", .concurrency = 2, .lease_ms = 300, .heartbeat_ms = 100, .poll_ms = 20},
                   [&](Message& m, const std::function<bool()>&) -> Status {
                     if (m.body == "poison") return Error::Internal("cannot handle poison");
                     if (m.body == "slow") {
                       ++slow_runs;
                       std::this_thread::sleep_for(1000ms);  // longer than the lease: heartbeats keep it
                     }
                     ++ok;
                     return OkStatus();
                   });
  workers.Start();
  for (int i = 0; i < 200 && (ok < 6 || q_->DeadLetters(topic_, 10, 0)->empty()); ++i) {
    std::this_thread::sleep_for(20ms);
  }
  workers.Stop();
  EXPECT_EQ(ok.load(), 6);
  EXPECT_EQ(slow_runs.load(), 1);  // never handed to a second worker
  auto dead = q_->DeadLetters(topic_, 10, 0);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].body, "poison");
  EXPECT_EQ(workers.processed(), 6);
}

TEST_P(QueueTest, TopicsAreValidated) {
  SkipIfUnavailable();
  EXPECT_EQ(q_->Publish("bad topic!", "x").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(q_->Publish(std::string(200, 't'), "x").error().code, ErrorCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, QueueTest, ::testing::Values("sqlite", "postgres", "redis"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace c19ai::queue
