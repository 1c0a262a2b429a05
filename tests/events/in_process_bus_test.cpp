#include <gtest/gtest.h>

#include <thread>

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
  EXPECT_TRUE(Open("memory://").ok());
}

}  // namespace
}  // namespace c19ai::events
