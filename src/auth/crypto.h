#pragma once
// Cryptographic helpers of the auth module (internal): random tokens, SHA-256, HMAC, base64url and
// base32, HS256 JWTs with a pinned header, Argon2id password hashes and RFC 6238 TOTP codes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace c19ai::auth::crypto {

// `bytes` random bytes from libsodium's CSPRNG.
std::string RandomBytes(size_t bytes);
// A random token of `bytes` entropy, base64url without padding.
std::string RandomToken(size_t bytes = 32);

std::string Sha256(std::string_view data);     // raw 32 bytes
std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);
std::string HmacSha1(std::string_view key, std::string_view data);

std::string Base64UrlEncode(std::string_view data);
std::optional<std::string> Base64UrlDecode(std::string_view text);
std::string Base32Encode(std::string_view data);
std::optional<std::string> Base32Decode(std::string_view text);

// JWT with header {"alg":"HS256","typ":"JWT"} exactly: any other header (alg "none", RS256, extra
// fields) is refused before the signature is even looked at.
std::string SignJwt(std::string_view payload_json, std::string_view secret);
// The payload JSON when the header is the pinned one and the signature verifies; unauthenticated
// otherwise. Claims are checked by the caller.
Result<std::string> VerifyJwt(std::string_view token, std::string_view secret);

struct Argon2Params {
  uint64_t memory_bytes = 64ull << 20;
  uint64_t iterations = 3;
};
// An encoded Argon2id hash ("$argon2id$v=19$m=...") of the password with a random salt.
Result<std::string> HashPassword(std::string_view password, const Argon2Params& params);
// Constant-time verification against an encoded hash.
bool VerifyPassword(std::string_view password, const std::string& encoded);
bool NeedsRehash(const std::string& encoded, const Argon2Params& params);

// The 6-digit RFC 6238 code (HMAC-SHA1, 30 s steps) of `step` for a raw secret.
std::string TotpCode(std::string_view secret, int64_t step);

}  // namespace c19ai::auth::crypto
