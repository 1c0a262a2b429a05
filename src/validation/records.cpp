// Record readers (CSV per RFC 4180, JSON Lines, inline JSON records) and value parsing.

#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>

#include "common/text.h"
#include "validation/engine.h"

namespace c19ai::validation::internal {

namespace {

Error LineError(int64_t line, std::string message) {
  Error e = Error::InvalidArgument("line " + std::to_string(line) + ": " + message);
  e.details = DumpJson(Json{{"line", line}});
  return e;
}

// RFC 4180 with a configurable delimiter; tolerates CRLF or LF, a UTF-8 byte order mark, quotes
// inside unquoted fields (taken literally) and blank lines (skipped). An empty field is null.
class CsvReader final : public RecordReader {
 public:
  CsvReader(storage::ByteSource& src, const ReadOptions& o) : src_(src), o_(o) { buf_.resize(1 << 20); }

  Status Init() {
    C19_TRY(Fill());
    if (end_ - pos_ >= 3 && std::memcmp(buf_.data() + pos_, "\xEF\xBB\xBF", 3) == 0) pos_ += 3;
    if (!o_.header) return OkStatus();
    C19_ASSIGN_OR_RETURN(bool got, ParseRecord());
    if (!got) return LineError(1, "the file is empty: a header line was expected");
    std::unordered_map<std::string, int> seen;
    for (size_t i = 0; i < cells_.size(); ++i) {
      std::string name(Trim(CellView(i)));
      if (name.empty()) name = "column_" + std::to_string(i + 1);
      if (seen.count(name)) return LineError(line_, "the header names column \"" + name + "\" twice");
      seen[name] = 1;
      columns_.push_back(std::move(name));
    }
    record_ = 0;
    return OkStatus();
  }

  const std::vector<std::string>& columns() const override { return columns_; }

  Result<bool> Next() override {
    C19_ASSIGN_OR_RETURN(bool got, ParseRecord());
    if (!got) return false;
    if (columns_.empty()) {
      for (size_t i = 0; i < cells_.size(); ++i) columns_.push_back("column_" + std::to_string(i + 1));
    }
    if (cells_.size() != columns_.size()) {
      return LineError(line_, "record " + std::to_string(record_) + " has " + std::to_string(cells_.size()) +
                                  " fields, the header has " + std::to_string(columns_.size()));
    }
    views_.resize(cells_.size());
    for (size_t i = 0; i < cells_.size(); ++i) views_[i] = CellView(i);
    return true;
  }

  std::string_view cell(size_t i) const override { return i < views_.size() ? views_[i] : std::string_view(); }
  bool is_null(size_t i) const override { return i >= views_.size() || views_[i].empty(); }
  bool absent(size_t) const override { return false; }
  const std::vector<std::string_view>* views() const override { return &views_; }
  int64_t record() const override { return record_; }
  int64_t line() const override { return line_; }
  int64_t bytes_read() const override { return consumed_ + pos_; }

 private:
  struct Cell {
    bool scratch;
    uint32_t offset, length;
  };

  std::string_view CellView(size_t i) const {
    const Cell& c = cells_[i];
    return c.scratch ? std::string_view(scratch_.data() + c.offset, c.length)
                     : std::string_view(buf_.data() + c.offset, c.length);
  }

  // Moves the unparsed tail to the front and reads more; eof_ when the source is done.
  Status Fill() {
    if (eof_) return OkStatus();
    if (pos_ > 0) {
      std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
      consumed_ += static_cast<int64_t>(pos_);
      end_ -= pos_;
      pos_ = 0;
    }
    if (end_ == buf_.size()) {
      if (static_cast<int64_t>(buf_.size()) >= o_.max_record_bytes) {
        return LineError(next_line_, "a record is longer than " + std::to_string(o_.max_record_bytes) + " bytes");
      }
      buf_.resize(buf_.size() * 2);
    }
    while (end_ < buf_.size()) {
      C19_ASSIGN_OR_RETURN(size_t n, src_.Read(buf_.data() + end_, buf_.size() - end_));
      if (n == 0) {
        eof_ = true;
        break;
      }
      end_ += n;
    }
    return OkStatus();
  }

  // Parses one record starting at pos_; false at the end of the input.
  Result<bool> ParseRecord() {
    for (;;) {
      // Blank lines between records are skipped.
      while (pos_ < end_ && (buf_[pos_] == '\n' || buf_[pos_] == '\r')) {
        if (buf_[pos_] == '\n') ++next_line_;
        ++pos_;
      }
      if (pos_ >= end_) {
        if (eof_) return false;
        C19_TRY(Fill());
        continue;
      }
      C19_ASSIGN_OR_RETURN(int r, TryParse());
      if (r == 1) return true;
      if (eof_) {
        // r == 0 at the end of input: an unterminated quoted field.
        return LineError(next_line_, "a quoted field is not closed before the end of the file");
      }
      C19_TRY(Fill());
    }
  }

  // 1: parsed a record; 0: needs more input (nothing consumed).
  Result<int> TryParse() {
    const char d = o_.delimiter;
    const char* base = buf_.data();
    size_t p = pos_;
    cells_.clear();
    scratch_.clear();
    int64_t newlines = 0;
    bool high = false;
    for (;;) {
      // One field starting at p.
      if (p < end_ && base[p] == '"') {
        size_t q = p + 1;
        uint32_t start = static_cast<uint32_t>(scratch_.size());
        bool closed = false;
        for (;;) {
          const void* hit = std::memchr(base + q, '"', end_ - q);
          if (!hit) break;
          size_t at = static_cast<const char*>(hit) - base;
          if (at + 1 >= end_ && !eof_) break;  // cannot tell "" from " yet
          for (size_t k = q; k < at; ++k) {
            if (base[k] == '\n') ++newlines;
            high |= static_cast<unsigned char>(base[k]) >= 0x80;
          }
          scratch_.append(base + q, at - q);
          if (at + 1 < end_ && base[at + 1] == '"') {
            scratch_.push_back('"');
            q = at + 2;
            continue;
          }
          q = at + 1;
          closed = true;
          break;
        }
        if (!closed) {
          if (eof_ && !std::memchr(base + q, '"', end_ - q)) {
            return LineError(next_line_, "a quoted field is not closed before the end of the file");
          }
          return 0;
        }
        cells_.push_back({true, start, static_cast<uint32_t>(scratch_.size() - start)});
        p = q;
        if (p >= end_) {
          if (!eof_) return 0;
          return Finish(p, newlines, high);
        }
        char c = base[p];
        if (c == d) {
          ++p;
          continue;
        }
        if (c == '\n' || c == '\r') return Finish(p, newlines, high);
        return LineError(next_line_ + newlines, "unexpected character '" + std::string(1, c) +
                                                   "' after a closing quote (quote the whole field and double the "
                                                   "quotes inside)");
      }
      // Unquoted: up to the delimiter or the end of the line.
      size_t q = p;
      while (q < end_) {
        char c = base[q];
        if (c == d || c == '\n' || c == '\r') break;
        high |= static_cast<unsigned char>(c) >= 0x80;
        ++q;
      }
      if (q >= end_ && !eof_) return 0;
      cells_.push_back({false, static_cast<uint32_t>(p), static_cast<uint32_t>(q - p)});
      if (q < end_ && base[q] == d) {
        p = q + 1;
        if (p >= end_ && eof_) {
          cells_.push_back({false, static_cast<uint32_t>(p), 0});
          return Finish(p, newlines, high);
        }
        continue;
      }
      return Finish(q, newlines, high);
    }
  }

  Result<int> Finish(size_t p, int64_t newlines, bool high) {
    // p is at the line end (or the end of input): consume \r?\n.
    if (p < end_ && base_at(p) == '\r') ++p;
    if (p < end_ && base_at(p) == '\n') {
      ++p;
      ++newlines;
    } else if (p >= end_ && !eof_) {
      return 0;
    }
    if (high) {
      for (size_t i = 0; i < cells_.size(); ++i) {
        std::string_view v = CellView(i);
        if (!ValidUtf8(v)) {
          return LineError(next_line_, "field " + std::to_string(i + 1) + " is not valid UTF-8");
        }
      }
    }
    line_ = next_line_;
    next_line_ += newlines;
    pos_ = p;
    ++record_;
    return 1;
  }

  char base_at(size_t p) const { return buf_[p]; }

  storage::ByteSource& src_;
  ReadOptions o_;
  std::string buf_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  int64_t consumed_ = 0;
  std::vector<Cell> cells_;
  std::string scratch_;
  std::vector<std::string_view> views_;
  std::vector<std::string> columns_;
  int64_t record_ = 0, line_ = 1, next_line_ = 1;
};

// Shared by the JSON readers: values of one object as cells by column.
class JsonCells {
 public:
  Status Load(const Json& obj, int64_t line) {
    if (!obj.is_object()) return LineError(line, "a JSON Lines record must be an object");
    std::fill(present_.begin(), present_.end(), false);
    std::fill(null_.begin(), null_.end(), true);
    storage_.clear();
    storage_.reserve(obj.size());
    std::vector<std::pair<size_t, size_t>> where;  // column, storage index
    for (const auto& [k, v] : obj.items()) {
      auto it = index_.find(k);
      size_t col;
      if (it == index_.end()) {
        col = columns_.size();
        index_.emplace(k, col);
        columns_.push_back(k);
        present_.push_back(false);
        null_.push_back(true);
        views_.emplace_back();
      } else {
        col = it->second;
      }
      present_[col] = true;
      if (v.is_null()) {
        storage_.emplace_back();
      } else if (v.is_string()) {
        storage_.push_back(v.get<std::string>());
        null_[col] = false;
      } else if (v.is_boolean()) {
        storage_.push_back(v.get<bool>() ? "true" : "false");
        null_[col] = false;
      } else {
        storage_.push_back(v.dump());
        null_[col] = false;
      }
      where.emplace_back(col, storage_.size() - 1);
    }
    for (auto& v : views_) v = {};
    for (auto [col, idx] : where) views_[col] = storage_[idx];
    return OkStatus();
  }
  std::vector<std::string> columns_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<bool> present_, null_;
  std::vector<std::string> storage_;
  std::vector<std::string_view> views_;
};

class JsonLinesReader final : public RecordReader {
 public:
  JsonLinesReader(storage::ByteSource& src, const ReadOptions& o) : src_(src), o_(o) { buf_.resize(1 << 20); }

  const std::vector<std::string>& columns() const override { return c_.columns_; }

  Result<bool> Next() override {
    for (;;) {
      std::string_view line;
      C19_ASSIGN_OR_RETURN(bool got, NextLine(line));
      if (!got) return false;
      if (line_no_ == 1 && line.size() >= 3 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (Trim(line).empty()) continue;
      if (!ValidUtf8(line)) return LineError(line_no_, "the line is not valid UTF-8");
      Json j = Json::parse(line, nullptr, false);
      if (j.is_discarded()) return LineError(line_no_, "the line is not valid JSON");
      C19_TRY(c_.Load(j, line_no_));
      ++record_;
      return true;
    }
  }

  std::string_view cell(size_t i) const override { return i < c_.views_.size() ? c_.views_[i] : std::string_view(); }
  bool is_null(size_t i) const override { return i >= c_.null_.size() || c_.null_[i]; }
  bool absent(size_t i) const override { return i >= c_.present_.size() || !c_.present_[i]; }
  int64_t record() const override { return record_; }
  int64_t line() const override { return line_no_; }
  int64_t bytes_read() const override { return consumed_ + static_cast<int64_t>(pos_); }

 private:
  Result<bool> NextLine(std::string_view& line) {
    for (;;) {
      const void* nl = pos_ < end_ ? std::memchr(buf_.data() + pos_, '\n', end_ - pos_) : nullptr;
      if (nl) {
        size_t at = static_cast<const char*>(nl) - buf_.data();
        line = std::string_view(buf_.data() + pos_, at - pos_);
        pos_ = at + 1;
        ++line_no_;
        return true;
      }
      if (eof_) {
        if (pos_ >= end_) return false;
        line = std::string_view(buf_.data() + pos_, end_ - pos_);
        pos_ = end_;
        ++line_no_;
        return true;
      }
      if (pos_ > 0) {
        std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
        consumed_ += static_cast<int64_t>(pos_);
        end_ -= pos_;
        pos_ = 0;
      }
      if (end_ == buf_.size()) {
        if (static_cast<int64_t>(buf_.size()) >= o_.max_record_bytes) {
          return LineError(line_no_ + 1, "a line is longer than " + std::to_string(o_.max_record_bytes) + " bytes");
        }
        buf_.resize(buf_.size() * 2);
      }
      C19_ASSIGN_OR_RETURN(size_t n, src_.Read(buf_.data() + end_, buf_.size() - end_));
      if (n == 0) eof_ = true;
      end_ += n;
    }
  }

  storage::ByteSource& src_;
  ReadOptions o_;
  std::string buf_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  int64_t consumed_ = 0, record_ = 0, line_no_ = 0;
  JsonCells c_;
};

class InlineReader final : public RecordReader {
 public:
  explicit InlineReader(const Json& records) : records_(records) {
    // Columns in first-seen order across all records, so dataset-level checks see them all.
    for (const auto& r : records_) {
      if (!r.is_object()) continue;
      for (const auto& [k, v] : r.items()) {
        if (!c_.index_.count(k)) {
          c_.index_.emplace(k, c_.columns_.size());
          c_.columns_.push_back(k);
          c_.present_.push_back(false);
          c_.null_.push_back(true);
          c_.views_.emplace_back();
        }
      }
    }
  }
  const std::vector<std::string>& columns() const override { return c_.columns_; }
  Result<bool> Next() override {
    if (static_cast<size_t>(record_) >= records_.size()) return false;
    const Json& r = records_[static_cast<size_t>(record_)];
    ++record_;
    if (!r.is_object()) {
      Error e = Error::Field("records[" + std::to_string(record_ - 1) + "]", "each record must be a JSON object");
      return e;
    }
    C19_TRY(c_.Load(r, record_));
    return true;
  }
  std::string_view cell(size_t i) const override { return i < c_.views_.size() ? c_.views_[i] : std::string_view(); }
  bool is_null(size_t i) const override { return i >= c_.null_.size() || c_.null_[i]; }
  bool absent(size_t i) const override { return i >= c_.present_.size() || !c_.present_[i]; }
  int64_t record() const override { return record_; }
  int64_t line() const override { return record_; }
  int64_t bytes_read() const override { return 0; }

 private:
  const Json& records_;
  int64_t record_ = 0;
  JsonCells c_;
};

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ValidDay(int64_t y, int m, int d) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  int max = kDays[m - 1];
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) max = 29;
  return d <= max;
}

bool Digits(std::string_view s, size_t at, size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// strftime-like parsing of the subset the docs list. Fills y m d H M S; false when it does not match.
bool ParseWithFormat(std::string_view s, std::string_view f, int& y, int& m, int& d, int& H, int& M, double& S) {
  static const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  size_t i = 0;
  y = 1970, m = 1, d = 1, H = 0, M = 0, S = 0;
  for (size_t k = 0; k < f.size(); ++k) {
    if (f[k] != '%' || k + 1 >= f.size()) {
      if (i >= s.size() || s[i] != f[k]) return false;
      ++i;
      continue;
    }
    char c = f[++k];
    int v = 0;
    switch (c) {
      case 'Y':
        if (!Digits(s, i, 4, v)) return false;
        y = v, i += 4;
        break;
      case 'y':
        if (!Digits(s, i, 2, v)) return false;
        y = v < 69 ? 2000 + v : 1900 + v, i += 2;
        break;
      case 'm':
        if (!Digits(s, i, 2, v)) return false;
        m = v, i += 2;
        break;
      case 'd':
        if (!Digits(s, i, 2, v)) return false;
        d = v, i += 2;
        break;
      case 'H':
        if (!Digits(s, i, 2, v) || v > 23) return false;
        H = v, i += 2;
        break;
      case 'M':
        if (!Digits(s, i, 2, v) || v > 59) return false;
        M = v, i += 2;
        break;
      case 'S':
        if (!Digits(s, i, 2, v) || v > 60) return false;
        S = v, i += 2;
        break;
      case 'b': {
        if (i + 3 > s.size()) return false;
        std::string mon = ToLower(s.substr(i, 3));
        int found = 0;
        for (int n = 0; n < 12; ++n)
          if (mon == kMonths[n]) found = n + 1;
        if (!found) return false;
        m = found, i += 3;
        break;
      }
      case '%':
        if (i >= s.size() || s[i] != '%') return false;
        ++i;
        break;
      default:
        return false;
    }
  }
  return i == s.size() && ValidDay(y, m, d);
}

}  // namespace

Result<std::unique_ptr<RecordReader>> RecordReader::Open(storage::ByteSource& source, const ReadOptions& options) {
  if (options.format == Format::kJsonLines) return std::unique_ptr<RecordReader>(new JsonLinesReader(source, options));
  if (options.delimiter == '"' || options.delimiter == '\n' || options.delimiter == '\r') {
    return Error::Field("delimiter", "the delimiter cannot be a quote or a line break");
  }
  auto r = std::make_unique<CsvReader>(source, options);
  C19_TRY(r->Init());
  return std::unique_ptr<RecordReader>(std::move(r));
}

std::unique_ptr<RecordReader> JsonRecordsReader(const Json& records) {
  return std::make_unique<InlineReader>(records);
}

namespace {

// Exact powers of ten as doubles (10^22 is the largest that is).
constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// Plain decimals ("-12", "53.797"): at most 15 significant digits, no exponent. The digits make an
// integer m < 2^53 and the value is m / 10^k with both exact as doubles, so one division rounds it
// correctly (Clinger's fast path): the same double as from_chars. Anything else returns false and the
// caller falls back to from_chars.
bool FastDecimal(const char* p, const char* e, double& out) {
  bool negative = false;
  if (p < e && (*p == '-' || *p == '+')) negative = *p++ == '-';
  if (p == e) return false;
  uint64_t m = 0;
  int digits = 0, fraction = -1;
  for (; p < e; ++p) {
    const unsigned d = static_cast<unsigned>(*p - '0');
    if (d < 10) {
      m = m * 10 + d;
      if (++digits > 15) return false;
      if (fraction >= 0) ++fraction;
    } else if (*p == '.' && fraction < 0) {
      fraction = 0;
    } else {
      return false;
    }
  }
  if (digits == 0 || fraction == 0) return false;  // "." / "-" / "1." go the slow way
  double v = static_cast<double>(m);
  if (fraction > 0) v /= kPow10[fraction];
  out = negative ? -v : v;
  return true;
}

}  // namespace

bool ParseInt(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  if (*b == '+') ++b;
  if (e - b <= 18) {  // no overflow possible: plain digit loop
    const char* p = b;
    bool negative = p < e && *p == '-';
    if (negative) ++p;
    if (p == e) return false;
    int64_t v = 0;
    for (; p < e; ++p) {
      const unsigned d = static_cast<unsigned>(*p - '0');
      if (d >= 10) return false;
      v = v * 10 + d;
    }
    out = negative ? -v : v;
    return true;
  }
  auto [p, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && p == e;
}

bool ParseFloat(std::string_view s, double& out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  if (FastDecimal(b, e, out)) return true;
  // from_chars takes digits, '.', or inf/nan (which are refused below): anything else is not a number.
  const char* f = b + (*b == '+' || *b == '-');
  if (f == e || !((*f >= '0' && *f <= '9') || *f == '.')) return false;
  if (*b == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, out);
  if (ec != std::errc() || p != e) return false;
  return std::isfinite(out);
}

bool ParseBool(std::string_view s, bool& out) {
  if (s.empty() || s.size() > 5) return false;
  // Most cells are not booleans: decide on the first character before lower-casing anything.
  switch (s[0] | 0x20) {
    case 't': case 'f': case 'y': case 'n': case '1' | 0x20: case '0' | 0x20: break;
    default: return false;
  }
  char buf[5];
  for (size_t i = 0; i < s.size(); ++i) buf[i] = static_cast<char>(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
  std::string_view l(buf, s.size());
  if (l == "true" || l == "t" || l == "yes" || l == "y" || l == "1") {
    out = true;
    return true;
  }
  if (l == "false" || l == "f" || l == "no" || l == "n" || l == "0") {
    out = false;
    return true;
  }
  return false;
}

bool ParseDate(std::string_view s, std::string_view format, int64_t& days) {
  int y, m, d, H, M;
  double S;
  if (format.empty()) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
    if (!Digits(s, 0, 4, y) || !Digits(s, 5, 2, m) || !Digits(s, 8, 2, d) || !ValidDay(y, m, d)) return false;
  } else if (!ParseWithFormat(s, format, y, m, d, H, M, S)) {
    return false;
  }
  days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return true;
}

bool ParseDateTime(std::string_view s, std::string_view format, double& seconds) {
  int y, m, d, H = 0, M = 0;
  double S = 0;
  if (!format.empty()) {
    if (!ParseWithFormat(s, format, y, m, d, H, M, S)) return false;
  } else {
    if (s.size() < 16 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':') return false;
    int sec = 0;
    if (!Digits(s, 0, 4, y) || !Digits(s, 5, 2, m) || !Digits(s, 8, 2, d) || !ValidDay(y, m, d) ||
        !Digits(s, 11, 2, H) || H > 23 || !Digits(s, 14, 2, M) || M > 59) {
      return false;
    }
    size_t i = 16;
    if (i < s.size() && s[i] == ':') {
      if (!Digits(s, i + 1, 2, sec) || sec > 60) return false;
      i += 3;
      if (i < s.size() && s[i] == '.') {
        size_t j = i + 1;
        while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
        if (j == i + 1) return false;
        double frac = 0;
        std::from_chars(s.data() + i, s.data() + j, frac);
        S = frac;
        i = j;
      }
    }
    S += sec;
    int offset_min = 0;
    if (i < s.size()) {
      if (s[i] == 'Z' || s[i] == 'z') {
        ++i;
      } else if (s[i] == '+' || s[i] == '-') {
        int oh = 0, om = 0;
        if (!Digits(s, i + 1, 2, oh)) return false;
        size_t j = i + 3;
        if (j < s.size() && s[j] == ':') ++j;
        if (!Digits(s, j, 2, om)) return false;
        offset_min = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        i = j + 2;
      }
      if (i != s.size()) return false;
    }
    seconds = static_cast<double>(DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d))) * 86400.0 +
              H * 3600.0 + M * 60.0 + S - offset_min * 60.0;
    return true;
  }
  seconds = static_cast<double>(DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d))) * 86400.0 +
            H * 3600.0 + M * 60.0 + S;
  return true;
}

bool IsJsonText(std::string_view s) { return Json::accept(s); }

size_t Utf8Length(std::string_view s) {
  // Code points = bytes - continuation bytes (10xxxxxx), counted 8 bytes at a time.
  size_t continuation = 0, i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    // One bit per continuation byte at bit 7; shifted to bit 0, a multiply sums the bytes into the top one.
    const uint64_t marks = (w & ~(w << 1) & 0x8080808080808080ULL) >> 7;
    continuation += static_cast<size_t>((marks * 0x0101010101010101ULL) >> 56);
  }
  for (; i < s.size(); ++i) continuation += (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80;
  return s.size() - continuation;
}

bool ValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* e = p + s.size();
  while (p < e) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07;
    else return false;
    if (e - p <= n) return false;
    for (int k = 1; k <= n; ++k) {
      if ((p[k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[k] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += n + 1;
  }
  return true;
}

uint64_t Hash64(std::string_view s, uint64_t seed) {
  // FNV-1a over 8-byte words, then a murmur finaliser: fast and well mixed for hash sets and HLL.
  uint64_t h = 0xcbf29ce484222325ULL ^ (seed * 0x9E3779B97F4A7C15ULL) ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  for (; i < s.size(); ++i) h = (h ^ static_cast<unsigned char>(s[i])) * 0x100000001b3ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

std::optional<DataType> ParseDataType(std::string_view t) {
  if (t == "integer") return DataType::kInteger;
  if (t == "float") return DataType::kFloat;
  if (t == "string") return DataType::kString;
  if (t == "boolean") return DataType::kBoolean;
  if (t == "date") return DataType::kDate;
  if (t == "datetime") return DataType::kDatetime;
  if (t == "categorical") return DataType::kCategorical;
  if (t == "json") return DataType::kJson;
  return std::nullopt;
}

bool MatchesType(DataType t, std::string_view s, std::string_view format) {
  switch (t) {
    case DataType::kString:
    case DataType::kCategorical:
      return true;
    case DataType::kInteger: {
      int64_t v;
      if (ParseInt(s, v)) return true;
      double f;  // 3.0 is an integer value (JSON numbers, pandas floats)
      return ParseFloat(s, f) && std::floor(f) == f && std::fabs(f) < 9.2e18;
    }
    case DataType::kFloat: {
      double v;
      return ParseFloat(s, v);
    }
    case DataType::kBoolean: {
      bool b;
      return ParseBool(s, b);
    }
    case DataType::kDate: {
      int64_t d;
      return ParseDate(s, format, d);
    }
    case DataType::kDatetime: {
      double sec;
      return ParseDateTime(s, format, sec);
    }
    case DataType::kJson:
      return IsJsonText(s);
  }
  return false;
}

bool MatchesType(std::string_view t, std::string_view s, std::string_view format) {
  auto dt = ParseDataType(t);
  return dt && MatchesType(*dt, s, format);
}

}  // namespace c19ai::validation::internal
