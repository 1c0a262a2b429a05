#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "http/http.h"
#include "http/multipart.h"

namespace c19ai::http {
namespace {

// Hands out a body in pieces of the given size (1 = byte by byte).
class PieceReader final : public BodyReader {
 public:
  PieceReader(std::string data, size_t piece) : data_(std::move(data)), piece_(piece) {}
  Result<size_t> Read(char* out, size_t size) override {
    size_t n = std::min({size, piece_, data_.size() - pos_});
    std::memcpy(out, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  int64_t content_length() const override { return static_cast<int64_t>(data_.size()); }

 private:
  std::string data_;
  size_t piece_;
  size_t pos_ = 0;
};

std::string Body(const std::string& file) {
  return "preamble is ignored\r\n"
         "--XyZ\r\n"
         "Content-Disposition: form-data; name=\"artifact\"; filename=\"m;odd.pt\"\r\n"
         "Content-Type: application/octet-stream\r\n\r\n" +
         file +
         "\r\n--XyZ  \r\n"
         "content-disposition: form-data; name=metadata\r\n"
         "Content-Type: application/json\r\n\r\n"
         "{\"a\":1}\r\n"
         "--XyZ--\r\n";
}

TEST(Multipart, StreamsPartsWhateverThePieceSize) {
  // Content that contains near-delimiters and CRLFs.
  std::string file = "\r\n--XyQ-not-quite\r\n--Xy";  // (a body never contains the delimiter itself)
  std::mt19937 rng(1);
  for (int i = 0; i < 200000; ++i) file += static_cast<char>(rng() % 256);
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}, size_t{1 << 20}}) {
    PieceReader body(Body(file), piece);
    auto mp = MultipartReader::Create(body, "multipart/form-data; boundary=\"XyZ\"");
    ASSERT_TRUE(mp.ok());
    auto p1 = (*mp)->NextPart();
    ASSERT_TRUE(p1.ok()) << p1.error().message;
    ASSERT_TRUE(p1->has_value());
    EXPECT_EQ((*p1)->name, "artifact");
    EXPECT_EQ((*p1)->filename, "m;odd.pt");
    EXPECT_EQ((*p1)->content_type, "application/octet-stream");
    std::string got;
    char buf[1000];
    for (;;) {
      auto n = (*mp)->Read(buf, sizeof buf);
      ASSERT_TRUE(n.ok());
      if (*n == 0) break;
      got.append(buf, *n);
    }
    EXPECT_TRUE(got == file) << "piece " << piece << ": " << got.size() << " bytes";
    auto p2 = (*mp)->NextPart();
    ASSERT_TRUE(p2.ok() && p2->has_value());
    EXPECT_EQ((*p2)->name, "metadata");
    EXPECT_EQ(*(*mp)->ReadAll(100), "{\"a\":1}");
    auto end = (*mp)->NextPart();
    ASSERT_TRUE(end.ok());
    EXPECT_FALSE(end->has_value());
  }
}

TEST(Multipart, SkipsUnreadPartsAndRejectsMalformedBodies) {
  PieceReader body(Body("abc"), 3);
  auto mp = MultipartReader::Create(body, "multipart/form-data; boundary=XyZ");
  ASSERT_TRUE(mp.ok());
  ASSERT_TRUE((*mp)->NextPart().ok());
  auto second = (*mp)->NextPart();  // the artifact was never read
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->name, "metadata");

  EXPECT_EQ(MultipartReader::Create(body, "application/json").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(MultipartReader::Create(body, "multipart/form-data").error().code, ErrorCode::kInvalidArgument);

  std::string truncated = Body("abc");
  truncated.resize(truncated.size() - 12);  // inside the metadata part, before the closing delimiter
  PieceReader short_body(truncated, 5);
  auto mp2 = MultipartReader::Create(short_body, "multipart/form-data; boundary=XyZ");
  auto first = (*mp2)->NextPart();
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto meta = (*mp2)->NextPart();
  ASSERT_TRUE(meta.ok()) << meta.error().message;
  auto bad = (*mp2)->NextPart();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);

  PieceReader no_name("--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--", 100);
  auto mp3 = MultipartReader::Create(no_name, "multipart/form-data; boundary=XyZ");
  EXPECT_EQ((*mp3)->NextPart().error().code, ErrorCode::kInvalidArgument);

  PieceReader big("--XyZ\r\nContent-Disposition: form-data; name=\"m\"\r\n\r\n" + std::string(5000, 'x') +
                      "\r\n--XyZ--",
                  100);
  auto mp4 = MultipartReader::Create(big, "multipart/form-data; boundary=XyZ");
  ASSERT_TRUE((*mp4)->NextPart().ok());
  EXPECT_EQ((*mp4)->ReadAll(1000).error().code, ErrorCode::kPayloadTooLarge);
}

}  // namespace
}  // namespace c19ai::http
