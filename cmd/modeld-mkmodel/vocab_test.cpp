#include "cmd/modeld-mkmodel/vocab.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <unordered_set>

namespace modeld::mkmodel {
namespace {

const std::string kSpace = "\xE2\x96\x81";

int Find(const Vocab& v, const std::string& piece) {
  for (int i = 0; i < v.size(); ++i) {
    if (v.pieces[i] == piece) return i;
  }
  return -1;
}

TEST(VocabTest, HasExactSizeAndUniquePieces) {
  for (int n : {MinVocabSize(), 4096, 32000, 65536}) {
    Result<Vocab> v = BuildVocab(n);
    ASSERT_TRUE(v.ok()) << n << ": " << v.status().message();
    EXPECT_EQ(v->size(), n);
    EXPECT_EQ(v->scores.size(), static_cast<size_t>(n));
    EXPECT_EQ(v->types.size(), static_cast<size_t>(n));
    std::unordered_set<std::string> seen(v->pieces.begin(), v->pieces.end());
    EXPECT_EQ(seen.size(), static_cast<size_t>(n)) << "duplicate pieces";
    EXPECT_EQ(seen.count(""), 0u);
  }
}

TEST(VocabTest, RejectsTooSmall) { EXPECT_FALSE(BuildVocab(MinVocabSize() - 1).ok()); }

TEST(VocabTest, SpecialTokensComeFirst) {
  const Vocab v = BuildVocab(32000).value();
  EXPECT_EQ(v.pieces[v.unk_id], "<unk>");
  EXPECT_EQ(v.types[v.unk_id], TokenType::kUnknown);
  EXPECT_EQ(v.pieces[v.bos_id], "<s>");
  EXPECT_EQ(v.types[v.bos_id], TokenType::kControl);
  EXPECT_EQ(v.pieces[v.eos_id], "</s>");
  EXPECT_EQ(v.types[v.eos_id], TokenType::kControl);
  ASSERT_GE(v.im_start_id, 0);
  ASSERT_GE(v.im_end_id, 0);
  EXPECT_EQ(v.pieces[v.im_start_id], "<|im_start|>");
  EXPECT_EQ(v.pieces[v.im_end_id], "<|im_end|>");
  EXPECT_EQ(v.types[v.im_start_id], TokenType::kControl);
  EXPECT_EQ(v.types[v.im_end_id], TokenType::kControl);
  EXPECT_TRUE(v.IsSpecial(v.eos_id));
  EXPECT_TRUE(v.IsSpecial(v.unk_id));
}

TEST(VocabTest, HasAllByteFallbackTokens) {
  const Vocab v = BuildVocab(32000).value();
  int bytes = 0;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    const int id = Find(v, name);
    ASSERT_GE(id, 0) << name;
    EXPECT_EQ(v.types[id], TokenType::kByte) << name;
    EXPECT_FALSE(v.IsSpecial(id));
    ++bytes;
  }
  int byte_typed = 0;
  for (TokenType t : v.types) byte_typed += t == TokenType::kByte;
  EXPECT_EQ(byte_typed, bytes);
}

TEST(VocabTest, HasWordsCharactersAndMultiBytePieces) {
  const Vocab v = BuildVocab(32000).value();
  for (const std::string& p :
       {kSpace, kSpace + "the", kSpace + "The", kSpace + "hello", std::string("é"),
        std::string("中"), std::string("文"), std::string("🙂"), kSpace + "café", kSpace + "中文",
        std::string("ing")}) {
    const int id = Find(v, p);
    ASSERT_GE(id, 0) << p;
    EXPECT_EQ(v.types[id], TokenType::kNormal) << p;
  }
}

// SentencePiece merges two adjacent pieces at a time, so a long piece is only
// reachable if a shorter prefix of it is also a piece.
TEST(VocabTest, EveryLongPieceHasItsPrefix) {
  const Vocab v = BuildVocab(32000).value();
  std::unordered_set<std::string> normal;
  for (int i = 0; i < v.size(); ++i) {
    if (v.types[i] == TokenType::kNormal) normal.insert(v.pieces[i]);
  }
  int checked = 0;
  for (const std::string& p : normal) {
    size_t last = p.size() - 1;  // start of the last UTF-8 character
    while (last > 0 && (static_cast<unsigned char>(p[last]) & 0xC0) == 0x80) --last;
    if (last == 0) continue;  // a single character
    EXPECT_EQ(normal.count(p.substr(0, last)), 1u) << p;
    ++checked;
  }
  EXPECT_GT(checked, 25000);
}

TEST(VocabTest, ScoresFavourEarlierNormalPieces) {
  const Vocab v = BuildVocab(4096).value();
  float prev = 1.0f;
  for (int i = 0; i < v.size(); ++i) {
    if (v.types[i] != TokenType::kNormal) continue;
    EXPECT_LT(v.scores[i], prev) << i;
    prev = v.scores[i];
  }
}

TEST(VocabTest, IsDeterministicAndSizeStable) {
  const Vocab a = BuildVocab(32000).value();
  const Vocab b = BuildVocab(32000).value();
  EXPECT_EQ(a.pieces, b.pieces);
  // A smaller vocabulary is a prefix of a larger one.
  const Vocab c = BuildVocab(8000).value();
  for (int i = 0; i < c.size(); ++i) ASSERT_EQ(c.pieces[i], a.pieces[i]) << i;
}

TEST(VocabTest, ChatTemplateUsesChatMlMarkers) {
  const std::string t = ChatMlTemplate();
  EXPECT_NE(t.find("<|im_start|>"), std::string::npos);
  EXPECT_NE(t.find("<|im_end|>"), std::string::npos);
  EXPECT_NE(t.find("add_generation_prompt"), std::string::npos);
}

}  // namespace
}  // namespace modeld::mkmodel
