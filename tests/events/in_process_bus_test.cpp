#include <gtest/gtest.h>

#include <thread>

#include "common/ids.h"
#include "events/events.h"

namespace c19ai::events {
namespace {

using namespace std::chrono_literals;

TEST(InProcessBusTest, DeliversMatchingEventsWithRoomSequences) {
  auto bus = NewInProcessBus();
  auto all = bus->Subscribe({});
  auto training = bus->Subscribe({.room_prefixes = {"training."}});
  auto models = bus->Subscribe({.rooms = {"models"}});
  bus->Publish({.type = std::string(kModelCreated), .room = "models", .data = R"({"name":"m"})"});
  bus->Publish({.type = std::string(kTrainingJobStarted), .room = TrainingRoom("j1")});
  bus->Publish({.type = std::string(kTrainingJobProgress), .room = TrainingRoom("j1")});

  auto e1 = all->Next(1s);
  ASSERT_TRUE(e1);
  EXPECT_EQ(e1->id, "models:1");
  EXPECT_EQ(e1->data, R"({"name":"m"})");
  EXPECT_GT(e1->ts_ms, 0);
  EXPECT_EQ(all->Next(1s)->id, "training.j1:1");
  EXPECT_EQ(all->Next(1s)->id, "training.j1:2");

  EXPECT_EQ(training->Next(1s)->type, kTrainingJobStarted);
  EXPECT_EQ(training->Next(1s)->type, kTrainingJobProgress);
  EXPECT_EQ(training->Next(10ms), std::nullopt);
  EXPECT_EQ(models->Next(1s)->type, kModelCreated);
  EXPECT_EQ(models->Next(10ms), std::nullopt);
}

TEST(InProcessBusTest, SlowSubscriberDropsOldestAndNeverBlocksThePublisher) {
  auto bus = NewInProcessBus();
  auto slow = bus->Subscribe({.capacity = 3});
  for (int i = 0; i < 10; ++i) bus->Publish({.type = "t", .room = "system"});
  EXPECT_EQ(slow->dropped(), 7u);
  EXPECT_EQ(slow->Next(1s)->sequence, 8u);
  EXPECT_EQ(bus->Stats().dropped, 7u);
  EXPECT_EQ(bus->Stats().published, 10u);
}

TEST(InProcessBusTest, CloseWakesAWaitingReader) {
  auto bus = NewInProcessBus();
  auto sub = bus->Subscribe({});
  std::thread t([&] {
    std::this_thread::sleep_for(50ms);
    sub->Close();
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(sub->Next(10s), std::nullopt);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  t.join();
}

TEST(InProcessBusTest, UnsubscribesOnDestruction) {
  auto bus = NewInProcessBus();
  { auto sub = bus->Subscribe({}); }
  EXPECT_EQ(bus->Stats().subscribers, 0);
  bus->Publish({.type = "t", .room = "system"});
}

TEST(EventsOpenTest, RefusesUnknownScheme) {
  EXPECT_FALSE(Open("kafka://x").ok());
  EXPECT_FALSE(Open("redis://host:0").ok());
  EXPECT_TRUE(Open("memory://").ok());
}

}  // namespace
}  // namespace c19ai::events

// ---- fan-out between replicas (Redis pub/sub, PostgreSQL LISTEN/NOTIFY)

#include <cstdlib>

#include "support/test_env.h"

namespace c19ai::events {
namespace {

class FanOutTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "redis") {
      const char* r = std::getenv("C19AI_TEST_REDIS_URL");
      url_ = r ? r : "";
    } else {
      url_ = testing::PostgresUrl();
    }
    if (url_.empty()) {
      if (testing::RequireServers()) FAIL() << "no " << GetParam() << " server";
      GTEST_SKIP() << "no " << GetParam() << " server";
    }
  }
  std::string url_;
};

TEST_P(FanOutTest, EventsPublishedOnOneReplicaReachEveryReplicaInOrder) {
  auto a = Open(url_);
  auto b = Open(url_);
  ASSERT_TRUE(a.ok() && b.ok());
  // Unique per run: a long-lived Redis keeps each room's sequence.
  std::string room = "training.fanout-" + NewId();
  auto on_a = (*a)->Subscribe({.rooms = {room}});
  auto on_b = (*b)->Subscribe({.rooms = {room}});
  for (int i = 0; i < 5; ++i) {
    (i % 2 ? *a : *b)->Publish({.type = "training.job.progress", .room = room, .data = "{\"i\":" + std::to_string(i) + "}"});
  }
  for (auto* sub : {on_a.get(), on_b.get()}) {
    for (int i = 0; i < 5; ++i) {
      auto e = sub->Next(std::chrono::seconds(3));
      ASSERT_TRUE(e) << "event " << i;
      EXPECT_EQ(e->id, room + ":" + std::to_string(i + 1));  // one global sequence per room
      EXPECT_EQ(e->data, "{\"i\":" + std::to_string(i) + "}");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Brokers, FanOutTest, ::testing::Values("redis", "postgres"),
                         [](const auto& info) { return info.param; });

TEST(FanOutTest, AnUnreachableBrokerStillDeliversLocally) {
  auto bus = Open("redis://127.0.0.1:1");
  ASSERT_TRUE(bus.ok());
  auto sub = (*bus)->Subscribe({});
  (*bus)->Publish({.type = "t", .room = "system"});
  auto e = sub->Next(std::chrono::seconds(2));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, "system:1");
}

}  // namespace
}  // namespace c19ai::events
