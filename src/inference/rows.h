#pragma once
// Streaming readers of stored CSV and JSON Lines objects (internal to inference): batch predictions
// and embedding search read rows with them. Constant memory: one block is buffered.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "common/text.h"
#include "storage/storage.h"

namespace c19ai::inference::internal {

inline constexpr size_t kReadBlock = 256 << 10;

// Buffered reads from a ByteSource, counting bytes.
class Input {
 public:
  explicit Input(std::unique_ptr<storage::ByteSource> src) : src_(std::move(src)) {}
  // The next byte, nullopt at the end.
  Result<std::optional<char>> Get() {
    if (pos_ == buf_.size()) {
      buf_.resize(kReadBlock);
      C19_ASSIGN_OR_RETURN(size_t n, src_->Read(buf_.data(), buf_.size()));
      buf_.resize(n);
      pos_ = 0;
      if (n == 0) return std::optional<char>();
    }
    ++consumed_;
    return std::optional<char>(buf_[pos_++]);
  }
  int64_t consumed() const { return consumed_; }

 private:
  std::unique_ptr<storage::ByteSource> src_;
  std::string buf_;
  size_t pos_ = 0;
  int64_t consumed_ = 0;
};

// RFC 4180 records: quoted fields with doubled quotes and embedded line breaks, CRLF or LF, a UTF-8
// byte-order mark before the header ignored.
class CsvReader {
 public:
  CsvReader(Input& in, char delimiter) : in_(in), delim_(delimiter) {}

  // Reads one record into `fields`; false at the end. `line` is where the record started.
  Result<bool> Next(std::vector<std::string>& fields, int64_t& line) {
    fields.clear();
    std::string field;
    bool quoted = false, in_quotes = false, any = false;
    line = line_;
    for (;;) {
      C19_ASSIGN_OR_RETURN(auto c, in_.Get());
      if (!c) {
        if (in_quotes) return Error::InvalidArgument("line " + std::to_string(line) + ": unterminated quoted field");
        if (!any && fields.empty()) return false;
        fields.push_back(std::move(field));
        return true;
      }
      if (first_ && (bom_ < 3)) {
        static constexpr unsigned char kBom[] = {0xEF, 0xBB, 0xBF};
        if (static_cast<unsigned char>(*c) == kBom[bom_]) {
          ++bom_;
          continue;
        }
        if (bom_ != 0) return Error::InvalidArgument("line 1: malformed byte-order mark");
        bom_ = 3;
      }
      first_ = false;
      any = true;
      if (in_quotes) {
        if (*c == '"') {
          C19_ASSIGN_OR_RETURN(auto d, in_.Get());
          if (d && *d == '"') {
            field += '"';
            continue;
          }
          in_quotes = false;
          if (!d) {
            fields.push_back(std::move(field));
            return true;
          }
          c = d;  // fall through to the unquoted handling of the character after the quote
        } else {
          if (*c == '\n') ++line_;
          field += *c;
          continue;
        }
      }
      if (*c == delim_) {
        fields.push_back(std::move(field));
        field.clear();
        quoted = false;
      } else if (*c == '\n') {
        ++line_;
        if (!field.empty() && field.back() == '\r' && !quoted) field.pop_back();
        fields.push_back(std::move(field));
        return true;
      } else if (*c == '"' && field.empty() && !quoted) {
        in_quotes = quoted = true;
      } else if (*c == '\r') {
        field += *c;  // dropped before '\n' above
      } else {
        if (quoted) {
          return Error::InvalidArgument("line " + std::to_string(line_) + ": text after a closing quote");
        }
        field += *c;
      }
    }
  }

 private:
  Input& in_;
  char delim_;
  int64_t line_ = 1;
  bool first_ = true;
  int bom_ = 0;
};

// One JSON value per non-blank line.
class JsonlReader {
 public:
  explicit JsonlReader(Input& in) : in_(in) {}
  Result<bool> Next(Json& value, int64_t& line) {
    std::string text;
    for (;;) {
      text.clear();
      bool end = false;
      for (;;) {
        C19_ASSIGN_OR_RETURN(auto c, in_.Get());
        if (!c) {
          end = true;
          break;
        }
        if (*c == '\n') break;
        text += *c;
      }
      line = ++line_;
      if (line_ == 1 && text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
      if (Trim(text).empty()) {
        if (end) return false;
        continue;
      }
      value = Json::parse(text, nullptr, false);
      if (value.is_discarded()) return Error::InvalidArgument("line " + std::to_string(line) + ": not valid JSON");
      return true;
    }
  }

 private:
  Input& in_;
  int64_t line_ = 0;
};

// A CSV cell as JSON: empty is null, numbers are numbers, the rest text.
Json Cell(const std::string& s);

// Every row of a CSV (with a header) or JSON Lines object as a JSON object keyed by column; CSV cells
// typed by Cell. invalid_argument naming the line for malformed input or a JSON line that is not an
// object; resource_exhausted beyond `max_rows` rows.
Result<std::vector<Json>> ReadRecords(std::unique_ptr<storage::ByteSource> source, const std::string& format,
                                      char delimiter, int64_t max_rows);

}  // namespace c19ai::inference::internal
