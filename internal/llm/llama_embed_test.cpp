#include "internal/llm/llama_embed.h"

#include <gtest/gtest.h>
#include <llama.h>

#include <cmath>
#include <string>
#include <vector>

#include "internal/llm/llama_model.h"
#include "internal/llm/llama_test_util.h"

// Embeddings on real llama.cpp: modeld's vectors (a generation context,
// pooled by LlamaEmbedder) against llama.cpp's own pooling, the pooling
// choice, packing, and a generation running beside an embeddings request.

namespace modeld::llm {
namespace {

using testutil::EmbedModelPath;
using testutil::LoadSpecOrFail;
using testutil::TinyModelPath;

struct Embedded {
  Status status;
  GenerateStats stats;
};

Embedded Embed(Model& model, std::vector<EmbedInput> inputs) {
  GenerateParams params;
  params.embed = std::move(inputs);
  testutil::CollectingSink sink;
  std::atomic<bool> cancel{false};
  Embedded out;
  out.status = model.Generate(params, sink, cancel, out.stats);
  return out;
}

std::vector<EmbedInput> Texts(const std::vector<std::string>& texts) {
  std::vector<EmbedInput> in;
  for (const auto& t : texts) in.push_back({t, std::nullopt});
  return in;
}

std::vector<float> Row(const GenerateStats& s, size_t i) {
  const auto n = static_cast<size_t>(s.n_embd);
  return {s.embeddings.begin() + static_cast<std::ptrdiff_t>(i * n),
          s.embeddings.begin() + static_cast<std::ptrdiff_t>((i + 1) * n)};
}

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

double Length(const std::vector<float>& a) {
  double sum = 0;
  for (float x : a) sum += static_cast<double>(x) * x;
  return std::sqrt(sum);
}

ModelPtr Load(const std::string& path, Pooling pooling, int ctx = 1024) {
  LoadSpec spec;
  spec.id = "embed-test";
  spec.path = path;
  spec.ctx_size = ctx;
  spec.pooling = pooling;
  return LoadSpecOrFail(spec);
}

// llama.cpp's own answer: a context made for embeddings with `pooling`,
// each input decoded alone in one batch, the sequence's pooled vector.
std::vector<std::vector<float>> Reference(const std::string& path, enum llama_pooling_type pooling,
                                          const std::vector<std::string>& texts) {
  std::vector<std::vector<float>> out;
  llama_model_params mp = llama_model_default_params();
  llama_model* model = llama_model_load_from_file(path.c_str(), mp);
  if (model == nullptr) {
    ADD_FAILURE() << "reference load failed";
    return out;
  }
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = cp.n_batch = cp.n_ubatch = 1024;
  cp.embeddings = true;
  cp.pooling_type = pooling;
  cp.n_threads = cp.n_threads_batch = 1;
  cp.no_perf = true;
  llama_context* ctx = llama_init_from_model(model, cp);
  const llama_vocab* vocab = llama_model_get_vocab(model);
  const int n_embd = llama_model_n_embd_out(model);
  for (const std::string& t : texts) {
    std::vector<llama_token> tokens(t.size() + 8);
    const int n = llama_tokenize(vocab, t.data(), static_cast<int32_t>(t.size()), tokens.data(),
                                 static_cast<int32_t>(tokens.size()), true, false);
    tokens.resize(static_cast<size_t>(std::max(n, 0)));
    llama_memory_clear(llama_get_memory(ctx), true);
    EXPECT_EQ(llama_decode(ctx, llama_batch_get_one(tokens.data(), n)), 0);
    const float* e = llama_get_embeddings_seq(ctx, 0);
    EXPECT_NE(e, nullptr);
    out.emplace_back(e, e + (e == nullptr ? 0 : n_embd));
  }
  llama_free(ctx);
  llama_model_free(model);
  return out;
}

std::string LongText(int words) {
  std::string s;
  for (int i = 0; i < words; ++i) s += i % 2 ? " brown" : " fox";
  return s;
}

TEST(LlamaEmbedTest, MatchesLlamaCppPoolingForEachKind) {
  // The long text needs two of modeld's 512-token chunks; llama.cpp
  // decodes it in one batch.
  const std::vector<std::string> texts = {"the quick brown fox", "hello", LongText(280)};
  const struct {
    Pooling ours;
    enum llama_pooling_type theirs;
  } cases[] = {{Pooling::kMean, LLAMA_POOLING_TYPE_MEAN},
               {Pooling::kLast, LLAMA_POOLING_TYPE_LAST},
               {Pooling::kCls, LLAMA_POOLING_TYPE_CLS}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(PoolingName(c.ours)));
    ModelPtr model = Load(TinyModelPath(), c.ours);
    ASSERT_NE(model, nullptr);
    const Embedded got = Embed(*model, Texts(texts));
    ASSERT_TRUE(got.status.ok()) << got.status.message();
    const auto want = Reference(TinyModelPath(), c.theirs, texts);
    ASSERT_EQ(want.size(), texts.size());
    EXPECT_GT(got.stats.prompt_tokens, 600);
    for (size_t i = 0; i < texts.size(); ++i) {
      EXPECT_GE(Cosine(Row(got.stats, i), want[i]), 0.999) << "input " << i;
      EXPECT_NEAR(Length(Row(got.stats, i)), 1.0, 1e-4) << "input " << i;
    }
  }
}

Pooling PoolingOf(const std::string& path, Pooling registry) {
  ModelPtr model = Load(path, registry, 256);
  auto* llama = dynamic_cast<LlamaModel*>(model.get());
  return llama == nullptr ? Pooling::kDefault : llama->pooling();
}

TEST(LlamaEmbedTest, PoolingComesFromRegistryElseGgufElseMean) {
  const std::string cls = testutil::TempDir() + "/cls.gguf";
  ASSERT_TRUE(testutil::MakeModel("--preset tiny --seed 6 --name cls --pooling cls", cls));
  EXPECT_EQ(PoolingOf(EmbedModelPath(), Pooling::kDefault), Pooling::kMean);  // declares mean
  EXPECT_EQ(PoolingOf(cls, Pooling::kDefault), Pooling::kCls);
  EXPECT_EQ(PoolingOf(cls, Pooling::kLast), Pooling::kLast);                 // registry wins
  EXPECT_EQ(PoolingOf(TinyModelPath(), Pooling::kDefault), Pooling::kMean);  // none declared
}

TEST(LlamaEmbedTest, PackedInputsEqualInputsAloneAndUsageCountsEveryToken) {
  ModelPtr model = Load(EmbedModelPath(), Pooling::kDefault);
  ASSERT_NE(model, nullptr);
  const std::vector<std::string> texts = {"alpha beta", "the quick brown fox jumps", "x"};
  const Embedded all = Embed(*model, Texts(texts));
  ASSERT_TRUE(all.status.ok()) << all.status.message();
  ASSERT_EQ(all.stats.embeddings.size(), texts.size() * static_cast<size_t>(all.stats.n_embd));
  int tokens = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const Embedded one = Embed(*model, Texts({texts[i]}));
    ASSERT_TRUE(one.status.ok()) << one.status.message();
    tokens += one.stats.prompt_tokens;
    EXPECT_GE(Cosine(Row(all.stats, i), Row(one.stats, 0)), 0.99999) << "input " << i;
  }
  EXPECT_EQ(all.stats.prompt_tokens, tokens);
  // Different texts give different vectors.
  EXPECT_LT(Cosine(Row(all.stats, 0), Row(all.stats, 1)), 0.9999);
  // Token ids are used as given: the same ids as the text's give its vector.
  const Embedded by_tokens = Embed(*model, {{"", std::vector<int32_t>{1, 5, 6, 7}}});
  ASSERT_TRUE(by_tokens.status.ok()) << by_tokens.status.message();
  EXPECT_EQ(by_tokens.stats.prompt_tokens, 4);
  EXPECT_EQ(model->used_cells(), 0);  // embeddings keep no cells
}

TEST(LlamaEmbedTest, BadInputsAreTheRequestsErrors) {
  ModelPtr model = Load(EmbedModelPath(), Pooling::kDefault, 64);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(Embed(*model, {}).status.code(), Code::kInvalidRequest);
  const Embedded oov = Embed(*model, {{"", std::vector<int32_t>{1, 1 << 30}}});
  EXPECT_EQ(oov.status.code(), Code::kInvalidRequest);
  EXPECT_NE(oov.status.message().find("input[0]"), std::string::npos) << oov.status.message();
  const Embedded long_input = Embed(*model, Texts({"ok", LongText(300)}));
  EXPECT_EQ(long_input.status.code(), Code::kInvalidRequest);
  EXPECT_NE(long_input.status.message().find("input[1] is"), std::string::npos)
      << long_input.status.message();
  EXPECT_TRUE(Embed(*model, Texts({"still works"})).status.ok());
}

TEST(LlamaEmbedTest, AGenerationBesideAnEmbeddingsRequestIsUnchanged) {
  ModelPtr model = Load(TinyModelPath(), Pooling::kDefault);
  ASSERT_NE(model, nullptr);
  const testutil::Outcome alone =
      testutil::Generate(*model, testutil::Greedy(testutil::kPrompt, 24));
  ASSERT_TRUE(alone.status.ok());

  // Same generation, with an embeddings request started after a few steps.
  const GenerateParams gen = testutil::Greedy(testutil::kPrompt, 24);
  Result<PreparedPrompt> prompt = model->Prepare(gen);
  ASSERT_TRUE(prompt.ok());
  testutil::CollectingSink sink, unused;
  std::atomic<bool> cancel{false};
  GenerateStats gen_stats, embed_stats;
  model->Start(0, std::move(prompt).value(), gen, sink, cancel, gen_stats);
  std::vector<SeqEnd> ended;
  for (int i = 0; i < 4; ++i) model->Step(ended);
  GenerateParams emb;
  emb.embed = Texts({"embedded meanwhile", "and another"});
  Result<PreparedPrompt> inputs = model->Prepare(emb);
  ASSERT_TRUE(inputs.ok());
  model->Start(1, std::move(inputs).value(), emb, unused, cancel, embed_stats);
  while (ended.size() < 2) model->Step(ended);
  for (const SeqEnd& e : ended) EXPECT_TRUE(e.status.ok()) << e.seq << ": " << e.status.message();
  EXPECT_EQ(sink.text, alone.text);
  EXPECT_EQ(embed_stats.embeddings.size(), 2u * static_cast<size_t>(embed_stats.n_embd));
}

TEST(LlamaEmbedTest, KeptPromptCachesSurviveAnEmbeddingsRequest) {
  ModelPtr model = Load(TinyModelPath(), Pooling::kDefault);
  ASSERT_NE(model, nullptr);
  ASSERT_TRUE(testutil::Generate(*model, testutil::Greedy(testutil::kPrompt, 4)).status.ok());
  const int kept = model->used_cells();
  ASSERT_GT(kept, 0);
  std::vector<std::string> many;  // more inputs than generation slots
  for (int i = 0; i < 20; ++i) many.push_back("input number " + std::to_string(i));
  const Embedded e = Embed(*model, Texts(many));
  ASSERT_TRUE(e.status.ok()) << e.status.message();
  EXPECT_EQ(e.stats.embeddings.size(), many.size() * static_cast<size_t>(e.stats.n_embd));
  EXPECT_EQ(model->used_cells(), kept);
  const testutil::Outcome again =
      testutil::Generate(*model, testutil::Greedy(testutil::kPrompt, 4));
  ASSERT_TRUE(again.status.ok());
  EXPECT_GT(again.stats.cached_tokens, 0);
}

TEST(LlamaEmbedTest, ACancelledRequestEndsCancelled) {
  ModelPtr model = Load(EmbedModelPath(), Pooling::kDefault);
  ASSERT_NE(model, nullptr);
  GenerateParams params;
  params.embed = Texts({"never embedded"});
  Result<PreparedPrompt> prompt = model->Prepare(params);
  ASSERT_TRUE(prompt.ok());
  testutil::CollectingSink sink;
  std::atomic<bool> cancel{true};
  GenerateStats stats;
  model->Start(2, std::move(prompt).value(), params, sink, cancel, stats);
  EXPECT_TRUE(model->busy());
  std::vector<SeqEnd> ended;
  model->Step(ended);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].seq, 2);
  EXPECT_EQ(ended[0].status.code(), Code::kCancelled);
  EXPECT_FALSE(model->busy());
}

}  // namespace
}  // namespace modeld::llm
