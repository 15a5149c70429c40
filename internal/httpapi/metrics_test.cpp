#include "internal/httpapi/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace modeld::httpapi {
namespace {

using manager::CancelReason;
using manager::ModelState;

// Parses the text format into {"name{labels}" -> value}; checks that every
// sample belongs to a family announced by HELP and TYPE lines before it.
std::map<std::string, double> Parse(const std::string& text) {
  std::map<std::string, double> samples;
  std::set<std::string> helped;
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    EXPECT_FALSE(line.empty()) << "blank line in:\n" << text;
    if (line.rfind("# HELP ", 0) == 0) {
      helped.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string rest = line.substr(7);
      const std::string name = rest.substr(0, rest.find(' '));
      EXPECT_TRUE(helped.count(name)) << "TYPE before HELP: " << line;
      types[name] = rest.substr(rest.find(' ') + 1);
      continue;
    }
    const size_t space = line.rfind(' ');
    const std::string key = line.substr(0, space);
    std::string family = key.substr(0, key.find('{'));
    if (!types.count(family)) {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s = suffix;
        if (family.size() > s.size() && family.ends_with(s)) {
          family.resize(family.size() - s.size());
          break;
        }
      }
    }
    EXPECT_TRUE(types.count(family)) << "sample without TYPE: " << line;
    EXPECT_EQ(samples.count(key), 0u) << "duplicate series: " << key;
    const std::string value = line.substr(space + 1);
    samples[key] = value == "+Inf" ? INFINITY : std::stod(value);
  }
  EXPECT_TRUE(text.empty() || text.back() == '\n');
  return samples;
}

manager::Outcome Generated(const std::string& model, int prompt, int completion, double tps) {
  manager::Outcome o;
  o.model = model;
  o.stats.prompt_tokens = prompt;
  o.stats.completion_tokens = completion;
  o.timings.queue_ms = 10;
  o.timings.switch_ms = 20;
  o.timings.prompt_ms = 30;  // time to first token: 0.06 s
  o.timings.tokens_per_second = tps;
  return o;
}

TEST(MetricsTest, EveryFamilyIsAnnouncedEvenWithoutSamples) {
  Metrics m;
  const std::string text = m.Render();
  for (const char* family : {"modeld_requests_total counter",
                             "modeld_prompt_tokens_total counter",
                             "modeld_generated_tokens_total counter",
                             "modeld_model_info gauge",
                             "modeld_model_state gauge",
                             "modeld_load_duration_seconds histogram",
                             "modeld_switch_duration_seconds histogram",
                             "modeld_queue_depth gauge",
                             "modeld_inflight_requests gauge",
                             "modeld_cancellations_total counter",
                             "modeld_time_to_first_token_seconds histogram",
                             "modeld_decode_tokens_per_second gauge",
                             "modeld_num_requests_waiting gauge",
                             "modeld_num_requests_running gauge",
                             "modeld_kv_cache_usage_perc gauge",
                             "modeld_preemptions_total counter",
                             "modeld_prompt_cache_hits_total counter",
                             "modeld_prompt_cache_misses_total counter",
                             "modeld_prompt_tokens_cached_total counter",
                             "modeld_prompt_cache_bytes gauge",
                             "modeld_switch_free_seconds histogram",
                             "modeld_switch_model_load_seconds histogram",
                             "modeld_switch_context_seconds histogram",
                             "modeld_switch_warmup_seconds histogram",
                             "modeld_embedding_requests_total counter",
                             "modeld_embedding_inputs_total counter",
                             "modeld_embedding_tokens_total counter"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + family + "\n"), std::string::npos) << family;
  }
  auto s = Parse(text);
  EXPECT_EQ(s.at("modeld_model_state{state=\"empty\"}"), 1);
  EXPECT_EQ(s.at("modeld_model_state{state=\"ready\"}"), 0);
  EXPECT_EQ(s.at("modeld_queue_depth"), 0);
  EXPECT_EQ(s.at("modeld_inflight_requests"), 0);
  EXPECT_EQ(s.at("modeld_cancellations_total{reason=\"disconnect\"}"), 0);
  EXPECT_EQ(s.count("modeld_model_info{model=\"tiny\"}"), 0u);
}

TEST(MetricsTest, EngineGaugesComeFromEventsAndTheLiveSource) {
  Metrics m;
  auto s = Parse(m.Render());
  EXPECT_EQ(s.at("modeld_num_requests_running"), 0);
  EXPECT_EQ(s.at("modeld_kv_cache_usage_perc"), 0);
  m.OnRunning(3);
  m.OnQueueDepth(2);
  m.SetLiveSource([] {
    Metrics::Live live;
    live.kv_usage = 0.25;
    live.preemptions = 7;
    live.prompt_cache_bytes = 4096;
    return live;
  });
  s = Parse(m.Render());
  EXPECT_EQ(s.at("modeld_num_requests_running"), 3);
  EXPECT_EQ(s.at("modeld_num_requests_waiting"), 2);
  EXPECT_EQ(s.at("modeld_queue_depth"), 2);
  EXPECT_EQ(s.at("modeld_kv_cache_usage_perc"), 0.25);
  EXPECT_EQ(s.at("modeld_preemptions_total"), 7);
  EXPECT_EQ(s.at("modeld_prompt_cache_bytes"), 4096);
}

TEST(MetricsTest, PromptCacheHitsMissesAndReusedTokens) {
  Metrics m;
  manager::Outcome hit = Generated("small", 40, 4, 100);
  hit.stats.cached_tokens = 30;
  m.OnFinish(hit);
  m.OnFinish(Generated("small", 10, 4, 100));
  manager::Outcome never_ran;  // rejected before it reached the model
  never_ran.model = "small";
  m.OnFinish(never_ran);
  auto s = Parse(m.Render());
  EXPECT_EQ(s.at("modeld_prompt_cache_hits_total"), 1);
  EXPECT_EQ(s.at("modeld_prompt_cache_misses_total"), 1);
  EXPECT_EQ(s.at("modeld_prompt_tokens_cached_total{model=\"small\"}"), 30);
}

TEST(MetricsTest, EmbeddingsCountRequestsInputsAndTokensApart) {
  Metrics m;
  manager::Outcome e;
  e.model = "embed";
  e.stats.n_embd = 2;
  e.stats.embeddings = {1, 0, 0, 1, 1, 0};  // three inputs
  e.stats.prompt_tokens = 12;
  m.OnFinish(e);
  m.OnFinish(e);
  auto s = Parse(m.Render());
  EXPECT_EQ(s.at("modeld_embedding_requests_total{model=\"embed\"}"), 2);
  EXPECT_EQ(s.at("modeld_embedding_inputs_total{model=\"embed\"}"), 6);
  EXPECT_EQ(s.at("modeld_embedding_tokens_total{model=\"embed\"}"), 24);
  // Not generation's prompt tokens, and no prompt-cache miss.
  EXPECT_EQ(s.count("modeld_prompt_tokens_total{model=\"embed\"}"), 0u);
  EXPECT_EQ(s.at("modeld_prompt_cache_misses_total"), 0);
}

TEST(MetricsTest, RequestsCountByRouteAndStatus) {
  Metrics m;
  m.OnRequest("/v1/chat/completions", 200, 1);
  m.OnRequest("/v1/chat/completions", 200, 1);
  m.OnRequest("/v1/chat/completions", 400, 1);
  m.OnRequest("other", 404, 1);
  auto s = Parse(m.Render());
  EXPECT_EQ(s.at("modeld_requests_total{route=\"/v1/chat/completions\",status=\"200\"}"), 2);
  EXPECT_EQ(s.at("modeld_requests_total{route=\"/v1/chat/completions\",status=\"400\"}"), 1);
  EXPECT_EQ(s.at("modeld_requests_total{route=\"other\",status=\"404\"}"), 1);
}

TEST(MetricsTest, StateAndCurrentModelFollowTheManager) {
  Metrics m;
  m.OnStateChange(ModelState::kLoading, "small");
  auto s = Parse(m.Render());
  EXPECT_EQ(s.at("modeld_model_state{state=\"loading\"}"), 1);
  EXPECT_EQ(s.at("modeld_model_state{state=\"empty\"}"), 0);
  EXPECT_EQ(s.at("modeld_model_info{model=\"small\"}"), 1);
  m.OnStateChange(ModelState::kReady, "tiny");
  s = Parse(m.Render());
  EXPECT_EQ(s.at("modeld_model_state{state=\"ready\"}"), 1);
  EXPECT_EQ(s.at("modeld_model_state{state=\"loading\"}"), 0);
  EXPECT_EQ(s.at("modeld_model_info{model=\"tiny\"}"), 1);
  EXPECT_EQ(s.count("modeld_model_info{model=\"small\"}"), 0u);
}

TEST(MetricsTest, TokensTtftAndDecodeSpeedComeFromOutcomes) {
  Metrics m;
  m.OnSubmit("tiny");
  m.OnSubmit("tiny");
  m.OnSubmit("small");
  auto s = Parse(m.Render());
  EXPECT_EQ(s.at("modeld_inflight_requests"), 3);
  m.OnFinish(Generated("tiny", 5, 7, 900));
  m.OnFinish(Generated("tiny", 3, 2, 1000));
  m.OnFinish(Generated("small", 4, 0, 0));  // cancelled before its first token
  s = Parse(m.Render());
  EXPECT_EQ(s.at("modeld_inflight_requests"), 0);
  EXPECT_EQ(s.at("modeld_prompt_tokens_total{model=\"tiny\"}"), 8);
  EXPECT_EQ(s.at("modeld_prompt_tokens_total{model=\"small\"}"), 4);
  EXPECT_EQ(s.at("modeld_decode_tokens_per_second{model=\"tiny\"}"), 1000);  // the last one
  EXPECT_EQ(s.at("modeld_time_to_first_token_seconds_count{model=\"tiny\"}"), 2);
  EXPECT_DOUBLE_EQ(s.at("modeld_time_to_first_token_seconds_sum{model=\"tiny\"}"), 0.12);
  // 0.06 s falls in the 0.1 bucket, not the 0.05 one; buckets are cumulative.
  EXPECT_EQ(s.at("modeld_time_to_first_token_seconds_bucket{model=\"tiny\",le=\"0.05\"}"), 0);
  EXPECT_EQ(s.at("modeld_time_to_first_token_seconds_bucket{model=\"tiny\",le=\"0.1\"}"), 2);
  EXPECT_EQ(s.at("modeld_time_to_first_token_seconds_bucket{model=\"tiny\",le=\"+Inf\"}"), 2);
  EXPECT_EQ(s.count("modeld_time_to_first_token_seconds_count{model=\"small\"}"), 0u);
}

// Generated tokens come from the manager's running count (read at scrape
// time, so they move during a generation), not from finished requests.
TEST(MetricsTest, GeneratedTokensAreReadAtScrapeTime) {
  Metrics m;
  Metrics::Live live;
  live.generated_tokens = {{"tiny", 9}};
  m.SetLiveSource([&live] { return live; });
  m.OnFinish(Generated("tiny", 5, 7, 900));
  auto s = Parse(m.Render());
  EXPECT_EQ(s.at("modeld_generated_tokens_total{model=\"tiny\"}"), 9);
  EXPECT_EQ(s.count("modeld_generated_tokens_total{model=\"small\"}"), 0u);
  live.generated_tokens["tiny"] = 12;
  live.generated_tokens["small"] = 1;
  s = Parse(m.Render());
  EXPECT_EQ(s.at("modeld_generated_tokens_total{model=\"tiny\"}"), 12);
  EXPECT_EQ(s.at("modeld_generated_tokens_total{model=\"small\"}"), 1);
}

TEST(MetricsTest, SwitchesFeedLoadAndSwitchHistograms) {
  Metrics m;
  m.OnSwitch({"", "tiny", 100, 5, "ok", ""});
  m.OnSwitch({"tiny", "small", 2000, 500, "ok", ""});
  m.OnSwitch({"small", "broken", 1, 0, "failed", "bad magic"});
  m.OnSwitch({"small", "tiny", 50, 0, "aborted", "superseded"});
  auto s = Parse(m.Render());
  EXPECT_EQ(s.at("modeld_switches_total{outcome=\"ok\"}"), 2);
  EXPECT_EQ(s.at("modeld_switches_total{outcome=\"failed\"}"), 1);
  EXPECT_EQ(s.at("modeld_switches_total{outcome=\"aborted\"}"), 1);
  EXPECT_EQ(s.at("modeld_load_duration_seconds_count{model=\"tiny\"}"), 1);
  EXPECT_DOUBLE_EQ(s.at("modeld_load_duration_seconds_sum{model=\"tiny\"}"), 0.1);
  EXPECT_EQ(s.at("modeld_load_duration_seconds_bucket{model=\"tiny\",le=\"0.1\"}"), 1);
  EXPECT_EQ(s.at("modeld_load_duration_seconds_bucket{model=\"tiny\",le=\"0.05\"}"), 0);
  EXPECT_DOUBLE_EQ(s.at("modeld_switch_duration_seconds_sum{model=\"small\"}"), 2.5);
  EXPECT_EQ(s.at("modeld_switch_duration_seconds_bucket{model=\"small\",le=\"2.5\"}"), 1);
  EXPECT_EQ(s.at("modeld_switch_duration_seconds_bucket{model=\"small\",le=\"1\"}"), 0);
  EXPECT_EQ(s.count("modeld_load_duration_seconds_count{model=\"broken\"}"), 0u);
}

TEST(MetricsTest, EverySwitchPhaseHasItsHistogram) {
  Metrics m;
  manager::SwitchReport r{"tiny", "small", 300, 40, "ok", ""};
  r.free_ms = 10;
  r.model_ms = 200;
  r.context_ms = 100;
  m.OnSwitch(r);
  auto s = Parse(m.Render());
  EXPECT_DOUBLE_EQ(s.at("modeld_switch_free_seconds_sum{model=\"small\"}"), 0.01);
  EXPECT_DOUBLE_EQ(s.at("modeld_switch_model_load_seconds_sum{model=\"small\"}"), 0.2);
  EXPECT_DOUBLE_EQ(s.at("modeld_switch_context_seconds_sum{model=\"small\"}"), 0.1);
  EXPECT_DOUBLE_EQ(s.at("modeld_switch_warmup_seconds_sum{model=\"small\"}"), 0.04);
  EXPECT_EQ(s.at("modeld_switch_model_load_seconds_count{model=\"small\"}"), 1);
}

TEST(MetricsTest, CancellationsQueueDepthAndEscaping) {
  Metrics m;
  m.OnCancel(CancelReason::kSwitch);
  m.OnCancel(CancelReason::kSwitch);
  m.OnCancel(CancelReason::kDisconnect);
  m.OnQueueDepth(4);
  m.OnRequest("we\"ird\\\n", 200, 1);
  const std::string text = m.Render();
  auto s = Parse(text);
  EXPECT_EQ(s.at("modeld_cancellations_total{reason=\"switch\"}"), 2);
  EXPECT_EQ(s.at("modeld_cancellations_total{reason=\"disconnect\"}"), 1);
  EXPECT_EQ(s.at("modeld_cancellations_total{reason=\"shutdown\"}"), 0);
  EXPECT_EQ(s.at("modeld_queue_depth"), 4);
  EXPECT_NE(text.find(R"(route="we\"ird\\\n",status="200"} 1)"), std::string::npos) << text;
}

}  // namespace
}  // namespace modeld::httpapi
