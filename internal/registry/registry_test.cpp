#include "internal/registry/registry.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace modeld::registry {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBase = "/srv/modeld/configs";

Result<Registry> ParseText(std::string_view yaml) {
  return Registry::Parse(yaml, "cfg.yaml", kBase);
}

struct InvalidCase {
  const char* name;
  const char* yaml;
  const char* message;  // the exact Status message
};

// Every way a config can be wrong, with the exact one-line message: file,
// 1-based line, field path, problem.
const InvalidCase kInvalid[] = {
    {"malformed_block", "models:\n  - id: a\n   name: x\n",
     "cfg.yaml:3: invalid YAML: end of sequence not found (column 4)"},
    {"malformed_flow", "models: [a\n",
     "cfg.yaml:2: invalid YAML: end of sequence flow not found (column 1)"},
    {"empty_file", "", "cfg.yaml:1: empty config; expected a mapping with a \"models\" list"},
    {"comments_only", "# nothing\n",
     "cfg.yaml:1: empty config; expected a mapping with a \"models\" list"},
    {"top_level_list", "- a\n- b\n", "cfg.yaml:1: expected a mapping at the top level, got a list"},
    {"two_documents", "models: []\n---\nmodels: []\n",
     "cfg.yaml:3: expected one YAML document, found a second one"},
    // yaml-cpp's LoadAll never returned on this (fuzz/registry_yaml_fuzzer).
    {"stray_flow_entry", ", a\n- b\n",
     "cfg.yaml:1: invalid YAML: no document can start here (column 1)"},
    {"models_missing", "# c\ndefault_model: a\n", "cfg.yaml:2: models: missing required field"},
    {"models_empty", "\nmodels: []\n", "cfg.yaml:2: models: expected at least one model, got none"},
    {"models_null", "models:\n", "cfg.yaml:1: models: expected a list of models, got nothing"},
    {"models_scalar", "models: tiny\n",
     "cfg.yaml:1: models: expected a list of models, got \"tiny\""},
    {"entry_not_mapping", "models:\n  - tiny\n",
     "cfg.yaml:2: models[0]: expected a mapping, got \"tiny\""},
    {"missing_path", "models:\n  - id: a\n    name: A\n    quant: f16\n    family: llama\n",
     "cfg.yaml:2: models[0].path: missing required field"},
    {"missing_family_second_entry",
     "models:\n  - {id: a, name: A, path: a.gguf, quant: f16, family: llama}\n"
     "  - id: b\n    name: B\n    path: b.gguf\n    quant: f16\n",
     "cfg.yaml:3: models[1].family: missing required field"},
    {"ctx_size_not_int",
     "models:\n  - {id: a, name: A, path: a.gguf, quant: f16, family: llama}\n"
     "  - id: b\n    name: B\n    path: b.gguf\n    quant: f16\n    family: llama\n"
     "    ctx_size: abc\n",
     "cfg.yaml:8: models[1].ctx_size: expected a positive integer, got \"abc\""},
    {"ctx_size_zero",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l, ctx_size: 0}\n",
     "cfg.yaml:2: models[0].ctx_size: expected a positive integer, got \"0\""},
    {"ctx_size_float",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l, ctx_size: 1.5}\n",
     "cfg.yaml:2: models[0].ctx_size: expected a positive integer, got \"1.5\""},
    {"ctx_size_hex",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l, ctx_size: 0x10}\n",
     "cfg.yaml:2: models[0].ctx_size: expected a positive integer, got \"0x10\""},
    {"ctx_size_too_big",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l, ctx_size: 99999999999}\n",
     "cfg.yaml:2: models[0].ctx_size: expected a positive integer no larger than 2147483647, got "
     "\"99999999999\""},
    {"threads_negative",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l, threads: -2}\n",
     "cfg.yaml:2: models[0].threads: expected a positive integer, got \"-2\""},
    {"gpu_layers_negative",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l, n_gpu_layers: -1}\n",
     "cfg.yaml:2: models[0].n_gpu_layers: expected a non-negative integer, got \"-1\""},
    {"gpu_layers_list",
     "models:\n  - id: a\n    name: A\n    path: a\n    quant: f16\n    family: l\n"
     "    n_gpu_layers:\n      - 1\n",
     "cfg.yaml:8: models[0].n_gpu_layers: expected a non-negative integer, got a list"},
    {"name_list",
     "models:\n  - id: a\n    name: [x, y]\n    path: a\n    quant: f16\n    family: l\n",
     "cfg.yaml:3: models[0].name: expected a non-empty string, got a list"},
    {"name_null", "models:\n  - id: a\n    name:\n    path: a\n    quant: f16\n    family: l\n",
     "cfg.yaml:3: models[0].name: expected a non-empty string, got nothing"},
    {"path_empty",
     "models:\n  - id: a\n    name: A\n    path: \"\"\n    quant: f16\n    family: l\n",
     "cfg.yaml:4: models[0].path: expected a non-empty string, got \"\""},
    {"chat_template_mapping",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l, chat_template: {x: 1}}\n",
     "cfg.yaml:2: models[0].chat_template: expected a non-empty string, got a mapping"},
    {"duplicate_id",
     "models:\n  - id: tiny\n    name: A\n    path: a\n    quant: f16\n    family: l\n"
     "  - name: B\n    id: tiny\n    path: b\n    quant: f16\n    family: l\n",
     "cfg.yaml:8: models[1].id: duplicate id \"tiny\" (first defined at line 2)"},
    {"duplicate_key",
     "models:\n  - id: a\n    name: A\n    path: a\n    name: B\n    quant: f16\n    family: l\n",
     "cfg.yaml:5: models[0].name: duplicate key (first set at line 3)"},
    {"unknown_entry_key_close",
     "models:\n  - id: a\n    name: A\n    path: a\n    quant: f16\n    family: l\n"
     "    ctx_sise: 8\n",
     "cfg.yaml:7: models[0].ctx_sise: unknown key; did you mean \"ctx_size\"?"},
    {"unknown_entry_key_far",
     "models:\n  - id: a\n    name: A\n    path: a\n    quant: f16\n    family: l\n"
     "    temperature: 0.2\n",
     "cfg.yaml:7: models[0].temperature: unknown key; valid keys are id, name, path, quant, "
     "family, "
     "ctx_size, threads, n_gpu_layers, chat_template, parallel, repack, "
     "special_in_content, pooling"},
    {"pooling_unknown",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l, pooling: max}\n",
     "cfg.yaml:2: models[0].pooling: expected mean, cls or last, got \"max\""},
    {"unknown_top_key_close", "default_model: a\nmodles: []\n",
     "cfg.yaml:2: modles: unknown key; did you mean \"models\"?"},
    {"unknown_top_key_far", "models: []\nport: 8080\n",
     "cfg.yaml:2: port: unknown key; valid keys are default_model, models, max_queue, "
     "max_body_bytes, parallel, prompt_cache_bytes, standby_bytes, api_keys"},
    {"api_keys_scalar",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n"
     "api_keys: sk-secret\n",
     "cfg.yaml:3: api_keys: expected a list of keys, got a string"},
    {"api_keys_empty",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n"
     "api_keys: []\n",
     "cfg.yaml:3: api_keys: expected at least one key; remove api_keys to turn authentication off"},
    {"api_keys_space",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n"
     "api_keys:\n  - sk-ok\n  - \"sk secret\"\n",
     "cfg.yaml:5: api_keys[1]: an API key may hold only visible ASCII characters (no spaces)"},
    {"api_keys_mapping",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n"
     "api_keys:\n  - {k: v}\n",
     "cfg.yaml:4: api_keys[0]: expected a string, got a mapping"},
    {"api_keys_typo",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n"
     "api_key: [x]\n",
     "cfg.yaml:3: api_key: unknown key; did you mean \"api_keys\"?"},
    {"parallel_zero",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l, parallel: 0}\n",
     "cfg.yaml:2: models[0].parallel: expected a positive integer, got \"0\""},
    {"parallel_too_many",
     "parallel: 65\nmodels:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n",
     "cfg.yaml:1: parallel: expected a positive integer no larger than 64, got \"65\""},
    {"bad_id_space", "models:\n  - {id: \"a b\", name: A, path: a, quant: f16, family: l}\n",
     "cfg.yaml:2: models[0].id: invalid id \"a b\"; use only letters, digits and . _ : -"},
    {"bad_id_slash",
     "models:\n  - id: x/y\n    name: A\n    path: a\n    quant: f16\n    family: l\n",
     "cfg.yaml:2: models[0].id: invalid id \"x/y\"; use only letters, digits and . _ : -"},
    {"default_not_a_model",
     "default_model: big\nmodels:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n"
     "  - {id: b, name: B, path: b, quant: f16, family: l}\n",
     "cfg.yaml:1: default_model: \"big\" is not a model id (valid ids: a, b)"},
    {"max_queue_zero",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l}\nmax_queue: 0\n",
     "cfg.yaml:3: max_queue: expected a positive integer, got \"0\""},
    {"max_body_bytes_text",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l}\nmax_body_bytes: 1MiB\n",
     "cfg.yaml:3: max_body_bytes: expected a positive integer, got \"1MiB\""},
    {"control_chars_escaped",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l, ctx_size: \"4\\n0\\t\\\"\"}\n",
     "cfg.yaml:2: models[0].ctx_size: expected a positive integer, got \"4\\n0\\x09\\\"\""},
    {"long_value_truncated",
     "models:\n  - {id: a, name: A, path: a, quant: f16, family: l, ctx_size: "
     "\"0123456789012345678901234567890123456789012345678901234567890123456789\\n\"}\n",
     "cfg.yaml:2: models[0].ctx_size: expected a positive integer, got "
     "\"012345678901234567890123456789012345678901234567890123456789...\""},
};

TEST(RegistryTest, InvalidConfigsNameFileLineAndField) {
  for (const InvalidCase& c : kInvalid) {
    Result<Registry> r = ParseText(c.yaml);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), Code::kInvalidRequest) << c.name;
    EXPECT_EQ(r.status().message(), c.message) << c.name;
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << c.name;
  }
}

TEST(RegistryTest, ValidConfigWithDefaultsAndRelativePaths) {
  const char* yaml =
      "default_model: b\n"
      "max_queue: 8\n"
      "models:\n"
      "  - id: a\n"
      "    name: A model\n"
      "    path: ../models/a.gguf\n"
      "    quant: f16\n"
      "    family: llama\n"
      "  - id: b.v2:Q4_0-x\n"
      "    name: B\n"
      "    path: /opt/m/./b.gguf\n"
      "    quant: q4_0\n"
      "    family: llama\n"
      "    ctx_size: +512\n"
      "    threads: 3\n"
      "    n_gpu_layers: 0\n"
      "    chat_template: chatml\n"
      "  - {id: b, name: C, path: sub/../c.gguf, quant: q8_0, family: qwen2}\n";
  Result<Registry> r = ParseText(yaml);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Registry& reg = *r;
  ASSERT_EQ(reg.models().size(), 3u);
  EXPECT_EQ(reg.default_model(), "b");
  EXPECT_EQ(reg.ValidIds(), "a, b.v2:Q4_0-x, b");
  EXPECT_EQ(reg.max_queue(), 8);
  EXPECT_EQ(reg.max_body_bytes(), 1 << 20);
  EXPECT_EQ(reg.file(), "cfg.yaml");

  const ModelEntry& a = reg.models()[0];
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.name, "A model");
  EXPECT_EQ(a.path, "/srv/modeld/models/a.gguf");
  EXPECT_EQ(a.quant, "f16");
  EXPECT_EQ(a.family, "llama");
  EXPECT_EQ(a.ctx_size, 4096);
  EXPECT_EQ(a.threads, 0);
  EXPECT_EQ(a.n_gpu_layers, 0);
  EXPECT_EQ(a.chat_template, "");
  EXPECT_FALSE(a.exists);
  EXPECT_EQ(a.line, 4);

  const ModelEntry* b = reg.Find("b.v2:Q4_0-x");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->path, "/opt/m/b.gguf");
  EXPECT_EQ(b->ctx_size, 512);
  EXPECT_EQ(b->threads, 3);
  EXPECT_EQ(b->chat_template, "chatml");
  EXPECT_EQ(b->line, 9);

  const ModelEntry* c = reg.Find("b");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->path, "/srv/modeld/configs/c.gguf");
  EXPECT_EQ(c->line, 18);
  EXPECT_EQ(reg.Find("B"), nullptr);
  EXPECT_EQ(reg.Find(""), nullptr);
}

TEST(RegistryTest, NoDefaultModelAndExplicitLimits) {
  Result<Registry> r = ParseText(
      "models:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n"
      "max_body_bytes: 4096\nmax_queue: 1\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->default_model(), "");
  EXPECT_EQ(r->max_body_bytes(), 4096);
  EXPECT_EQ(r->max_queue(), 1);
}

TEST(RegistryTest, PromptCacheBytesDefaultsToOneGiBAndAcceptsZero) {
  Result<Registry> r = ParseText("models:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->prompt_cache_bytes(), int64_t{1} << 30);
  r = ParseText(
      "prompt_cache_bytes: 0\nmodels:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->prompt_cache_bytes(), 0);
  r = ParseText(
      "prompt_cache_bytes: -1\nmodels:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n");
  EXPECT_FALSE(r.ok());
}

TEST(RegistryTest, StandbyBytesDefaultsToZero) {
  Result<Registry> r = ParseText("models:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->standby_bytes(), 0);
  r = ParseText(
      "standby_bytes: 2000000000\nmodels:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->standby_bytes(), 2000000000);
  r = ParseText(
      "standby_bytes: -5\nmodels:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "cfg.yaml:1: standby_bytes: expected a non-negative integer, got \"-5\"");
}

TEST(RegistryTest, RepackDefaultsToTrueAndTakesOnlyBooleans) {
  Result<Registry> r = ParseText(
      "models:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n"
      "  - {id: b, name: B, path: b, quant: f16, family: l, repack: false}\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->Find("a")->repack);
  EXPECT_FALSE(r->Find("b")->repack);
  EXPECT_FALSE(r->Find("a")->special_in_content);
  r = ParseText("models:\n  - {id: a, name: A, path: a, quant: f16, family: l, repack: yes}\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "cfg.yaml:2: models[0].repack: expected true or false, got \"yes\"");
}

TEST(RegistryTest, ParallelDefaultsToTopLevelThenFour) {
  Result<Registry> r = ParseText(
      "models:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n"
      "  - {id: b, name: B, path: b, quant: f16, family: l, parallel: 2}\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->parallel(), kDefaultParallel);
  EXPECT_EQ(r->Find("a")->parallel, 4);
  EXPECT_EQ(r->Find("b")->parallel, 2);
  r = ParseText(
      "parallel: 8\nmodels:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n"
      "  - {id: b, name: B, path: b, quant: f16, family: l, parallel: 1}\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Find("a")->parallel, 8);
  EXPECT_EQ(r->Find("b")->parallel, 1);
}

TEST(RegistryTest, ApiKeysDefaultToNoneAndKeepFileOrder) {
  const char* models = "models:\n  - {id: a, name: A, path: a, quant: f16, family: l}\n";
  Result<Registry> none = ParseText(models);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->api_keys().empty());
  Result<Registry> two = ParseText(std::string(models) + "api_keys:\n  - sk-b\n  - \"12345\"\n");
  ASSERT_TRUE(two.ok()) << two.status().message();
  EXPECT_EQ(two->api_keys(), (std::vector<std::string>{"sk-b", "12345"}));
}

TEST(RegistryTest, RelativeBaseDirResolvesAgainstWorkingDirectory) {
  Result<Registry> r = Registry::Parse(
      "models:\n  - {id: a, name: A, path: ../m/a.gguf, quant: f16, family: l}\n", "x.yaml", "cfg");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->models()[0].path, (fs::current_path() / "m/a.gguf").string());
}

// Every prefix of a valid config is either valid or a clean one-line error:
// no exception, no crash, always "file:line: ...".
TEST(RegistryTest, TruncatedConfigsNeverThrow) {
  const std::string yaml =
      "default_model: a\nmodels:\n  - id: a\n    name: \"A \\xff\"\n    path: a.gguf\n"
      "    quant: f16\n    family: llama\n    ctx_size: 128\n  - {id: b, name: B, path: b,"
      " quant: q8_0, family: l, chat_template: '{{ x }}'}\n";
  ASSERT_TRUE(ParseText(yaml).ok());
  for (size_t n = 0; n < yaml.size(); ++n) {
    Result<Registry> r = ParseText(yaml.substr(0, n));
    if (!r.ok()) {
      EXPECT_EQ(r.status().message().rfind("cfg.yaml:", 0), 0u) << r.status().message();
    }
  }
  EXPECT_FALSE(ParseText(std::string("\0\xff\xfe models", 10)).ok());
}

// A temp folder with a config in a sub-folder and one of its two models.
class TempTree {
 public:
  TempTree() {
    char tmpl[] = "/tmp/modeld_registry_test_XXXXXX";
    root_ = mkdtemp(tmpl);
    fs::create_directories(root_ / "configs");
    fs::create_directories(root_ / "models");
    std::ofstream(root_ / "models/tiny.gguf") << "GGUF";
  }
  ~TempTree() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

TEST(RegistryTest, LoadFileResolvesAgainstConfigFolderAndChecksExistence) {
  TempTree tree;
  const std::string config = (tree.root() / "configs/models.yaml").string();
  std::ofstream(config) << "models:\n"
                           "  - {id: tiny, name: T, path: ../models/tiny.gguf, quant: f16, "
                           "family: llama}\n"
                           "  - {id: gone, name: G, path: ../models/gone.gguf, quant: f16, "
                           "family: llama}\n";
  Result<Registry> r = Registry::LoadFile(config);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->file(), config);
  EXPECT_EQ(r->Find("tiny")->path, (tree.root() / "models/tiny.gguf").string());
  EXPECT_TRUE(r->Find("tiny")->exists);
  EXPECT_EQ(r->Find("gone")->path, (tree.root() / "models/gone.gguf").string());
  EXPECT_FALSE(r->Find("gone")->exists);
}

TEST(RegistryTest, LoadFileErrorsNameThePathAsGiven) {
  TempTree tree;
  const std::string missing = (tree.root() / "nope.yaml").string();
  Result<Registry> r = Registry::LoadFile(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), missing + ": cannot open: No such file or directory");

  Result<Registry> dir = Registry::LoadFile(tree.root().string());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().message(),
            tree.root().string() + ": is a directory, expected a YAML file");

  const std::string bad = (tree.root() / "configs/bad.yaml").string();
  std::ofstream(bad) << "models:\n  - {id: a, name: A, path: a, quant: f16, family: l,\n"
                        "     ctx_size: abc}\n";
  Result<Registry> parsed = Registry::LoadFile(bad);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(),
            bad + ":3: models[0].ctx_size: expected a positive integer, got \"abc\"");
}

TEST(RegistryTest, ShippedConfigParses) {
  const fs::path source = MODELD_SOURCE_DIR;
  Result<Registry> r = Registry::LoadFile((source / "configs/models.yaml").string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->ValidIds(), "tiny, small");
  EXPECT_EQ(r->default_model(), "tiny");
  const ModelEntry* tiny = r->Find("tiny");
  ASSERT_NE(tiny, nullptr);
  EXPECT_EQ(tiny->path, (source / "models/tiny.gguf").lexically_normal().string());
  EXPECT_EQ(tiny->quant, "f16");
  EXPECT_EQ(tiny->family, "llama");
  const ModelEntry* small = r->Find("small");
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(small->name, "Small demo (125M, Q8_0)");
  EXPECT_EQ(small->path, (source / "models/small.gguf").lexically_normal().string());
  EXPECT_EQ(small->quant, "q8_0");
  EXPECT_EQ(r->max_queue(), kDefaultMaxQueue);
  EXPECT_EQ(r->max_body_bytes(), kDefaultMaxBodyBytes);
}

}  // namespace
}  // namespace modeld::registry
