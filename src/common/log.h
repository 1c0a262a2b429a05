#pragma once
// Structured logging: one JSON object per line on stderr (or "text" for people), written by an
// asynchronous spdlog logger so that callers never wait on the terminal or the disk. The logger is
// process-wide; everything here is thread-safe. Never log secrets, tokens, passwords or bodies.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace c19ai::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

struct Options {
  Level level = Level::kInfo;
  bool json = true;       // false: "2026-11-27T02:53:31.123Z INFO msg key=value"
  std::string file;       // empty: stderr
  size_t queue_size = 65536;  // lines buffered before the oldest are dropped (never blocks)
};

struct Field {
  enum class Kind { kString, kInt, kDouble, kBool };
  Field(std::string_view k, std::string_view v) : key(k), kind(Kind::kString), s(v) {}
  Field(std::string_view k, const char* v) : key(k), kind(Kind::kString), s(v) {}
  Field(std::string_view k, const std::string& v) : key(k), kind(Kind::kString), s(v) {}
  Field(std::string_view k, int v) : key(k), kind(Kind::kInt), i(v) {}
  Field(std::string_view k, long v) : key(k), kind(Kind::kInt), i(v) {}
  Field(std::string_view k, long long v) : key(k), kind(Kind::kInt), i(v) {}
  Field(std::string_view k, unsigned v) : key(k), kind(Kind::kInt), i(v) {}
  Field(std::string_view k, unsigned long v) : key(k), kind(Kind::kInt), i(static_cast<int64_t>(v)) {}
  Field(std::string_view k, unsigned long long v) : key(k), kind(Kind::kInt), i(static_cast<int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), kind(Kind::kDouble), d(v) {}
  Field(std::string_view k, bool v) : key(k), kind(Kind::kBool), b(v) {}
  std::string_view key;
  Kind kind;
  std::string_view s;
  int64_t i = 0;
  double d = 0;
  bool b = false;
};

// Configures the process logger; may be called again (tests, `serve` after config load).
void Init(const Options& options);
bool ParseLevel(std::string_view text, Level& out);
bool Enabled(Level level);
void Write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
// Writes an already formatted JSON object line.
void WriteJsonLine(Level level, std::string_view json_object);
// For high-rate info lines (the access log): appends to a per-thread buffer that a flusher hands to
// the logger every 100 ms or every 32 KiB, so a line costs an uncontended lock and a copy.
void WriteBatchedLine(std::string_view json_object);
// Writes out batched lines and flushes the logger.
void Flush();

inline void Debug(std::string_view msg, std::initializer_list<Field> f = {}) { Write(Level::kDebug, msg, f); }
inline void Info(std::string_view msg, std::initializer_list<Field> f = {}) { Write(Level::kInfo, msg, f); }
inline void Warn(std::string_view msg, std::initializer_list<Field> f = {}) { Write(Level::kWarn, msg, f); }
inline void Error(std::string_view msg, std::initializer_list<Field> f = {}) { Write(Level::kError, msg, f); }

}  // namespace c19ai::log
