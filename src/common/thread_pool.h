#pragma once
// A fixed set of threads serving a FIFO queue with a bound. Used for everything that may block
// (database, files, model loading, training) so that io_context threads never do.
// Thread-safe. At the bound TrySubmit refuses (the HTTP layer answers 503); Submit always enqueues
// and is reserved for continuations of work that was already admitted.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace c19ai {

class ThreadPool {
 public:
  ThreadPool(std::string name, size_t threads, size_t max_queue);
  ~ThreadPool();  // Shutdown()
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  [[nodiscard]] bool TrySubmit(std::function<void()> task);
  void Submit(std::function<void()> task);
  // Stops accepting, runs what is queued, joins the threads. Idempotent.
  void Shutdown();

  const std::string& name() const { return name_; }
  size_t threads() const { return threads_.size(); }
  size_t max_queue() const { return max_queue_; }
  size_t queued() const;
  size_t active() const;

 private:
  void Run();
  const std::string name_;
  const size_t max_queue_;
  mutable std::mutex mu_;  // guards queue_, active_, stopping_
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  size_t active_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace c19ai
