// Loads generated models with the real llama.cpp and decodes with them.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "cmd/modeld-mkmodel/gguf_writer.h"
#include "llama.h"

namespace modeld::mkmodel {
namespace {

namespace fs = std::filesystem;

struct ModelFree {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct ContextFree {
  void operator()(llama_context* c) const { llama_free(c); }
};

void QuietLog(ggml_log_level level, const char* text, void*) {
  if (level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}

// A loaded model with a context, and greedy decoding on it.
class Loaded {
 public:
  explicit Loaded(const std::string& path, int n_ctx = 1024) {
    llama_log_set(QuietLog, nullptr);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    model_.reset(llama_model_load_from_file(path.c_str(), mp));
    if (!model_) return;
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = static_cast<uint32_t>(n_ctx);
    cp.n_batch = static_cast<uint32_t>(n_ctx);
    // One thread: tiny models gain nothing from more, and a busy machine
    // makes ggml's spinning worker threads very slow.
    cp.n_threads = cp.n_threads_batch = 1;
    ctx_.reset(llama_init_from_model(model_.get(), cp));
  }

  bool ok() const { return model_ && ctx_; }
  const llama_model* model() const { return model_.get(); }
  const llama_vocab* vocab() const { return llama_model_get_vocab(model_.get()); }

  std::string Meta(const char* key) const {
    char buf[256] = {};
    if (llama_model_meta_val_str(model_.get(), key, buf, sizeof(buf)) < 0) return "<missing>";
    return buf;
  }

  std::vector<llama_token> Tokenize(const std::string& text, bool add_special,
                                    bool parse_special) const {
    std::vector<llama_token> out(text.size() + 8);
    const int n =
        llama_tokenize(vocab(), text.data(), static_cast<int32_t>(text.size()), out.data(),
                       static_cast<int32_t>(out.size()), add_special, parse_special);
    out.resize(n < 0 ? 0 : n);
    return out;
  }

  std::string Detokenize(const std::vector<llama_token>& tokens) const {
    std::string out(tokens.size() * 16 + 16, '\0');
    const int n = llama_detokenize(vocab(), tokens.data(), static_cast<int32_t>(tokens.size()),
                                   out.data(), static_cast<int32_t>(out.size()),
                                   /*remove_special=*/true, /*unparse_special=*/false);
    out.resize(n < 0 ? 0 : n);
    return out;
  }

  // Decodes prompt, then n greedy tokens; stops after an end-of-generation
  // token. Sets *finite to false if any logit was NaN or infinite.
  std::vector<llama_token> Greedy(std::vector<llama_token> prompt, int n, bool* finite) {
    *finite = true;
    std::vector<llama_token> out;
    llama_batch batch = llama_batch_get_one(prompt.data(), static_cast<int32_t>(prompt.size()));
    llama_token next = 0;
    for (int i = 0; i < n; ++i) {
      if (llama_decode(ctx_.get(), batch) != 0) {
        ADD_FAILURE() << "llama_decode failed at step " << i;
        break;
      }
      const float* logits = llama_get_logits_ith(ctx_.get(), -1);
      const int n_vocab = llama_vocab_n_tokens(vocab());
      next = 0;
      for (int t = 0; t < n_vocab; ++t) {
        if (!std::isfinite(logits[t])) *finite = false;
        if (logits[t] > logits[next]) next = t;
      }
      out.push_back(next);
      if (llama_vocab_is_eog(vocab(), next)) break;
      batch = llama_batch_get_one(&next, 1);
    }
    return out;
  }

 private:
  std::unique_ptr<llama_model, ModelFree> model_;
  std::unique_ptr<llama_context, ContextFree> ctx_;
};

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("mkmodel-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::string WriteTiny(const TempDir& dir, EogMode eog, uint64_t seed, const std::string& name) {
  ModelSpec spec;
  spec.shape = PresetShape("tiny").value();
  spec.name = name;
  spec.seed = seed;
  spec.eog = eog;
  const std::string path = dir.File(name + ".gguf");
  Result<WriteSummary> r = WriteModel(spec, path);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return path;
}

// A prompt with ASCII, accented Latin, CJK, an emoji that is a piece and a
// symbol and emoji that are not (byte fallback), and a newline.
const std::string kPrompt = "Hello wörld, the café is naïve! 中文 🙂 ∑ 🦀\nnew line";

void ExpectShape(const Loaded& m, const Shape& s) {
  EXPECT_EQ(llama_model_n_embd(m.model()), s.n_embd);
  EXPECT_EQ(llama_model_n_layer(m.model()), s.n_layer);
  EXPECT_EQ(llama_model_n_head(m.model()), s.n_head);
  EXPECT_EQ(llama_model_n_head_kv(m.model()), s.n_head_kv);
  EXPECT_EQ(llama_vocab_n_tokens(m.vocab()), s.n_vocab);
  EXPECT_EQ(llama_model_n_ctx_train(m.model()), s.n_ctx);
  EXPECT_EQ(llama_model_n_params(m.model()), ParamCount(s));
  EXPECT_EQ(m.Meta("general.architecture"), "llama");
}

void ExpectTokenizesAndDecodes(Loaded& m, int steps) {
  const std::vector<llama_token> tokens = m.Tokenize(kPrompt, true, false);
  ASSERT_GT(tokens.size(), 5u);
  EXPECT_EQ(tokens[0], llama_vocab_bos(m.vocab()));
  const int n_vocab = llama_vocab_n_tokens(m.vocab());
  for (llama_token t : tokens) {
    EXPECT_GE(t, 0);
    EXPECT_LT(t, n_vocab);
    EXPECT_FALSE(llama_vocab_get_attr(m.vocab(), t) & LLAMA_TOKEN_ATTR_UNKNOWN)
        << "<unk> in prompt";
  }
  // Without BOS, detokenizing drops the space SentencePiece put in front.
  EXPECT_EQ(m.Detokenize({tokens.begin() + 1, tokens.end()}), kPrompt);
  // Fewer tokens than bytes: multi-character pieces were used.
  EXPECT_LT(tokens.size(), kPrompt.size() / 2);

  bool finite = false;
  const std::vector<llama_token> out = m.Greedy(tokens, steps, &finite);
  EXPECT_TRUE(finite);
  EXPECT_EQ(out.size(), static_cast<size_t>(steps));
}

TEST(GgufWriterLlamaTest, TinyLoadsTokenizesAndDecodes) {
  TempDir dir;
  const std::string path = WriteTiny(dir, EogMode::kNever, 7, "tiny-under-test");
  Loaded m(path);
  ASSERT_TRUE(m.ok()) << "llama.cpp could not load " << path;
  ExpectShape(m, PresetShape("tiny").value());
  EXPECT_EQ(m.Meta("general.name"), "tiny-under-test");
  EXPECT_EQ(llama_vocab_type(m.vocab()), LLAMA_VOCAB_TYPE_SPM);
  ExpectTokenizesAndDecodes(m, 8);
}

TEST(GgufWriterLlamaTest, ChatTemplateIsChatMlWithControlTokens) {
  TempDir dir;
  Loaded m(WriteTiny(dir, EogMode::kNever, 7, "tiny-chat"));
  ASSERT_TRUE(m.ok());
  const char* tmpl = llama_model_chat_template(m.model(), nullptr);
  ASSERT_NE(tmpl, nullptr);
  const llama_chat_message msgs[] = {{"user", "hi"}};
  std::string buf(256, '\0');
  const int n =
      llama_chat_apply_template(tmpl, msgs, 1, true, buf.data(), static_cast<int32_t>(buf.size()));
  ASSERT_GT(n, 0);
  buf.resize(n);
  EXPECT_EQ(buf, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");

  // The markers are single control tokens, and <|im_end|> ends a generation.
  const std::vector<llama_token> start = m.Tokenize("<|im_start|>", false, true);
  const std::vector<llama_token> end = m.Tokenize("<|im_end|>", false, true);
  ASSERT_EQ(start.size(), 1u);
  ASSERT_EQ(end.size(), 1u);
  EXPECT_TRUE(llama_vocab_get_attr(m.vocab(), start[0]) & LLAMA_TOKEN_ATTR_CONTROL);
  EXPECT_TRUE(llama_vocab_is_eog(m.vocab(), end[0]));
  EXPECT_TRUE(llama_vocab_is_eog(m.vocab(), llama_vocab_eos(m.vocab())));
}

TEST(GgufWriterLlamaTest, EogNeverDecodesWithoutStopping) {
  TempDir dir;
  Loaded m(WriteTiny(dir, EogMode::kNever, 11, "tiny-never"));
  ASSERT_TRUE(m.ok());
  bool finite = false;
  const std::vector<llama_token> out =
      m.Greedy(m.Tokenize("Once upon a time", true, false), 64, &finite);
  EXPECT_TRUE(finite);
  ASSERT_EQ(out.size(), 64u);
  for (llama_token t : out) EXPECT_FALSE(llama_vocab_is_eog(m.vocab(), t));
}

TEST(GgufWriterLlamaTest, EogAlwaysEndsAtOnce) {
  TempDir dir;
  Loaded m(WriteTiny(dir, EogMode::kAlways, 11, "tiny-always"));
  ASSERT_TRUE(m.ok());
  for (const char* prompt : {"Once upon a time", "中文 🙂", "x"}) {
    bool finite = false;
    const std::vector<llama_token> out = m.Greedy(m.Tokenize(prompt, true, false), 4, &finite);
    EXPECT_TRUE(finite);
    ASSERT_EQ(out.size(), 1u) << prompt;
    EXPECT_EQ(out[0], llama_vocab_eos(m.vocab())) << prompt;
  }
}

std::string ModelsDir() {
  if (const char* env = std::getenv("MODELD_MODELS_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return MODELD_MKMODEL_MODELS_DIR;
}

void CheckModelFile(const std::string& file, const std::string& preset) {
  const std::string path = (fs::path(ModelsDir()) / file).string();
  ASSERT_TRUE(fs::exists(path)) << path << " is missing: run `scripts/models.sh test 1b` first";
  Loaded m(path, 256);
  ASSERT_TRUE(m.ok()) << "llama.cpp could not load " << path;
  ExpectShape(m, PresetShape(preset).value());
  EXPECT_EQ(m.Meta("general.name"), fs::path(file).stem().string());
  ExpectTokenizesAndDecodes(m, 4);
}

TEST(GgufWriterLlamaTest, SmallModelFileLoadsAndDecodes) { CheckModelFile("small.gguf", "small"); }

TEST(GgufWriterLlamaTest, OneBModelFileLoadsAndDecodes) { CheckModelFile("1b.gguf", "1b"); }

}  // namespace
}  // namespace modeld::mkmodel
