#include "cmd/modeld-mkmodel/shape.h"

#include <gtest/gtest.h>

namespace modeld::mkmodel {
namespace {

TEST(ShapeTest, TinyIsAboutFourMillionF16) {
  const Shape s = PresetShape("tiny").value();
  EXPECT_EQ(s.type, WeightType::kF16);
  EXPECT_EQ(s.n_vocab, 32000);
  EXPECT_GE(ParamCount(s), 3'800'000u);
  EXPECT_LE(ParamCount(s), 4'500'000u);
  // f16 weights must fit the 10 MB budget with room for the vocabulary.
  EXPECT_LT(ParamCount(s) * 2, 9'000'000u);
  EXPECT_TRUE(ValidateShape(s).ok());
}

TEST(ShapeTest, SmallIsAbout125MillionQ8) {
  const Shape s = PresetShape("small").value();
  EXPECT_EQ(s.type, WeightType::kQ8_0);
  EXPECT_EQ(s.n_embd, 768);
  EXPECT_EQ(s.n_layer, 12);
  EXPECT_EQ(s.n_head, 12);
  EXPECT_GE(ParamCount(s), 110'000'000u);
  EXPECT_LE(ParamCount(s), 140'000'000u);
  EXPECT_TRUE(ValidateShape(s).ok());
}

TEST(ShapeTest, OneBHasTinyLlamaShapeAndCount) {
  const Shape s = PresetShape("1b").value();
  EXPECT_EQ(s.type, WeightType::kQ4_0);
  EXPECT_EQ(s.n_embd, 2048);
  EXPECT_EQ(s.n_layer, 22);
  EXPECT_EQ(s.n_head, 32);
  EXPECT_EQ(s.n_head_kv, 4);
  EXPECT_EQ(s.n_ff, 5632);
  EXPECT_EQ(s.head_dim(), 64);
  EXPECT_EQ(s.n_embd_kv(), 256);
  // The published parameter count of TinyLlama-1.1B.
  EXPECT_EQ(ParamCount(s), 1'100'048'384u);
  EXPECT_TRUE(ValidateShape(s).ok());
}

TEST(ShapeTest, ParamCountAddsUpTensors) {
  Shape s;
  s.n_vocab = 1000;
  s.n_embd = 8;
  s.n_layer = 2;
  s.n_head = 2;
  s.n_head_kv = 1;
  s.n_ff = 16;
  s.n_ctx = 64;
  // per layer: norms 2*8, q/o 2*64, k/v 2*8*4, ffn 3*8*16 = 16+128+64+384
  EXPECT_EQ(ParamCount(s), 2u * 1000 * 8 + 8 + 2u * (16 + 128 + 64 + 384));
}

TEST(ShapeTest, UnknownPresetIsAnError) {
  Result<Shape> r = PresetShape("huge");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidRequest);
  EXPECT_NE(r.status().message().find("huge"), std::string::npos);
}

TEST(ShapeTest, EveryListedPresetResolves) {
  for (const std::string& name : PresetNames()) {
    Result<Shape> r = PresetShape(name);
    ASSERT_TRUE(r.ok()) << name;
    EXPECT_TRUE(ValidateShape(*r).ok()) << name;
  }
}

TEST(ShapeTest, OverridesReplaceOnlyWhatIsSet) {
  const Shape base = PresetShape("small").value();
  ShapeOverrides o;
  o.n_layer = 3;
  o.type = WeightType::kF16;
  const Shape s = ApplyOverrides(base, o);
  EXPECT_EQ(s.n_layer, 3);
  EXPECT_EQ(s.type, WeightType::kF16);
  EXPECT_EQ(s.n_embd, base.n_embd);
  EXPECT_EQ(s.n_vocab, base.n_vocab);
  EXPECT_EQ(s.n_ff, base.n_ff);
}

TEST(ShapeTest, ValidationRejectsImpossibleShapes) {
  const Shape tiny = PresetShape("tiny").value();
  struct Case {
    const char* what;
    ShapeOverrides o;
  };
  std::vector<Case> cases(6);
  cases[0] = {"heads do not divide width", {}};
  cases[0].o.n_head = 5;
  cases[1] = {"kv heads do not divide heads", {}};
  cases[1].o.n_head_kv = 3;
  cases[2] = {"odd head size", {}};
  cases[2].o.n_embd = 36;
  cases[3] = {"q4_0 needs rows of 32", {}};
  cases[3].o.n_embd = 48;
  cases[3].o.type = WeightType::kQ4_0;
  cases[4] = {"vocabulary too small", {}};
  cases[4].o.n_vocab = 100;
  cases[5] = {"zero layers", {}};
  cases[5].o.n_layer = 0;
  for (const Case& c : cases) {
    EXPECT_FALSE(ValidateShape(ApplyOverrides(tiny, c.o)).ok()) << c.what;
  }
  ShapeOverrides fine;
  fine.n_embd = 48;  // f16 has no block constraint
  EXPECT_TRUE(ValidateShape(ApplyOverrides(tiny, fine)).ok());
}

TEST(ShapeTest, WeightTypeNamesRoundTrip) {
  for (WeightType t : {WeightType::kF16, WeightType::kQ8_0, WeightType::kQ4_0}) {
    Result<WeightType> r = ParseWeightType(WeightTypeName(t));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, t);
  }
  EXPECT_FALSE(ParseWeightType("q5_k").ok());
}

}  // namespace
}  // namespace modeld::mkmodel
