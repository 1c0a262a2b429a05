#include "common/ids.h"

#include <random>

#include "common/clock.h"

namespace c19ai {

namespace {
// xoshiro256** seeded per thread from std::random_device.
struct Rng {
  uint64_t s[4];
  Rng() {
    std::random_device rd;
    for (auto& v : s) v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t Next() {
    const uint64_t result = Rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = Rotl(s[3], 45);
    return result;
  }
};
thread_local Rng rng;
constexpr char kHex[] = "0123456789abcdef";
}  // namespace

std::string NewIdAt(int64_t ms) {
  uint8_t b[16];
  uint64_t t = static_cast<uint64_t>(ms);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(t >> (40 - 8 * i));
  uint64_t r1 = rng.Next(), r2 = rng.Next();
  for (int i = 6; i < 16; ++i) b[i] = static_cast<uint8_t>((i < 14 ? r1 >> (8 * (i - 6)) : r2 >> (8 * (i - 14))));
  b[6] = static_cast<uint8_t>(0x70 | (b[6] & 0x0f));  // version 7
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));  // variant 10
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 15]);
  }
  return out;
}

std::string NewId() { return NewIdAt(NowMs()); }

bool LooksLikeId(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
      return false;
    }
  }
  return true;
}

std::string NewRequestId() {
  uint64_t v = rng.Next();
  std::string out = "r-";
  out.resize(18);
  for (int i = 0; i < 16; ++i) out[2 + i] = kHex[(v >> (4 * i)) & 15];
  return out;
}

}  // namespace c19ai
