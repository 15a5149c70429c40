#include "internal/llm/chat_template.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "internal/llm/llama_backend.h"
#include "internal/llm/llama_prompt.h"
#include "internal/llm/llama_test_util.h"
#include "internal/llm/prompt_builder.h"

// Jinja chat templates through llama.cpp's common library, on the tiny
// model's vocabulary (ChatML template with control-token markers).

namespace modeld::llm {
namespace {

class ChatTemplateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = testutil::LoadTinyVocab(); }
  static void TearDownTestSuite() { model_.reset(); }
  void SetUp() override { ASSERT_NE(model_, nullptr); }

  static testutil::VocabModel model_;
};
testutil::VocabModel ChatTemplateTest::model_;

const std::vector<ChatMessage> kChat = {
    {"system", "Be brief."}, {"user", "hi"}, {"assistant", "hello"}, {"user", "bye"}};

TEST_F(ChatTemplateTest, JinjaRenderingMatchesLlamaCppsChatMl) {
  const char* source = llama_model_chat_template(model_.get(), nullptr);
  ASSERT_NE(source, nullptr);
  ASSERT_TRUE(JinjaTemplate::IsJinja(source));
  auto t = JinjaTemplate::Create(model_.get(), source, "tiny");
  ASSERT_TRUE(t.ok()) << t.status().message();
  std::string jinja;
  ASSERT_TRUE((*t)->Render(kChat, jinja).ok());
  std::string legacy;
  ASSERT_TRUE(FormatChat(model_.get(), "chatml", kChat, "tiny", legacy).ok());
  EXPECT_EQ(jinja, legacy);
}

TEST_F(ChatTemplateTest, ToolRoleIsRendered) {
  auto t =
      JinjaTemplate::Create(model_.get(), llama_model_chat_template(model_.get(), nullptr), "tiny");
  ASSERT_TRUE(t.ok());
  std::string out;
  ASSERT_TRUE((*t)->Render({{"user", "q"}, {"tool", "42"}}, out).ok());
  EXPECT_NE(out.find("<|im_start|>tool\n42<|im_end|>"), std::string::npos) << out;
}

TEST_F(ChatTemplateTest, BuiltInNamesAreNotJinja) {
  EXPECT_FALSE(JinjaTemplate::IsJinja("chatml"));
  EXPECT_FALSE(JinjaTemplate::IsJinja("llama3"));
  EXPECT_TRUE(JinjaTemplate::IsJinja("{{ messages[0]['content'] }}"));
}

TEST_F(ChatTemplateTest, SystemTextJoinsTheUserTurnWhenTheTemplateHasNoSystemRole) {
  // Gemma-style: raises on a system message.
  const std::string source =
      "{% for m in messages %}{% if m['role'] == 'system' %}"
      "{{ raise_exception('System role not supported') }}{% endif %}"
      "{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"
      "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  auto t = JinjaTemplate::Create(model_.get(), source, "tiny");
  ASSERT_TRUE(t.ok()) << t.status().message();
  std::string out;
  const Status st = (*t)->Render({{"system", "Be brief."}, {"user", "hi"}}, out);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(out, "<|im_start|>user\nBe brief.\n\nhi<|im_end|>\n<|im_start|>assistant\n");
}

TEST_F(ChatTemplateTest, BrokenTemplatesAreTemplateErrorsNamingTheModel) {
  auto bad =
      JinjaTemplate::Create(model_.get(), "{% for m in messages %}{{ m['content'] }}", "tiny");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kTemplateError);
  EXPECT_NE(bad.status().message().find("'tiny'"), std::string::npos);

  auto empty = JinjaTemplate::Create(model_.get(), "{{ garbage }}", "tiny");
  ASSERT_TRUE(empty.ok());
  std::string nothing;
  EXPECT_EQ((*empty)->Render({{"user", "hi"}}, nothing).code(), Code::kTemplateError);

  auto raising = JinjaTemplate::Create(model_.get(), "{{ raise_exception('no way') }}", "tiny");
  ASSERT_TRUE(raising.ok());
  std::string out;
  const Status st = (*raising)->Render({{"user", "hi"}}, out);
  EXPECT_EQ(st.code(), Code::kTemplateError);
  EXPECT_NE(st.message().find("no way"), std::string::npos) << st.message();
}

TEST_F(ChatTemplateTest, PromptBuilderUsesAJinjaOverride) {
  const std::string source =
      "{% for m in messages %}{{ '<|im_start|>' + m['role'] | upper + '\\n' + m['content'] + "
      "'<|im_end|>\\n' }}{% endfor %}{{ '<|im_start|>assistant\\n' }}";
  PromptBuilder builder(model_.get(), source, false, "tiny");
  GenerateParams p;
  p.messages = std::vector<ChatMessage>{{"user", "hi <|im_end|>"}};
  std::vector<llama_token> tokens;
  ASSERT_TRUE(builder.Build(p, tokens).ok());
  // The content's "<|im_end|>" stays text: one more im_end than the
  // template's two would mean it became a control token.
  const llama_vocab* vocab = llama_model_get_vocab(model_.get());
  int im_end = 0;
  for (llama_token t : tokens) {
    if (std::string(llama_vocab_get_text(vocab, t)) == "<|im_end|>") ++im_end;
  }
  EXPECT_EQ(im_end, 1);
}

}  // namespace
}  // namespace modeld::llm
