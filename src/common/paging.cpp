#include "common/paging.h"

#include <cstdlib>

namespace c19ai {

// "p" + offset in base 36, then a check character, so that typos are refused rather than misread.
std::string EncodePageToken(int64_t offset) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string digits;
  uint64_t v = static_cast<uint64_t>(offset);
  do {
    digits.insert(digits.begin(), kDigits[v % 36]);
    v /= 36;
  } while (v);
  unsigned sum = 0;
  for (char c : digits) sum = sum * 31 + static_cast<unsigned char>(c);
  return "p" + digits + kDigits[sum % 36];
}

Result<int64_t> DecodePageToken(std::string_view token) {
  auto bad = [&] {
    return Error::Field("page_token", "page_token \"" + std::string(token.substr(0, 40)) + "\" is not valid");
  };
  if (token.size() < 3 || token.size() > 16 || token[0] != 'p') return bad();
  std::string digits(token.substr(1, token.size() - 2));
  char* end = nullptr;
  long long v = std::strtoll(digits.c_str(), &end, 36);
  if (*end != '\0' || v < 0) return bad();
  if (EncodePageToken(v) != token) return bad();
  return static_cast<int64_t>(v);
}

}  // namespace c19ai
