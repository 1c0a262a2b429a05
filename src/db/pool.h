#pragma once
// A bounded pool of connections shared by both backends (internal to the db module).
// Thread-safe. Acquire waits up to the timeout for a free slot, then fails with unavailable.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "common/result.h"
#include "db/db.h"

namespace c19ai::db::internal {

template <typename Conn>
class Pool {
 public:
  using Factory = std::function<Result<std::unique_ptr<Conn>>()>;
  Pool(Factory factory, int max, int64_t acquire_timeout_ms)
      : factory_(std::move(factory)), max_(max), timeout_ms_(acquire_timeout_ms) {}

  // Returns a connection to the pool when destroyed (or discards it when Discard() was called).
  class Lease {
   public:
    Lease() = default;
    Lease(Pool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)) { o.pool_ = nullptr; }
    Lease& operator=(Lease&& o) noexcept {
      Release();
      pool_ = o.pool_;
      conn_ = std::move(o.conn_);
      o.pool_ = nullptr;
      return *this;
    }
    ~Lease() { Release(); }
    Conn* operator->() const { return conn_.get(); }
    Conn& operator*() const { return *conn_; }
    void Discard() { conn_.reset(); }

   private:
    void Release() {
      if (pool_) pool_->Return(std::move(conn_));
      pool_ = nullptr;
    }
    Pool* pool_ = nullptr;
    std::unique_ptr<Conn> conn_;
  };

  Result<Lease> Acquire() {
    std::unique_lock lock(mu_);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
    bool waited = false;
    while (idle_.empty() && open_ >= max_) {
      waited = true;
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && open_ >= max_) {
        ++timeouts_;
        return Error::Unavailable("database connection pool exhausted (" + std::to_string(max_) +
                                  " connections busy)");
      }
    }
    if (waited) ++waits_;
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      ++in_use_;
      return Lease(this, std::move(conn));
    }
    ++open_;
    ++in_use_;
    lock.unlock();
    auto conn = factory_();
    if (!conn.ok()) {
      std::lock_guard relock(mu_);
      --open_;
      --in_use_;
      cv_.notify_one();
      return std::move(conn).error();
    }
    return Lease(this, std::move(conn).value());
  }

  PoolStats Stats() const {
    std::lock_guard lock(mu_);
    return PoolStats{open_, in_use_, max_, waits_, timeouts_};
  }

  // Closes idle connections (e.g. after the server restarted, all of them are stale).
  void DropIdle() {
    std::lock_guard lock(mu_);
    open_ -= static_cast<int>(idle_.size());
    idle_.clear();
  }

 private:
  void Return(std::unique_ptr<Conn> conn) {
    {
      std::lock_guard lock(mu_);
      --in_use_;
      if (conn) idle_.push_back(std::move(conn));
      else --open_;
    }
    cv_.notify_one();
  }

  Factory factory_;
  const int max_;
  const int64_t timeout_ms_;
  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  int open_ = 0;
  int in_use_ = 0;
  int64_t waits_ = 0;
  int64_t timeouts_ = 0;
};

}  // namespace c19ai::db::internal
