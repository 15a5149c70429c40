#include "internal/httpapi/vector_text.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <vector>

namespace modeld::httpapi {
namespace {

TEST(VectorTextTest, Base64MatchesRfc4648Vectors) {
  const struct {
    const char* in;
    const char* out;
  } cases[] = {{"", ""},
               {"f", "Zg=="},
               {"fo", "Zm8="},
               {"foo", "Zm9v"},
               {"foob", "Zm9vYg=="},
               {"fooba", "Zm9vYmE="},
               {"foobar", "Zm9vYmFy"}};
  for (const auto& c : cases) {
    std::string out;
    AppendBase64(out, c.in);
    EXPECT_EQ(out, c.out) << c.in;
  }
}

TEST(VectorTextTest, FloatsBase64AreLittleEndianFloat32) {
  // 1.0f is 00 00 80 3f; -2.0f is 00 00 00 c0.
  std::string out;
  const std::vector<float> v = {1.0f, -2.0f};
  AppendFloatsBase64(out, v);
  std::string want;
  AppendBase64(want, std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8));
  EXPECT_EQ(out, want);
  EXPECT_EQ(out, "AACAPwAAAMA=");
}

TEST(VectorTextTest, FloatArrayRoundTripsAndHasNoNonFiniteValues) {
  std::string out;
  const std::vector<float> v = {0.1f, -1.5f, 1e-8f, std::numeric_limits<float>::infinity()};
  AppendFloatArray(out, v);
  EXPECT_EQ(out, "[0.1,-1.5,1e-08,0]");
  out.clear();
  AppendFloatArray(out, {});
  EXPECT_EQ(out, "[]");
}

}  // namespace
}  // namespace modeld::httpapi
