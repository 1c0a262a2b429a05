#pragma once
// Wall-clock time as milliseconds since the Unix epoch (storage) and RFC 3339 UTC (API), behind an
// interface so that tests can drive TTLs, expiry and back-off with a FakeClock.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace c19ai {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;
  // The process-wide real clock.
  static const Clock& System();
};

// A clock that only moves when told. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  int64_t NowMs() const override { return now_.load(std::memory_order_relaxed); }
  void AdvanceMs(int64_t ms) { now_.fetch_add(ms, std::memory_order_relaxed); }
  void SetMs(int64_t ms) { now_.store(ms, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_;
};

int64_t NowMs();            // system clock
int64_t SteadyNowUs();      // monotonic, for latencies and deadlines
int64_t SteadyNowMs();

// "2026-11-27T02:53:31.123Z"
std::string FormatRfc3339(int64_t ms_since_epoch);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm]" (and a space instead of T); nullopt if malformed.
std::optional<int64_t> ParseRfc3339(std::string_view text);

}  // namespace c19ai
