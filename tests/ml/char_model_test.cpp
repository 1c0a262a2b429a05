// Character-level language models: the GRU and the causal Transformer learn a repetitive text, a
// checkpoint continues the run exactly, the bundle loads and generates deterministically for a seed,
// greedy decoding repeats a memorised pattern, and bad settings name their field.

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "common/json.h"
#include "ml/ml.h"
#include "ml/train.h"

namespace c19ai::ml {
namespace {

std::string Repeat(std::string_view unit, int times) {
  std::string s;
  for (int i = 0; i < times; ++i) s += unit;
  return s;
}

CharTrainSpec Rnn(int64_t epochs) {
  CharTrainSpec s;
  s.architecture = "char_rnn";
  s.params_json = R"({"hidden": 48, "layers": 1, "seq_len": 16, "embedding_dim": 16})";
  s.optimizer.type = "adam";
  s.optimizer.lr = 0.02;
  s.epochs = epochs;
  s.batch_size = 8;
  s.seed = 5;
  return s;
}

CharTrainSpec Transformer(int64_t epochs) {
  CharTrainSpec s = Rnn(epochs);
  s.architecture = "char_transformer";
  s.params_json = R"({"hidden": 32, "layers": 1, "heads": 2, "seq_len": 16})";
  s.optimizer.lr = 0.01;
  return s;
}

std::vector<EpochStats> Train(CharTrainer& t, int64_t epochs) {
  std::vector<EpochStats> out;
  for (int64_t e = 0; e < epochs; ++e) {
    auto s = t.RunEpoch({});
    EXPECT_TRUE(s.ok()) << s.error().message;
    if (!s.ok()) break;
    out.push_back(*s);
  }
  return out;
}

// The bundle a training job would register, loaded as the server loads it.
std::unique_ptr<Model> Load(CharTrainer& t, const std::string& architecture) {
  BundleManifest m;
  m.task = Task::kGeneration;
  m.architecture = architecture;
  m.params_json = t.ParamsJson();
  BundleWeights w;
  w.torch_state = t.Weights();
  w.extra = t.Vocabulary();
  auto model = LoadModel(Framework::kTorch, WriteBundle(m, w), {});
  EXPECT_TRUE(model.ok()) << model.error().message;
  return model.ok() ? std::move(*model) : nullptr;
}

const std::string kSentence = "the cat sat on the mat. the dog ate the hat.\n";

TEST(CharModelTest, GruLossFallsOnRepetitiveText) {
  const std::string text = Repeat(kSentence, 80);
  auto t = CharTrainer::Create(Rnn(8), text, Repeat(kSentence, 8));
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ((*t)->vocabulary_size(), 15);  // 14 distinct characters and the unknown symbol
  auto stats = Train(**t, 8);
  ASSERT_EQ(stats.size(), 8u);
  EXPECT_LT(stats.back().train_loss, stats.front().train_loss * 0.5);
  EXPECT_LT(stats.back().val_loss, 0.5);  // from ln(15) ≈ 2.7 for a uniform guess
  EXPECT_NEAR(stats.back().val_metrics.at("perplexity"), std::exp(stats.back().val_loss), 1e-9);
}

TEST(CharModelTest, TransformerLossFallsOnRepetitiveText) {
  auto t = CharTrainer::Create(Transformer(6), Repeat(kSentence, 80), Repeat(kSentence, 8));
  ASSERT_TRUE(t.ok()) << t.error().message;
  auto stats = Train(**t, 6);
  ASSERT_EQ(stats.size(), 6u);
  EXPECT_LT(stats.back().val_loss, stats.front().val_loss * 0.7);
  EXPECT_LT(stats.back().val_loss, 1.0);
}

TEST(CharModelTest, CheckpointContinuesExactly) {
  const std::string text = Repeat(kSentence, 30);
  auto a = CharTrainer::Create(Rnn(4), text, kSentence);
  ASSERT_TRUE(a.ok());
  Train(**a, 2);
  const std::string checkpoint = (*a)->Checkpoint();
  auto third = (*a)->RunEpoch({});
  ASSERT_TRUE(third.ok());

  auto b = CharTrainer::Create(Rnn(4), text, kSentence);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->Restore(checkpoint).ok());
  EXPECT_EQ((*b)->epochs_done(), 2);
  auto again = (*b)->RunEpoch({});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->epoch, 3);
  EXPECT_DOUBLE_EQ(again->train_loss, third->train_loss);
  EXPECT_DOUBLE_EQ(again->val_loss, third->val_loss);
  EXPECT_EQ((*b)->Weights(), (*a)->Weights());

  // Another text has another vocabulary: its checkpoints do not fit.
  auto other = CharTrainer::Create(Rnn(4), Repeat("xyz 123\n", 40), "xyz");
  ASSERT_TRUE(other.ok());
  auto refused = (*other)->Restore(checkpoint);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
}

TEST(CharModelTest, GenerateIsDeterministicForASeed) {
  auto t = CharTrainer::Create(Rnn(2), Repeat(kSentence, 40), kSentence);
  ASSERT_TRUE(t.ok());
  Train(**t, 2);
  auto model = Load(**t, "char_rnn");
  ASSERT_TRUE(model);
  EXPECT_EQ(model->BundleTask(), Task::kGeneration);
  GenerateRequest r;
  r.prompt = "the ";
  r.max_tokens = 120;
  r.temperature = 1.0;
  r.seed = 7;
  auto first = model->Generate(r);
  auto second = model->Generate(r);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->tokens, 120);
  EXPECT_EQ(first->text.size(), 120u);  // ASCII text: one byte a character
  EXPECT_EQ(first->text, second->text);
  int differ = 0;
  for (uint64_t seed : {8, 9, 10}) {
    r.seed = seed;
    auto other = model->Generate(r);
    ASSERT_TRUE(other.ok());
    differ += other->text != first->text;
  }
  EXPECT_GE(differ, 2);
}

TEST(CharModelTest, ConcurrentGenerationsMatchTheSequentialOnes) {
  for (const std::string arch : {"char_rnn", "char_transformer"}) {
    auto t = CharTrainer::Create(arch == "char_rnn" ? Rnn(1) : Transformer(1), Repeat(kSentence, 20), kSentence);
    ASSERT_TRUE(t.ok());
    Train(**t, 1);
    auto model = Load(**t, arch);
    ASSERT_TRUE(model);
    auto request = [](uint64_t seed) {
      GenerateRequest r;
      r.prompt = "the";
      r.max_tokens = 80;
      r.seed = seed;
      return r;
    };
    std::vector<std::string> expected;
    for (uint64_t seed = 0; seed < 4; ++seed) expected.push_back(model->Generate(request(seed))->text);
    std::vector<std::string> got(4);
    std::vector<std::thread> threads;
    for (uint64_t seed = 0; seed < 4; ++seed) {
      threads.emplace_back([&, seed] { got[seed] = model->Generate(request(seed))->text; });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(got, expected) << arch;
  }
}

TEST(CharModelTest, GreedyRepeatsAMemorisedPattern) {
  for (const std::string arch : {"char_rnn", "char_transformer"}) {
    CharTrainSpec spec = arch == "char_rnn" ? Rnn(4) : Transformer(4);
    spec.params_json = arch == "char_rnn" ? R"({"hidden": 32, "layers": 1, "seq_len": 8})"
                                          : R"({"hidden": 32, "layers": 1, "heads": 2, "seq_len": 8})";
    auto t = CharTrainer::Create(spec, Repeat("abcdefgh", 200), Repeat("abcdefgh", 4));
    ASSERT_TRUE(t.ok()) << t.error().message;
    Train(**t, 4);
    auto model = Load(**t, arch);
    ASSERT_TRUE(model);
    GenerateRequest r;
    r.prompt = "abc";
    r.max_tokens = 21;
    r.temperature = 0;
    auto out = model->Generate(r);
    ASSERT_TRUE(out.ok()) << out.error().message;
    EXPECT_EQ(out->text, "defghabcdefghabcdefgh") << arch;
  }
}

TEST(CharModelTest, UnknownPromptCharactersAndEmptyPromptsGenerate) {
  auto t = CharTrainer::Create(Rnn(1), Repeat(kSentence, 20), kSentence);
  ASSERT_TRUE(t.ok());
  Train(**t, 1);
  auto model = Load(**t, "char_rnn");
  ASSERT_TRUE(model);
  GenerateRequest r;
  r.prompt = "Zürich \xff€";  // none of these is in the vocabulary; \xff is not UTF-8
  r.max_tokens = 10;
  r.seed = 1;
  auto out = model->Generate(r);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->tokens, 10);
  r.prompt.clear();
  out = model->Generate(r);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->tokens, 10);
  for (char c : out->text) EXPECT_NE(kSentence.find(c), std::string::npos) << "generated a character never seen";
}

TEST(CharModelTest, BadGenerateArgumentsNameTheirField) {
  auto t = CharTrainer::Create(Rnn(1), Repeat(kSentence, 20), kSentence);
  ASSERT_TRUE(t.ok());
  auto model = Load(**t, "char_rnn");
  ASSERT_TRUE(model);
  auto field = [&](GenerateRequest r) {
    auto out = model->Generate(r);
    return out.ok() ? std::string("ok") : out.error().details;
  };
  GenerateRequest r;
  r.max_tokens = 2001;
  EXPECT_NE(field(r).find("max_tokens"), std::string::npos);
  r.max_tokens = 0;
  EXPECT_NE(field(r).find("max_tokens"), std::string::npos);
  r.max_tokens = 5;
  r.temperature = -1;
  EXPECT_NE(field(r).find("temperature"), std::string::npos);
  r.temperature = 1;
  r.top_k = -2;
  EXPECT_NE(field(r).find("top_k"), std::string::npos);
  // Tensors are not what it takes.
  auto predicted = model->Predict({});
  ASSERT_FALSE(predicted.ok());
  EXPECT_EQ(predicted.error().code, ErrorCode::kFailedPrecondition);
}

TEST(CharModelTest, BadParamsNameTheirField) {
  auto field = [](std::string_view arch, std::string_view params) {
    auto r = ResolveCharModelParams(arch, params);
    return r.ok() ? std::string("ok") : r.error().details;
  };
  EXPECT_NE(field("char_rnn", R"({"hidden": 4})").find("model.params.hidden"), std::string::npos);
  EXPECT_NE(field("char_rnn", R"({"seq_len": "long"})").find("model.params.seq_len"), std::string::npos);
  EXPECT_NE(field("char_rnn", R"({"heads": 2})").find("model.params.heads"), std::string::npos);
  EXPECT_NE(field("char_rnn", R"({"width": 2})").find("model.params.width"), std::string::npos);
  EXPECT_NE(field("char_transformer", R"({"hidden": 30, "heads": 4})").find("model.params.heads"), std::string::npos);
  EXPECT_NE(field("char_transformer", R"({"embedding_dim": 8})").find("model.params.embedding_dim"),
            std::string::npos);
  auto resolved = ResolveCharModelParams("char_transformer", R"({"hidden": 64})");
  ASSERT_TRUE(resolved.ok());
  Json j = Json::parse(*resolved);
  EXPECT_EQ(j["hidden"], 64);
  EXPECT_EQ(j["heads"], 4);
  EXPECT_EQ(j["seq_len"], 64);

  CharTrainSpec spec = Rnn(1);
  auto short_text = CharTrainer::Create(spec, "abc", "");
  ASSERT_FALSE(short_text.ok());
  EXPECT_NE(short_text.error().details.find("model.params.seq_len"), std::string::npos);
}

}  // namespace
}  // namespace c19ai::ml
