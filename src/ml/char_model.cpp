// Character-level language models (LibTorch): the char_rnn (GRU) and char_transformer (causal
// Transformer encoder with learned positions) networks, their code-point vocabulary, the trainer, and
// the served model that continues a prompt by sampling on the CPU.

#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <unordered_map>

#include "common/json.h"
#include "ml/internal.h"
#include "ml/torch_nets.h"
#include "ml/torch_optim.h"
#include "ml/train.h"

namespace c19ai::ml {

namespace {

using internal::PutBlob;
using internal::TakeBlob;

constexpr std::string_view kCheckpointMagic = "C19CHAR1";
constexpr int64_t kMaxVocabulary = 10'000;     // distinct characters (the output layer is this wide)
constexpr int64_t kMaxGenerateTokens = 2'000;  // per request
constexpr int64_t kMaxPromptChars = 20'000;
constexpr int64_t kEvalWindows = 256;          // validation windows per forward pass
constexpr double kClipNorm = 1.0;              // gradient norm clipping (recurrent nets need it)
constexpr char32_t kReplacement = 0xFFFD;

// ---------------------------------------------------------------- UTF-8

// Code points of UTF-8 text; an invalid or truncated sequence reads as U+FFFD, one byte at a time.
std::vector<char32_t> DecodeUtf8(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    int len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    bool ok = len > 0 && i + static_cast<size_t>(len) <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      const auto cb = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      ok = (cb & 0xC0) == 0x80;
      c = (c << 6) | (cb & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid too.
    static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    ok = ok && c >= kMin[len] && c <= 0x10FFFF && (c < 0xD800 || c > 0xDFFF);
    out.push_back(ok ? c : kReplacement);
    i += ok ? static_cast<size_t>(len) : 1;
  }
  return out;
}

void AppendUtf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Index 0 is the unknown symbol; characters follow in code-point order.
class CharVocabulary {
 public:
  static CharVocabulary FromText(const std::vector<char32_t>& text) {
    CharVocabulary v;
    v.chars_ = text;
    std::sort(v.chars_.begin(), v.chars_.end());
    v.chars_.erase(std::unique(v.chars_.begin(), v.chars_.end()), v.chars_.end());
    v.Index();
    return v;
  }

  // The bundle's `extra`: {"encoding": "utf8_codepoints", "unknown": 0, "characters": "<index 1..>"}.
  static Result<CharVocabulary> Parse(std::string_view extra) {
    Json j = Json::parse(extra, nullptr, false);
    if (!j.is_object() || !j.contains("characters") || !j["characters"].is_string()) {
      return Error::Unprocessable("the bundle's vocabulary is not {\"characters\": \"...\"}");
    }
    CharVocabulary v;
    v.chars_ = DecodeUtf8(j["characters"].get<std::string>());
    if (v.chars_.empty()) return Error::Unprocessable("the bundle's vocabulary is empty");
    v.Index();
    if (v.index_.size() != v.chars_.size()) return Error::Unprocessable("the bundle's vocabulary repeats a character");
    return v;
  }

  std::string Serialize() const {
    std::string chars;
    for (char32_t c : chars_) AppendUtf8(chars, c);
    return DumpJson(Json{{"encoding", "utf8_codepoints"}, {"unknown", 0}, {"characters", chars}});
  }

  int64_t size() const { return static_cast<int64_t>(chars_.size()) + 1; }
  int64_t Encode(char32_t c) const {
    auto it = index_.find(c);
    return it == index_.end() ? 0 : it->second;
  }
  std::vector<int64_t> Encode(const std::vector<char32_t>& text) const {
    std::vector<int64_t> out(text.size());
    for (size_t i = 0; i < text.size(); ++i) out[i] = Encode(text[i]);
    return out;
  }
  char32_t Decode(int64_t index) const {
    return index >= 1 && index <= static_cast<int64_t>(chars_.size()) ? chars_[static_cast<size_t>(index - 1)]
                                                                        : kReplacement;
  }

 private:
  void Index() {
    for (size_t i = 0; i < chars_.size(); ++i) index_.emplace(chars_[i], static_cast<int64_t>(i) + 1);
  }
  std::vector<char32_t> chars_;
  std::unordered_map<char32_t, int64_t> index_;
};

// ---------------------------------------------------------------- networks

struct CharOptions {
  std::string architecture;
  int64_t hidden = 128, layers = 2, seq_len = 64, heads = 4, embedding_dim = 64;
  double dropout = 0;
};

Result<CharOptions> ParseCharOptions(std::string_view architecture, std::string_view params_json) {
  const bool rnn = architecture == "char_rnn";
  if (!rnn && architecture != "char_transformer") {
    return Error::Field("model.architecture", "a character model is char_rnn or char_transformer");
  }
  Json p = Json::parse(params_json, nullptr, false);
  if (!p.is_object()) return Error::Field("model.params", "model.params must be an object");
  CharOptions o;
  o.architecture = std::string(architecture);
  FieldReader r(p, "model.params");
  o.hidden = r.OptInt("hidden", 8, 1024).value_or(o.hidden);
  o.layers = r.OptInt("layers", 1, 8).value_or(o.layers);
  o.seq_len = r.OptInt("seq_len", 2, 512).value_or(o.seq_len);
  o.dropout = r.OptNumber("dropout", 0, 0.9).value_or(o.dropout);
  if (rnn) {
    o.embedding_dim = r.OptInt("embedding_dim", 2, 1024).value_or(o.embedding_dim);
    if (r.OptValue("heads")) r.Fail("heads", "heads applies to char_transformer, not char_rnn");
  } else {
    o.heads = r.OptInt("heads", 1, 16).value_or(o.heads);
    if (r.OptValue("embedding_dim")) {
      r.Fail("embedding_dim", "char_transformer embeds characters into `hidden` dimensions; leave embedding_dim out");
    }
  }
  r.Allow("__plateau_metric");  // the training module's note for the scheduler
  C19_TRY(r.Finish());
  if (!rnn && o.hidden % o.heads != 0) {
    return Error::Field("model.params.heads", "hidden (" + std::to_string(o.hidden) +
                                                  ") must be a multiple of heads (" + std::to_string(o.heads) + ")");
  }
  return o;
}

Json OptionsJson(const CharOptions& o) {
  Json j = {{"hidden", o.hidden}, {"layers", o.layers}, {"seq_len", o.seq_len}, {"dropout", o.dropout}};
  if (o.architecture == "char_rnn") j["embedding_dim"] = o.embedding_dim;
  else j["heads"] = o.heads;
  return j;
}

// Embedding → GRU → dropout → Linear to the vocabulary.
class CharRnnImpl : public torch::nn::Module {
 public:
  CharRnnImpl(int64_t vocab, const CharOptions& o)
      : embed_(register_module("embed", torch::nn::Embedding(vocab, o.embedding_dim))),
        gru_(register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(o.embedding_dim, o.hidden)
                                                       .num_layers(o.layers)
                                                       .batch_first(true)
                                                       .dropout(o.layers > 1 ? o.dropout : 0.0)))),
        drop_(register_module("drop", torch::nn::Dropout(o.dropout))),
        out_(register_module("out", torch::nn::Linear(o.hidden, vocab))) {}

  // tokens [B, T] → logits [B, T, V]; `state` is the GRU's hidden state in and out (undefined: zeros).
  torch::Tensor forward(const torch::Tensor& tokens, torch::Tensor& state) {
    auto [y, h] = gru_->forward(embed_->forward(tokens), state);
    state = h;
    return out_->forward(drop_->forward(y));
  }

 private:
  torch::nn::Embedding embed_;
  torch::nn::GRU gru_;
  torch::nn::Dropout drop_;
  torch::nn::Linear out_;
};
TORCH_MODULE(CharRnn);

// Token and learned position embeddings → causal Transformer encoder → LayerNorm → Linear.
class CharTransformerImpl : public torch::nn::Module {
 public:
  CharTransformerImpl(int64_t vocab, const CharOptions& o)
      : embed_(register_module("embed", torch::nn::Embedding(vocab, o.hidden))),
        pos_(register_module("pos", torch::nn::Embedding(o.seq_len, o.hidden))),
        encoder_(register_module(
            "encoder", torch::nn::TransformerEncoder(torch::nn::TransformerEncoderOptions(
                           torch::nn::TransformerEncoderLayerOptions(o.hidden, o.heads)
                               .dim_feedforward(4 * o.hidden)
                               .dropout(o.dropout),
                           o.layers)))),
        norm_(register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden})))),
        out_(register_module("out", torch::nn::Linear(o.hidden, vocab))) {}

  // tokens [B, T] (T <= seq_len) → logits [B, T, V]; position t sees positions 0..t only.
  torch::Tensor forward(const torch::Tensor& tokens) {
    const int64_t t = tokens.size(1);
    torch::Tensor x = embed_->forward(tokens) + pos_->forward(torch::arange(t, torch::kLong));
    torch::Tensor mask = torch::full({t, t}, -std::numeric_limits<float>::infinity()).triu(1);
    x = encoder_->forward(x.transpose(0, 1), mask).transpose(0, 1);
    return out_->forward(norm_->forward(x));
  }

 private:
  torch::nn::Embedding embed_, pos_;
  torch::nn::TransformerEncoder encoder_;
  torch::nn::LayerNorm norm_;
  torch::nn::Linear out_;
};
TORCH_MODULE(CharTransformer);

// One of the two networks behind a common call.
class CharNet {
 public:
  CharNet(int64_t vocab, const CharOptions& o) {
    if (o.architecture == "char_rnn") rnn_ = CharRnn(vocab, o);
    else transformer_ = CharTransformer(vocab, o);
  }
  torch::nn::Module& module() { return rnn_ ? static_cast<torch::nn::Module&>(*rnn_) : *transformer_; }
  const torch::nn::Module& module() const {
    return rnn_ ? static_cast<const torch::nn::Module&>(*rnn_) : *transformer_;
  }
  bool recurrent() const { return static_cast<bool>(rnn_); }
  // tokens [B, T] → logits [B, T, V]; `state` is only used (and updated) by the GRU.
  torch::Tensor Logits(const torch::Tensor& tokens, torch::Tensor& state) {
    return rnn_ ? rnn_->forward(tokens, state) : transformer_->forward(tokens);
  }

 private:
  CharRnn rnn_{nullptr};
  CharTransformer transformer_{nullptr};
};

torch::Tensor LongTensor(const std::vector<int64_t>& v) {
  return torch::from_blob(const_cast<int64_t*>(v.data()), {static_cast<int64_t>(v.size())}, torch::kLong).clone();
}

// Rows [W, T + 1] of `tokens` starting at each of `starts`.
torch::Tensor Windows(const torch::Tensor& tokens, const std::vector<int64_t>& starts, int64_t t) {
  torch::Tensor idx = LongTensor(starts).unsqueeze(1) + torch::arange(t + 1, torch::kLong).unsqueeze(0);
  return tokens.index({idx});
}

// Mean next-character cross-entropy of logits [B, T, V] against targets [B, T].
torch::Tensor Loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(2)}), targets.reshape({-1}));
}

// ---------------------------------------------------------------- training

class TorchCharTrainer final : public CharTrainer {
 public:
  TorchCharTrainer(const CharTrainSpec& spec, CharOptions options, CharVocabulary vocab)
      : spec_(spec), o_(std::move(options)), vocab_(std::move(vocab)), net_(vocab_.size(), o_) {}

  Status Init(const std::vector<char32_t>& train, const std::vector<char32_t>& validation) {
    if (spec_.batch_size < 1) return Error::Field("batch_size", "batch_size must be at least 1");
    if (spec_.epochs < 1) return Error::Field("epochs", "epochs must be at least 1");
    train_ = LongTensor(vocab_.Encode(train));
    val_ = LongTensor(vocab_.Encode(validation));
    n_train_ = static_cast<int64_t>(train.size());
    steps_per_epoch_ = ((n_train_ - 1) / o_.seq_len + spec_.batch_size - 1) / spec_.batch_size;
    C19_ASSIGN_OR_RETURN(opt_, internal::MakeOptimizer(spec_.optimizer, net_.module().parameters()));
    C19_ASSIGN_OR_RETURN(sched_,
                         LrSchedule::Create(spec_.scheduler, spec_.optimizer.lr, spec_.epochs, steps_per_epoch_));
    return OkStatus();
  }

  Result<EpochStats> RunEpoch(const std::function<bool()>& cancelled) override {
    try {
      return Epoch(cancelled);
    } catch (const c10::Error& e) {
      return Error::Internal(std::string("training step failed: ") + e.what_without_backtrace());
    }
  }

  int64_t epochs_done() const override { return epoch_; }

  std::string Checkpoint() override {
    std::string out(kCheckpointMagic);
    for (const std::string& part :
         {std::to_string(epoch_), Weights(), internal::SaveOptimizer(*opt_), sched_->State(), Vocabulary()}) {
      PutBlob(out, part);
    }
    return out;
  }

  Status Restore(std::string_view in) override {
    if (in.substr(0, kCheckpointMagic.size()) != kCheckpointMagic) {
      return Error::Unprocessable("not a character model checkpoint");
    }
    in.remove_prefix(kCheckpointMagic.size());
    C19_ASSIGN_OR_RETURN(std::string_view epoch, TakeBlob(in));
    C19_ASSIGN_OR_RETURN(std::string_view weights, TakeBlob(in));
    C19_ASSIGN_OR_RETURN(std::string_view optimizer, TakeBlob(in));
    C19_ASSIGN_OR_RETURN(std::string_view schedule, TakeBlob(in));
    C19_ASSIGN_OR_RETURN(std::string_view vocabulary, TakeBlob(in));
    if (vocabulary != Vocabulary()) {
      return Error::FailedPrecondition("the checkpoint was trained on a text with another vocabulary");
    }
    C19_TRY(internal::LoadState(net_.module(), weights));
    // Loading replaces the parameter tensors: the optimizer must follow them.
    C19_ASSIGN_OR_RETURN(opt_, internal::MakeOptimizer(spec_.optimizer, net_.module().parameters()));
    C19_TRY(internal::LoadOptimizer(*opt_, optimizer));
    C19_TRY(sched_->Restore(schedule));
    epoch_ = std::stoll(std::string(epoch));
    return OkStatus();
  }

  std::string Weights() override { return internal::SaveState(net_.module()); }
  std::string Vocabulary() const override { return vocab_.Serialize(); }
  std::string ParamsJson() const override { return OptionsJson(o_).dump(); }
  int64_t vocabulary_size() const override { return vocab_.size(); }

 private:
  Result<EpochStats> Epoch(const std::function<bool()>& cancelled) {
    const int64_t e = epoch_ + 1;
    const int64_t t = o_.seq_len;
    // Window positions and dropout masks come from (seed, epoch): a restored run repeats them. Each
    // window starts anywhere (not on a seq_len grid, which would give every window of a periodic
    // text the same phase and let a position-aware net memorise positions instead of characters).
    std::mt19937_64 rng(spec_.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(e));
    torch::manual_seed(spec_.seed + 1'000'003ULL * static_cast<uint64_t>(e));
    std::vector<int64_t> starts;
    for (int64_t s = 0; s + t < n_train_; s += t) starts.push_back(s);
    if (spec_.shuffle) {
      for (auto& s : starts) s = static_cast<int64_t>(rng() % static_cast<uint64_t>(n_train_ - t));
    }
    torch::Tensor windows = Windows(train_, starts, t);
    const int64_t w = windows.size(0);

    net_.module().train();
    auto t0 = std::chrono::steady_clock::now();
    double total = 0;
    double lr = sched_->lr();
    for (int64_t start = 0; start < w; start += spec_.batch_size) {
      if (cancelled && cancelled()) return Error::Aborted("cancelled");
      const int64_t len = std::min(spec_.batch_size, w - start);
      torch::Tensor batch = windows.narrow(0, start, len);
      lr = sched_->lr();
      internal::SetLearningRate(*opt_, lr);
      opt_->zero_grad();
      torch::Tensor state;
      torch::Tensor loss = Loss(net_.Logits(batch.narrow(1, 0, t), state), batch.narrow(1, 1, t));
      loss.backward();
      torch::nn::utils::clip_grad_norm_(net_.module().parameters(), kClipNorm);
      opt_->step();
      sched_->EndStep();
      total += loss.item<double>() * static_cast<double>(len);
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EpochStats s;
    s.epoch = e;
    s.lr = lr;
    s.train_loss = total / static_cast<double>(w);
    s.samples_per_s = secs > 0 ? static_cast<double>(w * t) / secs : 0;  // characters predicted per second
    s.val_loss = Evaluate(val_.size(0) >= 2 ? val_ : train_);
    s.val_metrics["perplexity"] = std::exp(s.val_loss);
    sched_->EndEpoch(s.val_loss);  // perplexity rises and falls with val_loss: one plateau for both
    epoch_ = e;
    return s;
  }

  // Mean loss over consecutive windows of `tokens` (one shorter window when it is shorter than seq_len).
  double Evaluate(const torch::Tensor& tokens) {
    torch::NoGradGuard no_grad;
    net_.module().eval();
    const int64_t n = tokens.size(0);
    const int64_t t = std::min(o_.seq_len, n - 1);
    std::vector<int64_t> starts;
    for (int64_t s = 0; s + t < n; s += t) starts.push_back(s);
    torch::Tensor windows = Windows(tokens, starts, t);
    double sum = 0;
    for (int64_t start = 0; start < windows.size(0); start += kEvalWindows) {
      torch::Tensor batch = windows.narrow(0, start, std::min(kEvalWindows, windows.size(0) - start));
      torch::Tensor state;
      sum += Loss(net_.Logits(batch.narrow(1, 0, t), state), batch.narrow(1, 1, t)).item<double>() *
             static_cast<double>(batch.size(0));
    }
    return sum / static_cast<double>(windows.size(0));
  }

  CharTrainSpec spec_;
  CharOptions o_;
  CharVocabulary vocab_;
  CharNet net_;
  torch::Tensor train_, val_;
  int64_t n_train_ = 0;
  std::unique_ptr<torch::optim::Optimizer> opt_;
  std::unique_ptr<LrSchedule> sched_;
  int64_t steps_per_epoch_ = 0;
  int64_t epoch_ = 0;
};

// ---------------------------------------------------------------- serving

// Draws the next character from logits: greedy at temperature 0, else from softmax(logits / T) over
// the top_k most likely (0: all). The unknown symbol (index 0) is never drawn. Ties go to the lower
// index, and the uniform draw is built from the generator's bits, so a seed gives the same text
// wherever it runs.
int64_t Sample(const float* logits, int64_t v, double temperature, int64_t top_k, std::mt19937_64& rng) {
  std::vector<int64_t> idx(static_cast<size_t>(v - 1));
  std::iota(idx.begin(), idx.end(), int64_t{1});
  auto by_logit = [logits](int64_t a, int64_t b) { return logits[a] > logits[b]; };
  if (temperature <= 0) return *std::min_element(idx.begin(), idx.end(), by_logit);
  if (top_k > 0 && top_k < static_cast<int64_t>(idx.size())) {
    std::stable_sort(idx.begin(), idx.end(), by_logit);
    idx.resize(static_cast<size_t>(top_k));
  }
  double mx = -std::numeric_limits<double>::infinity();
  for (int64_t i : idx) mx = std::max(mx, static_cast<double>(logits[i]));
  std::vector<double> weights(idx.size());
  double sum = 0;
  for (size_t i = 0; i < idx.size(); ++i) {
    weights[i] = std::exp((static_cast<double>(logits[idx[i]]) - mx) / temperature);
    sum += weights[i];
  }
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * sum;
  double acc = 0;
  for (size_t i = 0; i < idx.size(); ++i) {
    acc += weights[i];
    if (u < acc) return idx[i];
  }
  return idx.back();
}

// A loaded char_rnn / char_transformer bundle. Generate keeps its state (hidden state, context, random
// generator) per call and only reads the network, so calls from several threads run side by side.
class CharModel final : public Model {
 public:
  CharModel(BundleManifest m, CharOptions o, CharVocabulary vocab, CharNet net)
      : m_(std::move(m)), o_(std::move(o)), vocab_(std::move(vocab)), net_(std::move(net)), sig_(BundleSignature(m_)) {
    net_.module().eval();
    start_ = vocab_.Encode(U'\n');  // an empty prompt starts as a new line does (the unknown symbol without one)
  }

  Framework framework() const override { return Framework::kTorch; }
  const Signature& signature() const override { return sig_; }
  std::optional<Task> BundleTask() const override { return Task::kGeneration; }
  int64_t MemoryBytes() const override {
    return internal::StateBytes(net_.module()) + vocab_.size() * 16 + 4096;
  }

  Result<PredictOutput> Predict(const std::vector<Tensor>&) override {
    return Error::FailedPrecondition("a generation model continues prompts: POST /api/v1/models/{name}/generate");
  }

  Status WarmUp() override {
    GenerateRequest r;
    r.max_tokens = 4;
    r.temperature = 0;
    C19_TRY(Generate(r));
    return OkStatus();
  }

  Result<GenerateOutput> Generate(const GenerateRequest& request) override {
    if (request.max_tokens < 1 || request.max_tokens > kMaxGenerateTokens) {
      return Error::Field("max_tokens", "max_tokens must be between 1 and " + std::to_string(kMaxGenerateTokens) +
                                            ", got " + std::to_string(request.max_tokens));
    }
    if (!std::isfinite(request.temperature) || request.temperature < 0 || request.temperature > 100) {
      return Error::Field("temperature", "temperature must be between 0 (greedy) and 100");
    }
    if (request.top_k < 0) return Error::Field("top_k", "top_k must be 0 (every character) or more");
    std::vector<char32_t> prompt = DecodeUtf8(request.prompt);
    if (static_cast<int64_t>(prompt.size()) > kMaxPromptChars) {
      return Error::Field("prompt", "prompt is at most " + std::to_string(kMaxPromptChars) + " characters");
    }
    std::vector<int64_t> context = vocab_.Encode(prompt);
    if (context.empty()) context.push_back(start_);
    std::mt19937_64 rng(request.seed ? *request.seed : std::random_device{}());
    try {
      return Run(std::move(context), request, rng);
    } catch (const c10::Error& e) {
      return Error::Internal(std::string("generation failed: ") + e.what_without_backtrace());
    }
  }

 private:
  Result<GenerateOutput> Run(std::vector<int64_t> context, const GenerateRequest& request, std::mt19937_64& rng) {
    torch::NoGradGuard no_grad;
    const int64_t v = vocab_.size();
    GenerateOutput out;
    torch::Tensor state;
    // The recurrent net reads the prompt once, then one character per step; the transformer re-reads
    // its last seq_len characters every step.
    torch::Tensor input = net_.recurrent() ? LongTensor(context).unsqueeze(0) : torch::Tensor();
    for (int64_t i = 0; i < request.max_tokens; ++i) {
      if (!net_.recurrent()) {
        const int64_t from = std::max<int64_t>(0, static_cast<int64_t>(context.size()) - o_.seq_len);
        input = LongTensor(std::vector<int64_t>(context.begin() + from, context.end())).unsqueeze(0);
      }
      torch::Tensor logits = net_.Logits(input, state);
      torch::Tensor last = logits.select(0, 0).select(0, logits.size(1) - 1).contiguous();
      const int64_t next = Sample(last.data_ptr<float>(), v, request.temperature, request.top_k, rng);
      AppendUtf8(out.text, vocab_.Decode(next));
      ++out.tokens;
      context.push_back(next);
      if (net_.recurrent()) input = torch::full({1, 1}, next, torch::kLong);
    }
    return out;
  }

  BundleManifest m_;
  CharOptions o_;
  CharVocabulary vocab_;
  CharNet net_;
  Signature sig_;
  int64_t start_ = 0;
};

}  // namespace

// ---------------------------------------------------------------- entry points

Result<std::string> ResolveCharModelParams(std::string_view architecture, std::string_view params_json) {
  C19_ASSIGN_OR_RETURN(CharOptions o, ParseCharOptions(architecture, params_json));
  return OptionsJson(o).dump();
}

Result<std::unique_ptr<CharTrainer>> CharTrainer::Create(const CharTrainSpec& spec, std::string_view train_text,
                                                         std::string_view validation_text) {
  C19_ASSIGN_OR_RETURN(CharOptions o, ParseCharOptions(spec.architecture, spec.params_json));
  std::vector<char32_t> train = DecodeUtf8(train_text);
  std::vector<char32_t> validation = DecodeUtf8(validation_text);
  if (static_cast<int64_t>(train.size()) <= o.seq_len) {
    return Error::Field("model.params.seq_len", "the training text has " + std::to_string(train.size()) +
                                                    " characters; it needs more than seq_len (" +
                                                    std::to_string(o.seq_len) + ")");
  }
  CharVocabulary vocab = CharVocabulary::FromText(train);
  if (vocab.size() - 1 > kMaxVocabulary) {
    return Error::Field("target", "the text has " + std::to_string(vocab.size() - 1) +
                                      " distinct characters; a character model takes at most " +
                                      std::to_string(kMaxVocabulary));
  }
  try {
    torch::manual_seed(spec.seed);
    auto t = std::make_unique<TorchCharTrainer>(spec, o, std::move(vocab));
    C19_TRY(t->Init(train, validation));
    return std::unique_ptr<CharTrainer>(std::move(t));
  } catch (const c10::Error& e) {
    return Error::InvalidArgument(std::string("cannot build the network: ") + e.what_without_backtrace());
  }
}

namespace internal {

Result<std::unique_ptr<Model>> LoadCharModel(BundleManifest m, BundleWeights w) {
  auto o = ParseCharOptions(m.architecture, m.params_json);
  if (!o.ok()) return Error::Unprocessable("bundle params: " + o.error().message);
  C19_ASSIGN_OR_RETURN(CharVocabulary vocab, CharVocabulary::Parse(w.extra));
  if (w.torch_state.empty()) return Error::Unprocessable(m.architecture + " bundle has no weights");
  try {
    CharNet net(vocab.size(), *o);
    C19_TRY(LoadState(net.module(), w.torch_state));
    return std::unique_ptr<Model>(new CharModel(std::move(m), std::move(*o), std::move(vocab), std::move(net)));
  } catch (const c10::Error& e) {
    return Error::Unprocessable(std::string("cannot load the network: ") + e.what_without_backtrace());
  }
}

}  // namespace internal

}  // namespace c19ai::ml
