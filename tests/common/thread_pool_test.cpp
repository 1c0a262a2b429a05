#include "common/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace c19ai {
namespace {

TEST(ThreadPoolTest, RunsTasks) {
  ThreadPool pool("t", 2, 100);
  std::atomic<int> n{0};
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(pool.TrySubmit([&] { ++n; }));
  pool.Shutdown();
  EXPECT_EQ(n.load(), 50);
}

TEST(ThreadPoolTest, RefusesBeyondTheBound) {
  ThreadPool pool("t", 1, 2);
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::promise<void> started;
  ASSERT_TRUE(pool.TrySubmit([&, gate] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().wait();
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_FALSE(pool.TrySubmit([] {}));  // two waiting: the bound
  pool.Submit([] {});                   // continuations are never refused
  EXPECT_EQ(pool.queued(), 3u);
  release.set_value();
  pool.Shutdown();
  EXPECT_EQ(pool.queued(), 0u);
}

TEST(ThreadPoolTest, SurvivesThrowingTasks) {
  ThreadPool pool("t", 1, 10);
  std::atomic<int> n{0};
  ASSERT_TRUE(pool.TrySubmit([] { throw std::runtime_error("boom"); }));
  ASSERT_TRUE(pool.TrySubmit([&] { ++n; }));
  pool.Shutdown();
  EXPECT_EQ(n.load(), 1);
}

}  // namespace
}  // namespace c19ai
