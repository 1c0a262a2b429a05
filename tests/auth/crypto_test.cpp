#include "auth/crypto.h"

#include <gtest/gtest.h>

namespace c19ai::auth::crypto {
namespace {

TEST(CryptoTest, TotpMatchesRfc6238Vectors) {
  // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", 8 digits truncated to our 6.
  std::string secret = "12345678901234567890";
  EXPECT_EQ(TotpCode(secret, 59 / 30), "287082");
  EXPECT_EQ(TotpCode(secret, 1111111109 / 30), "081804");
  EXPECT_EQ(TotpCode(secret, 1234567890 / 30), "005924");
  EXPECT_EQ(TotpCode(secret, 2000000000 / 30), "279037");
}

TEST(CryptoTest, Base32AndBase64UrlRoundTrip) {
  EXPECT_EQ(Base32Encode("foobar"), "MZXW6YTBOI");
  EXPECT_EQ(Base32Decode("MZXW6YTBOI"), "foobar");
  EXPECT_EQ(Base32Decode("mzxw6ytboi"), "foobar");
  EXPECT_FALSE(Base32Decode("MZ1!"));
  for (std::string s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\xff\x00\x10", 3)}) {
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(s)), s);
  }
  EXPECT_FALSE(Base64UrlDecode("ab+c"));
}

TEST(CryptoTest, JwtVerifiesOnlyThePinnedAlgorithmAndItsOwnSignature) {
  std::string secret(40, 'k');
  std::string token = SignJwt(R"({"sub":"u"})", secret);
  auto ok = VerifyJwt(token, secret);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, R"({"sub":"u"})");
  EXPECT_FALSE(VerifyJwt(token, std::string(40, 'x')).ok());  // wrong key
  EXPECT_FALSE(VerifyJwt(token, "").ok());                    // never without a key

  // Tampered payload.
  std::string tampered = token;
  auto d1 = tampered.find('.'), d2 = tampered.rfind('.');
  tampered.replace(d1 + 1, d2 - d1 - 1, Base64UrlEncode(R"({"sub":"admin"})"));
  EXPECT_FALSE(VerifyJwt(tampered, secret).ok());

  // alg "none" with an empty signature, and HS512.
  std::string none = Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." + Base64UrlEncode(R"({"sub":"u"})") + ".";
  EXPECT_FALSE(VerifyJwt(none, secret).ok());
  std::string hs512_head = Base64UrlEncode(R"({"alg":"HS512","typ":"JWT"})");
  std::string body = hs512_head + "." + Base64UrlEncode(R"({"sub":"u"})");
  EXPECT_FALSE(VerifyJwt(body + "." + Base64UrlEncode(HmacSha256(secret, body)), secret).ok());
  // Malformed.
  EXPECT_FALSE(VerifyJwt("a.b", secret).ok());
  EXPECT_FALSE(VerifyJwt("a.b.c.d", secret).ok());
  EXPECT_FALSE(VerifyJwt(token + "x", secret).ok());
}

TEST(CryptoTest, PasswordHashesAreArgon2idAndSalted) {
  Argon2Params p{8192, 1};
  auto a = HashPassword("correct horse", p);
  auto b = HashPassword("correct horse", p);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->starts_with("$argon2id$"));
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(VerifyPassword("correct horse", *a));
  EXPECT_FALSE(VerifyPassword("correct horsf", *a));
  EXPECT_TRUE(NeedsRehash(*a, Argon2Params{19 << 20, 2}));
  EXPECT_FALSE(NeedsRehash(*a, p));
}

}  // namespace
}  // namespace c19ai::auth::crypto
