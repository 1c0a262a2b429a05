#pragma once
// A streaming multipart/form-data reader (RFC 7578) over a request body: parts come one after the
// other and each part's content is pulled in pieces, so an uploaded file never has to fit in memory.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace c19ai::http {

class BodyReader;

struct PartHeaders {
  std::string name;          // from Content-Disposition
  std::string filename;      // "" when the part is not a file
  std::string content_type;  // "" when absent (text/plain by default)
};

class MultipartReader {
 public:
  // invalid_argument (field "Content-Type") unless `content_type` is multipart/form-data with a
  // boundary. `body` must outlive the reader.
  static Result<std::unique_ptr<MultipartReader>> Create(BodyReader& body, std::string_view content_type);
  virtual ~MultipartReader() = default;

  // Skips what is left of the current part and moves to the next; nullopt after the last one.
  // invalid_argument for malformed framing or part headers (over 16 KiB, no Content-Disposition).
  virtual Result<std::optional<PartHeaders>> NextPart() = 0;
  // Reads the current part's content; 0 at its end.
  virtual Result<size_t> Read(char* data, size_t size) = 0;
  // Reads the rest of the current part (small parts such as JSON metadata); payload_too_large
  // beyond `limit`.
  Result<std::string> ReadAll(size_t limit);
};

}  // namespace c19ai::http
