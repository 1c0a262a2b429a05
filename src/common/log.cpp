#include "common/log.h"

#include <atomic>
#include <condition_variable>
#include <thread>
#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/text.h"

namespace c19ai::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<bool> g_json{true};
std::mutex g_mu;  // guards g_loggers
// Every logger ever installed stays alive (re-initialisation is rare), so readers can use the raw
// pointer without a lock or reference count on the hot path.
std::vector<std::shared_ptr<spdlog::logger>> g_loggers;
std::atomic<spdlog::logger*> g_logger{nullptr};

std::string_view LevelName(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
    case Level::kOff: return "off";
  }
  return "info";
}

spdlog::logger* Logger() {
  spdlog::logger* l = g_logger.load(std::memory_order_acquire);
  if (l) return l;
  std::lock_guard lock(g_mu);
  if (!g_logger.load()) {
    auto logger = std::make_shared<spdlog::logger>("c19ai", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::trace);
    g_loggers.push_back(logger);
    g_logger.store(logger.get(), std::memory_order_release);
  }
  return g_logger.load();
}

spdlog::level::level_enum ToSpd(Level l) {
  switch (l) {
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
    case Level::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

void AppendValue(std::string& out, const Field& f, bool json) {
  switch (f.kind) {
    case Field::Kind::kString:
      if (json) AppendJsonString(out, f.s);
      else out.append(f.s);
      break;
    case Field::Kind::kInt: out += std::to_string(f.i); break;
    case Field::Kind::kDouble: {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.6g", f.d);
      out += buf;
      break;
    }
    case Field::Kind::kBool: out += f.b ? "true" : "false"; break;
  }
}
}  // namespace

void Init(const Options& options) {
  g_level = static_cast<int>(options.level);
  g_json = options.json;
  std::lock_guard lock(g_mu);
  if (auto* old = g_logger.load()) old->flush();
  spdlog::sink_ptr sink;
  if (options.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file);
  }
  if (!spdlog::thread_pool()) {
    spdlog::init_thread_pool(options.queue_size, 1);
  }
  auto logger = std::make_shared<spdlog::async_logger>("c19ai", sink, spdlog::thread_pool(),
                                                       spdlog::async_overflow_policy::overrun_oldest);
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::trace);
  logger->flush_on(spdlog::level::err);
  g_loggers.push_back(logger);
  g_logger.store(logger.get(), std::memory_order_release);
}

bool ParseLevel(std::string_view text, Level& out) {
  std::string t = ToLower(text);
  if (t == "debug" || t == "trace") out = Level::kDebug;
  else if (t == "info") out = Level::kInfo;
  else if (t == "warn" || t == "warning") out = Level::kWarn;
  else if (t == "error") out = Level::kError;
  else if (t == "off" || t == "none") out = Level::kOff;
  else return false;
  return true;
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  bool json = g_json.load(std::memory_order_relaxed);
  std::string line;
  line.reserve(128);
  if (json) {
    line += "{\"ts\":\"";
    line += FormatRfc3339(NowMs());
    line += "\",\"level\":\"";
    line += LevelName(level);
    line += "\",\"msg\":";
    AppendJsonString(line, msg);
    for (const auto& f : fields) {
      line.push_back(',');
      AppendJsonString(line, f.key);
      line.push_back(':');
      AppendValue(line, f, true);
    }
    line.push_back('}');
  } else {
    line += FormatRfc3339(NowMs());
    line.push_back(' ');
    line += ToLower(LevelName(level));
    line.push_back(' ');
    line += msg;
    for (const auto& f : fields) {
      line.push_back(' ');
      line += f.key;
      line.push_back('=');
      AppendValue(line, f, false);
    }
  }
  Logger()->log(ToSpd(level), std::string_view(line));
}

void WriteJsonLine(Level level, std::string_view json_object) {
  if (!Enabled(level)) return;
  Logger()->log(ToSpd(level), json_object);
}

namespace {

// Per-thread buffers of batched lines and the thread that drains them.
class Batcher {
 public:
  struct Buffer {
    std::mutex mu;  // guards data; contended only when the flusher drains
    std::string data;
  };

  static Batcher& Get() {
    static Batcher* b = new Batcher();  // never destroyed: threads may log during exit
    return *b;
  }

  Buffer& ThreadBuffer() {
    thread_local std::shared_ptr<Buffer> buffer;
    if (!buffer) {
      buffer = std::make_shared<Buffer>();
      buffer->data.reserve(kBatchBytes * 2);
      std::lock_guard lock(mu_);
      buffers_.push_back(buffer);
      if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
    }
    return *buffer;
  }

  void Wake() {
    {
      std::lock_guard lock(mu_);
      wake_ = true;
    }
    cv_.notify_one();
  }

  // Drains every buffer now (on the calling thread).
  void Drain() {
    std::vector<std::shared_ptr<Buffer>> buffers;
    {
      std::lock_guard lock(mu_);
      buffers = buffers_;
    }
    std::string batch;
    for (auto& b : buffers) {
      {
        std::lock_guard lock(b->mu);
        if (b->data.empty()) continue;
        batch.swap(b->data);
        b->data.reserve(kBatchBytes * 2);
      }
      if (batch.back() == '\n') batch.pop_back();
      Logger()->log(spdlog::level::info, std::string_view(batch));
      batch.clear();
    }
  }

  static constexpr size_t kBatchBytes = 32 << 10;

 private:
  void Run() {
    pthread_setname_np(pthread_self(), "c19ai-logbatch");
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return wake_; });
      wake_ = false;
      lock.unlock();
      Drain();
      lock.lock();
    }
  }

  std::mutex mu_;  // guards buffers_, wake_, thread_ start
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Buffer>> buffers_;
  bool wake_ = false;
  std::thread thread_;
};

}  // namespace

void WriteBatchedLine(std::string_view json_object) {
  if (!Enabled(Level::kInfo)) return;
  Batcher& batcher = Batcher::Get();
  Batcher::Buffer& b = batcher.ThreadBuffer();
  bool full;
  {
    std::lock_guard lock(b.mu);
    b.data.append(json_object);
    b.data.push_back('\n');
    full = b.data.size() >= Batcher::kBatchBytes;
  }
  if (full) batcher.Wake();
}

void Flush() {
  Batcher::Get().Drain();
  Logger()->flush();
}

}  // namespace c19ai::log
