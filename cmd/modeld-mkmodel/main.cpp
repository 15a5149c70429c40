// modeld-mkmodel: writes deterministic random llama-architecture GGUF models
// for modeld's tests, demos and benchmarks. Flags only; the work is in
// gguf_writer.cpp.

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cmd/modeld-mkmodel/gguf_writer.h"
#include "cmd/modeld-mkmodel/shape.h"
#include "cmd/modeld-mkmodel/weights.h"

namespace mk = modeld::mkmodel;

int main(int argc, char** argv) {
  CLI::App app{"Writes a deterministic random llama-architecture GGUF test model."};
  std::string preset = "tiny", name, out, eog = "never", type;
  uint64_t seed = 1;
  int threads = 0;
  mk::ShapeOverrides o;
  app.add_option("--preset", preset, "tiny (~4M f16), small (~134M q8_0), 1b (1.1B q4_0)")
      ->capture_default_str();
  app.add_option("--seed", seed, "weight seed; the same seed gives the same file")
      ->capture_default_str();
  app.add_option("--name", name, "general.name (default: the preset name)");
  app.add_option("--out", out, "output .gguf path")->required();
  app.add_option("--eog", eog, "never: greedy never ends early; always: </s> comes first")
      ->capture_default_str();
  app.add_option("--type", type, "weight type: f16, q8_0 or q4_0 (default: the preset's)");
  app.add_option("--n-vocab", o.n_vocab, "vocabulary size");
  app.add_option("--n-embd", o.n_embd, "embedding width");
  app.add_option("--n-layer", o.n_layer, "number of blocks");
  app.add_option("--n-head", o.n_head, "attention heads");
  app.add_option("--n-head-kv", o.n_head_kv, "key/value heads (GQA)");
  app.add_option("--n-ff", o.n_ff, "feed-forward width");
  app.add_option("--n-ctx", o.n_ctx, "training context length");
  std::string pooling;
  app.add_option("--pooling", pooling,
                 "none, mean, cls or last: the pooling an embedding model declares "
                 "(llama.pooling_type); default: not written")
      ->check(CLI::IsMember({"none", "mean", "cls", "last"}));
  app.add_option("--threads", threads, "generator threads (0: one per core)");
  CLI11_PARSE(app, argc, argv);

  auto fail = [](const modeld::Status& st) {
    std::fprintf(stderr, "modeld-mkmodel: %s\n", st.message().c_str());
    return 1;
  };
  modeld::Result<mk::Shape> shape = mk::PresetShape(preset);
  if (!shape.ok()) {
    return fail(shape.status());
  }
  if (!type.empty()) {
    modeld::Result<mk::WeightType> t = mk::ParseWeightType(type);
    if (!t.ok()) {
      return fail(t.status());
    }
    o.type = *t;
  }
  modeld::Result<mk::EogMode> mode = mk::ParseEogMode(eog);
  if (!mode.ok()) {
    return fail(mode.status());
  }

  mk::ModelSpec spec;
  spec.shape = mk::ApplyOverrides(*shape, o);
  spec.name = name.empty() ? preset : name;
  spec.seed = seed;
  spec.eog = *mode;
  if (!pooling.empty()) {
    spec.pooling_type = pooling == "none" ? 0 : pooling == "mean" ? 1 : pooling == "cls" ? 2 : 3;
  }

  const auto start = std::chrono::steady_clock::now();
  modeld::Result<mk::WriteSummary> r = mk::WriteModel(spec, out, threads);
  if (!r.ok()) {
    return fail(r.status());
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const mk::Shape& s = spec.shape;
  std::printf(
      "%s: %s, %llu params (vocab %d, embd %d, layers %d, heads %d/%d, ff %d, %s), "
      "%llu bytes, %.2f s\n",
      out.c_str(), spec.name.c_str(), static_cast<unsigned long long>(r->params), s.n_vocab,
      s.n_embd, s.n_layer, s.n_head, s.n_head_kv, s.n_ff,
      std::string(mk::WeightTypeName(s.type)).c_str(), static_cast<unsigned long long>(r->bytes),
      secs);
  return 0;
}
