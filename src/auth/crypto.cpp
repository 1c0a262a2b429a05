#include "auth/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <array>
#include <cstdio>
#include <cstring>

#include "common/text.h"

namespace c19ai::auth::crypto {

namespace {
struct SodiumInit {
  SodiumInit() {
    if (sodium_init() < 0) std::abort();
  }
};
void EnsureSodium() { static SodiumInit init; }

constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kB32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
// base64url of {"alg":"HS256","typ":"JWT"}
constexpr std::string_view kJwtHeader = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
}  // namespace

std::string RandomBytes(size_t bytes) {
  EnsureSodium();
  std::string out(bytes, '\0');
  randombytes_buf(out.data(), bytes);
  return out;
}

std::string RandomToken(size_t bytes) { return Base64UrlEncode(RandomBytes(bytes)); }

std::string Sha256(std::string_view data) {
  unsigned char out[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(out), 32);
}

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256(data)); }

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string HmacSha1(std::string_view key, std::string_view data) {
  unsigned char out[20];
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Base64UrlEncode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<unsigned char>(data[k]); };
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out.push_back(kB64Url[(v >> 18) & 63]);
    out.push_back(kB64Url[(v >> 12) & 63]);
    out.push_back(kB64Url[(v >> 6) & 63]);
    out.push_back(kB64Url[v & 63]);
  }
  if (i + 1 == data.size()) {
    uint32_t v = byte(i) << 16;
    out.push_back(kB64Url[(v >> 18) & 63]);
    out.push_back(kB64Url[(v >> 12) & 63]);
  } else if (i + 2 == data.size()) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out.push_back(kB64Url[(v >> 18) & 63]);
    out.push_back(kB64Url[(v >> 12) & 63]);
    out.push_back(kB64Url[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  static const auto table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kB64Url[i])] = static_cast<int8_t>(i);
    return t;
  }();
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int8_t v = table[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string Base32Encode(std::string_view data) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : data) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kB32[(acc >> bits) & 31]);
    }
  }
  if (bits > 0) out.push_back(kB32[(acc << (5 - bits)) & 31]);
  return out;
}

std::optional<std::string> Base32Decode(std::string_view text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=' || c == ' ') continue;
    const char* p = std::strchr(kB32, std::toupper(static_cast<unsigned char>(c)));
    if (!p || !*p) return std::nullopt;
    acc = (acc << 5) | static_cast<uint32_t>(p - kB32);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string SignJwt(std::string_view payload_json, std::string_view secret) {
  std::string token(kJwtHeader);
  token.push_back('.');
  token += Base64UrlEncode(payload_json);
  std::string sig = HmacSha256(secret, token);
  token.push_back('.');
  token += Base64UrlEncode(sig);
  return token;
}

Result<std::string> VerifyJwt(std::string_view token, std::string_view secret) {
  auto bad = [](const char* why) { return Error::Unauthenticated(std::string("invalid access token: ") + why); };
  if (secret.empty()) return bad("no signing key");  // never verify without a key
  size_t d1 = token.find('.');
  if (d1 == std::string_view::npos) return bad("malformed");
  size_t d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) return bad("malformed");
  if (token.substr(0, d1) != kJwtHeader) return bad("unsupported header or algorithm");
  auto sig = Base64UrlDecode(token.substr(d2 + 1));
  if (!sig || sig->size() != 32) return bad("malformed signature");
  std::string expected = HmacSha256(secret, token.substr(0, d2));
  if (CRYPTO_memcmp(expected.data(), sig->data(), 32) != 0) return bad("bad signature");
  auto payload = Base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1));
  if (!payload) return bad("malformed payload");
  return std::move(*payload);
}

Result<std::string> HashPassword(std::string_view password, const Argon2Params& params) {
  EnsureSodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params.iterations, params.memory_bytes,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Error::ResourceExhausted("not enough memory to hash the password");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view password, const std::string& encoded) {
  EnsureSodium();
  return crypto_pwhash_str_verify(encoded.c_str(), password.data(), password.size()) == 0;
}

bool NeedsRehash(const std::string& encoded, const Argon2Params& params) {
  return crypto_pwhash_str_needs_rehash(encoded.c_str(), params.iterations, params.memory_bytes) != 0;
}

std::string TotpCode(std::string_view secret, int64_t step) {
  unsigned char msg[8];
  for (int i = 7; i >= 0; --i) {
    msg[i] = static_cast<unsigned char>(step & 0xff);
    step >>= 8;
  }
  std::string h = HmacSha1(secret, std::string_view(reinterpret_cast<char*>(msg), 8));
  int offset = h[19] & 0x0f;
  uint32_t bin = (static_cast<uint32_t>(h[offset] & 0x7f) << 24) |
                 (static_cast<uint32_t>(static_cast<unsigned char>(h[offset + 1])) << 16) |
                 (static_cast<uint32_t>(static_cast<unsigned char>(h[offset + 2])) << 8) |
                 static_cast<uint32_t>(static_cast<unsigned char>(h[offset + 3]));
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%06u", bin % 1000000);
  return buf;
}

}  // namespace c19ai::auth::crypto
