#include "cmd/modeld-mkmodel/weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

namespace modeld::mkmodel {
namespace {

ModelSpec TinySpec(EogMode eog, uint64_t seed = 5) {
  return ModelSpec{PresetShape("tiny").value(), "weights-test", seed, eog};
}

const TensorDesc& Get(const std::vector<TensorDesc>& list, const std::string& name) {
  for (const TensorDesc& t : list) {
    if (t.name == name) return t;
  }
  ADD_FAILURE() << "no tensor " << name;
  return list.front();
}

std::vector<float> Fill(const TensorDesc& t, const ModelSpec& spec, const Vocab& v, int64_t r0,
                        int64_t r1) {
  std::vector<float> out(static_cast<size_t>((r1 - r0) * t.ne0));
  FillRows(t, spec, v, r0, r1, out.data());
  return out;
}

TEST(WeightsTest, ListsLlamaTensorsWithShapes) {
  const Shape s = PresetShape("tiny").value();
  const std::vector<TensorDesc> list = TensorList(s);
  EXPECT_EQ(list.size(), 3u + 9u * s.n_layer);
  std::set<std::string> names;
  uint64_t params = 0;
  for (const TensorDesc& t : list) {
    names.insert(t.name);
    params += static_cast<uint64_t>(t.ne0 * t.ne1);
  }
  EXPECT_EQ(names.size(), list.size());
  EXPECT_EQ(params, ParamCount(s));
  const TensorDesc& k = Get(list, "blk.3.attn_k.weight");
  EXPECT_EQ(k.ne0, s.n_embd);
  EXPECT_EQ(k.ne1, s.n_embd_kv());
  const TensorDesc& down = Get(list, "blk.0.ffn_down.weight");
  EXPECT_EQ(down.ne0, s.n_ff);
  EXPECT_EQ(down.ne1, s.n_embd);
  EXPECT_TRUE(Get(list, "output_norm.weight").is_norm());
  EXPECT_EQ(Get(list, "token_embd.weight").ne1, s.n_vocab);
  EXPECT_EQ(Get(list, "output.weight").ne1, s.n_vocab);
}

TEST(WeightsTest, RowsAreDeterministicAndIndependentOfChunking) {
  const ModelSpec spec = TinySpec(EogMode::kNever);
  const Vocab v = BuildVocab(spec.shape.n_vocab).value();
  // Copies: Get returns a reference into the temporary list.
  const TensorDesc q = Get(TensorList(spec.shape), "blk.1.attn_q.weight");
  const std::vector<float> all = Fill(q, spec, v, 0, q.ne1);
  const std::vector<float> tail = Fill(q, spec, v, 10, q.ne1);
  EXPECT_EQ(all, Fill(q, spec, v, 0, q.ne1));
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), all.begin() + 10 * q.ne0));
  // Another seed or another tensor gives other values.
  EXPECT_NE(all, Fill(q, TinySpec(EogMode::kNever, 6), v, 0, q.ne1));
  const TensorDesc q2 = Get(TensorList(spec.shape), "blk.2.attn_q.weight");
  EXPECT_NE(all, Fill(q2, spec, v, 0, q2.ne1));
}

TEST(WeightsTest, WeightsAreSmallAndCentred) {
  const ModelSpec spec = TinySpec(EogMode::kNever);
  const Vocab v = BuildVocab(spec.shape.n_vocab).value();
  const TensorDesc up = Get(TensorList(spec.shape), "blk.0.ffn_up.weight");
  const std::vector<float> w = Fill(up, spec, v, 0, up.ne1);
  double sum = 0, sq = 0;
  for (float x : w) {
    ASSERT_TRUE(std::isfinite(x));
    ASSERT_LT(std::fabs(x), 0.1f);
    sum += x;
    sq += double(x) * x;
  }
  const double mean = sum / w.size(), sd = std::sqrt(sq / w.size() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.001);
  EXPECT_NEAR(sd, 0.02, 0.001);
  const TensorDesc norm = Get(TensorList(spec.shape), "blk.0.attn_norm.weight");
  for (float x : Fill(norm, spec, v, 0, 1)) EXPECT_EQ(x, 1.0f);
}

TEST(WeightsTest, NeverZeroesOutputRowsOfSpecialTokens) {
  const ModelSpec spec = TinySpec(EogMode::kNever);
  const Vocab v = BuildVocab(spec.shape.n_vocab).value();
  const TensorDesc out = Get(TensorList(spec.shape), "output.weight");
  const std::vector<float> w = Fill(out, spec, v, 0, 300);
  for (int id = 0; id < 300; ++id) {
    bool all_zero = true;
    for (int64_t i = 0; i < out.ne0; ++i) all_zero = all_zero && w[id * out.ne0 + i] == 0.0f;
    EXPECT_EQ(all_zero, v.IsSpecial(id)) << "token " << id << " " << v.pieces[id];
  }
}

TEST(WeightsTest, AlwaysKeepsAConstantChannelThatOnlyEosReads) {
  const ModelSpec spec = TinySpec(EogMode::kAlways);
  const Vocab v = BuildVocab(spec.shape.n_vocab).value();
  const std::vector<TensorDesc> list = TensorList(spec.shape);
  const TensorDesc& embd = Get(list, "token_embd.weight");
  const std::vector<float> e = Fill(embd, spec, v, 0, embd.ne1);
  for (int64_t t = 0; t < embd.ne1; t += 997) EXPECT_GT(e[t * embd.ne0], 0.5f) << t;
  for (const char* name : {"blk.0.attn_output.weight", "blk.3.ffn_down.weight"}) {
    const TensorDesc& t = Get(list, name);
    for (float x : Fill(t, spec, v, 0, 1)) EXPECT_EQ(x, 0.0f) << name;
    const std::vector<float> row1 = Fill(t, spec, v, 1, 2);
    EXPECT_NE(row1, std::vector<float>(row1.size(), 0.0f)) << name;
  }
  const TensorDesc& out = Get(list, "output.weight");
  const std::vector<float> eos = Fill(out, spec, v, v.eos_id, v.eos_id + 1);
  EXPECT_GT(eos[0], 10.0f);
  for (size_t i = 1; i < eos.size(); ++i) EXPECT_EQ(eos[i], 0.0f);
}

TEST(WeightsTest, EogModeNamesRoundTrip) {
  for (EogMode m : {EogMode::kNever, EogMode::kAlways}) {
    EXPECT_EQ(ParseEogMode(EogModeName(m)).value(), m);
  }
  EXPECT_FALSE(ParseEogMode("sometimes").ok());
}

}  // namespace
}  // namespace modeld::mkmodel
