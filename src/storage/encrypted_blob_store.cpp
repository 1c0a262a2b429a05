// Encryption at rest as a BlobStore wrapper.
//
// Object layout: header | chunk 0 | chunk 1 | ... where
//   header = "C19E" | version (1) | key id length (1) | key id | base nonce (24)
//   chunk i = XChaCha20-Poly1305(plaintext[i * 64 KiB, ...], nonce = base nonce with its last 8 bytes
//             XORed with i, AAD = i (8 bytes LE) | is_last (1)) -> ciphertext + 16-byte tag
// An empty object is one empty, final chunk. The AAD binds each chunk to its position and marks the
// last one, so reordering, truncation and extension fail authentication. Ranges decrypt only the
// chunks they touch.

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "common/text.h"
#include "storage/storage.h"

namespace c19ai::storage {

namespace {

constexpr size_t kChunk = 64 << 10;
constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kCipherChunk = kChunk + kTag;
constexpr std::string_view kMagic = "C19E";

struct Header {
  std::string key_id;
  unsigned char nonce[kNonce];
  size_t size = 0;  // bytes on disk
  std::string Encode() const {
    std::string out(kMagic);
    out.push_back(1);
    out.push_back(static_cast<char>(key_id.size()));
    out += key_id;
    out.append(reinterpret_cast<const char*>(nonce), kNonce);
    return out;
  }
};

Result<Header> DecodeHeader(std::string_view data) {
  auto bad = [] { return Error::Internal("encrypted blob has a malformed header"); };
  if (data.size() < 6 || data.substr(0, 4) != kMagic || data[4] != 1) return bad();
  size_t id_len = static_cast<unsigned char>(data[5]);
  if (data.size() < 6 + id_len + kNonce) return bad();
  Header h;
  h.key_id = std::string(data.substr(6, id_len));
  std::memcpy(h.nonce, data.data() + 6 + id_len, kNonce);
  h.size = 6 + id_len + kNonce;
  return h;
}

void ChunkNonce(const unsigned char* base, uint64_t index, unsigned char* out) {
  std::memcpy(out, base, kNonce);
  for (int i = 0; i < 8; ++i) out[kNonce - 8 + i] ^= static_cast<unsigned char>(index >> (8 * i));
}

void ChunkAad(uint64_t index, bool last, unsigned char* aad) {
  for (int i = 0; i < 8; ++i) aad[i] = static_cast<unsigned char>(index >> (8 * i));
  aad[8] = last ? 1 : 0;
}

int64_t PlainSize(int64_t stored, size_t header) {
  int64_t body = stored - static_cast<int64_t>(header);
  if (body < static_cast<int64_t>(kTag)) return -1;
  int64_t chunks = (body + static_cast<int64_t>(kCipherChunk) - 1) / static_cast<int64_t>(kCipherChunk);
  return body - chunks * static_cast<int64_t>(kTag);
}

// Encrypts a plaintext source chunk by chunk, reading one chunk ahead to know which is last.
class EncryptingSource final : public ByteSource {
 public:
  EncryptingSource(ByteSource& inner, const std::string& key, Header header)
      : inner_(inner), key_(key), header_(std::move(header)) {
    out_ = header_.Encode();
  }

  Result<size_t> Read(char* data, size_t size) override {
    if (out_pos_ >= out_.size()) {
      if (done_) return size_t{0};
      C19_TRY(Produce());
    }
    size_t n = std::min(size, out_.size() - out_pos_);
    std::memcpy(data, out_.data() + out_pos_, n);
    out_pos_ += n;
    return n;
  }

 private:
  Result<std::string> ReadChunk() {
    std::string chunk(kChunk, '\0');
    size_t filled = 0;
    while (filled < kChunk) {
      C19_ASSIGN_OR_RETURN(size_t n, inner_.Read(chunk.data() + filled, kChunk - filled));
      if (n == 0) break;
      filled += n;
    }
    chunk.resize(filled);
    return chunk;
  }

  Status Produce() {
    if (!primed_) {
      C19_ASSIGN_OR_RETURN(next_, ReadChunk());
      primed_ = true;
    }
    std::string current = std::move(next_);
    bool last = current.size() < kChunk;
    if (!last) {
      C19_ASSIGN_OR_RETURN(next_, ReadChunk());
      last = next_.empty();
    }
    unsigned char nonce[kNonce], aad[9];
    ChunkNonce(header_.nonce, index_, nonce);
    ChunkAad(index_, last, aad);
    out_.resize(current.size() + kTag);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(reinterpret_cast<unsigned char*>(out_.data()), &clen,
                                               reinterpret_cast<const unsigned char*>(current.data()), current.size(),
                                               aad, sizeof(aad), nullptr, nonce,
                                               reinterpret_cast<const unsigned char*>(key_.data()));
    out_.resize(clen);
    out_pos_ = 0;
    ++index_;
    done_ = last;
    return OkStatus();
  }

  ByteSource& inner_;
  const std::string& key_;
  Header header_;
  std::string out_, next_;
  size_t out_pos_ = 0;
  uint64_t index_ = 0;
  bool primed_ = false;
  bool done_ = false;
};

// Decrypts chunks [first, last] of an object and yields plaintext [skip, skip + length).
class DecryptingSource final : public ByteSource {
 public:
  DecryptingSource(std::unique_ptr<ByteSource> cipher, std::string key, Header header, uint64_t first_chunk,
                   uint64_t total_chunks, size_t skip, int64_t length)
      : cipher_(std::move(cipher)),
        key_(std::move(key)),
        header_(std::move(header)),
        index_(first_chunk),
        total_(total_chunks),
        skip_(skip),
        left_(length) {}

  Result<size_t> Read(char* data, size_t size) override {
    if (left_ <= 0) return size_t{0};
    if (pos_ >= plain_.size()) C19_TRY(NextChunk());
    size_t n = std::min({size, plain_.size() - pos_, static_cast<size_t>(left_)});
    std::memcpy(data, plain_.data() + pos_, n);
    pos_ += n;
    left_ -= static_cast<int64_t>(n);
    return n;
  }

 private:
  Status NextChunk() {
    if (index_ >= total_) return Error::Internal("encrypted blob ended early");
    std::string cipher(kCipherChunk, '\0');
    size_t filled = 0;
    while (filled < kCipherChunk) {
      C19_ASSIGN_OR_RETURN(size_t n, cipher_->Read(cipher.data() + filled, kCipherChunk - filled));
      if (n == 0) break;
      filled += n;
    }
    cipher.resize(filled);
    bool last = index_ + 1 == total_;
    if (filled < kTag || (!last && filled != kCipherChunk)) {
      return Error::Internal("encrypted blob is truncated at chunk " + std::to_string(index_));
    }
    unsigned char nonce[kNonce], aad[9];
    ChunkNonce(header_.nonce, index_, nonce);
    ChunkAad(index_, last, aad);
    plain_.resize(filled - kTag);
    unsigned long long plen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain_.data()), &plen, nullptr,
                                                   reinterpret_cast<const unsigned char*>(cipher.data()), filled, aad,
                                                   sizeof(aad), nonce,
                                                   reinterpret_cast<const unsigned char*>(key_.data())) != 0) {
      return Error::Internal("encrypted blob failed authentication at chunk " + std::to_string(index_) +
                             " (tampered or wrong key)");
    }
    plain_.resize(plen);
    pos_ = skip_;
    skip_ = 0;
    ++index_;
    return OkStatus();
  }

  std::unique_ptr<ByteSource> cipher_;
  std::string key_;
  Header header_;
  uint64_t index_, total_;
  size_t skip_;
  int64_t left_;
  std::string plain_;
  size_t pos_ = 0;
};

class EncryptedBlobStore final : public BlobStore {
 public:
  EncryptedBlobStore(std::unique_ptr<BlobStore> inner, Keyring keys) : inner_(std::move(inner)), keys_(std::move(keys)) {}

  std::string kind() const override { return "encrypted+" + inner_->kind(); }

  Result<int64_t> Put(const std::string& key, ByteSource& source) override {
    Header h;
    h.key_id = keys_.active;
    randombytes_buf(h.nonce, kNonce);
    h.size = 6 + h.key_id.size() + kNonce;
    EncryptingSource enc(source, keys_.keys.at(keys_.active), h);
    C19_ASSIGN_OR_RETURN(int64_t stored, inner_->Put(key, enc));
    return PlainSize(stored, h.size);
  }

  Result<std::pair<Header, int64_t>> ReadHeader(const std::string& key) {
    C19_ASSIGN_OR_RETURN(BlobStat st, inner_->Head(key));
    C19_ASSIGN_OR_RETURN(auto src, inner_->Get(key, {0, std::min<int64_t>(st.size, 6 + 255 + kNonce)}));
    C19_ASSIGN_OR_RETURN(std::string head, ReadAll(*src, 1024));
    C19_ASSIGN_OR_RETURN(Header h, DecodeHeader(head));
    return std::make_pair(h, st.size);
  }

  Result<std::unique_ptr<ByteSource>> Get(const std::string& key, ByteRange range) override {
    C19_ASSIGN_OR_RETURN(auto hs, ReadHeader(key));
    auto& [h, stored] = hs;
    auto it = keys_.keys.find(h.key_id);
    if (it == keys_.keys.end()) {
      return Error::Internal("blob " + key + " is encrypted with key \"" + h.key_id + "\", which is not configured");
    }
    int64_t plain = PlainSize(stored, h.size);
    if (plain < 0) return Error::Internal("encrypted blob " + key + " is truncated");
    if (range.offset < 0 || range.offset > plain || (range.offset == plain && plain > 0 && range.length != 0)) {
      return Error::InvalidArgument("range starts at " + std::to_string(range.offset) + ", past the end (" +
                                    std::to_string(plain) + " bytes)");
    }
    int64_t length = range.length < 0 ? plain - range.offset : std::min(range.length, plain - range.offset);
    uint64_t total_chunks = static_cast<uint64_t>((stored - static_cast<int64_t>(h.size) + kCipherChunk - 1) /
                                                  kCipherChunk);
    uint64_t first = static_cast<uint64_t>(range.offset) / kChunk;
    if (first >= total_chunks) first = total_chunks - 1;  // empty object or a range at the very end
    int64_t cipher_off = static_cast<int64_t>(h.size + first * kCipherChunk);
    C19_ASSIGN_OR_RETURN(auto cipher, inner_->Get(key, {cipher_off, -1}));
    size_t skip = static_cast<size_t>(range.offset - static_cast<int64_t>(first * kChunk));
    return std::unique_ptr<ByteSource>(
        new DecryptingSource(std::move(cipher), it->second, h, first, total_chunks, skip, length));
  }

  Result<BlobStat> Head(const std::string& key) override {
    C19_ASSIGN_OR_RETURN(auto hs, ReadHeader(key));
    C19_ASSIGN_OR_RETURN(BlobStat st, inner_->Head(key));
    st.size = PlainSize(hs.second, hs.first.size);
    return st;
  }

  Status Delete(const std::string& key) override { return inner_->Delete(key); }

  Result<BlobListing> List(const std::string& prefix, const std::string& after, int limit) override {
    // Sizes here are stored sizes; plaintext sizes live in the metadata.
    return inner_->List(prefix, after, limit);
  }
  Status Copy(const std::string& from, const std::string& to) override { return inner_->Copy(from, to); }
  Status Move(const std::string& from, const std::string& to) override { return inner_->Move(from, to); }

  BlobStore& inner() { return *inner_; }
  const std::string& active_key() const { return keys_.active; }

 private:
  std::unique_ptr<BlobStore> inner_;
  Keyring keys_;
};

}  // namespace

std::unique_ptr<BlobStore> NewEncryptedBlobStore(std::unique_ptr<BlobStore> inner, Keyring keys) {
  if (sodium_init() < 0) std::abort();
  return std::make_unique<EncryptedBlobStore>(std::move(inner), std::move(keys));
}

Result<std::string> EncryptionKeyOf(BlobStore& store, const std::string& key) {
  auto* enc = dynamic_cast<EncryptedBlobStore*>(&store);
  if (!enc) return std::string();
  C19_ASSIGN_OR_RETURN(auto src, enc->inner().Get(key, {0, 6 + 255 + static_cast<int64_t>(kNonce)}));
  C19_ASSIGN_OR_RETURN(std::string head, ReadAll(*src, 1024));
  C19_ASSIGN_OR_RETURN(Header h, DecodeHeader(head));
  return h.key_id;
}

std::string ActiveEncryptionKey(BlobStore& store) {
  auto* enc = dynamic_cast<EncryptedBlobStore*>(&store);
  return enc ? enc->active_key() : std::string();
}

Result<Keyring> ParseKeyring(std::string_view text) {
  Keyring k;
  for (const auto& item : Split(text, ',', true)) {
    auto colon = item.find(':');
    std::string id = std::string(Trim(std::string_view(item).substr(0, colon)));
    if (colon == std::string::npos || id.empty() || id.size() > 64) {
      return Error::Field("storage.encryption_keys", "encryption keys are \"id:base64key\" entries");
    }
    std::string b64(Trim(std::string_view(item).substr(colon + 1)));
    unsigned char raw[64];
    size_t len = 0;
    if (sodium_base642bin(raw, sizeof(raw), b64.c_str(), b64.size(), nullptr, &len, nullptr,
                          sodium_base64_VARIANT_ORIGINAL) != 0 &&
        sodium_base642bin(raw, sizeof(raw), b64.c_str(), b64.size(), nullptr, &len, nullptr,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
      return Error::Field("storage.encryption_keys", "encryption key \"" + id + "\" is not valid base64");
    }
    if (len != crypto_aead_xchacha20poly1305_ietf_KEYBYTES) {
      return Error::Field("storage.encryption_keys", "encryption key \"" + id + "\" must be 32 bytes, got " +
                                                         std::to_string(len));
    }
    if (k.active.empty()) k.active = id;
    k.keys[id] = std::string(reinterpret_cast<char*>(raw), len);
  }
  if (k.active.empty()) return Error::Field("storage.encryption_keys", "no encryption key given");
  return k;
}

}  // namespace c19ai::storage
