// A real Prometheus (Debian's `prometheus`, started here, not as a service)
// scrapes a running modeld; the test asks its HTTP API for modeld's series.
// `promtool check metrics` lints /metrics. scripts/setup.sh installs both;
// a missing tool fails the test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

namespace fs = std::filesystem;

// A port free right now on 127.0.0.1 (Prometheus cannot listen on port 0
// and report the port it got).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

class PrometheusTest : public BlackboxTest {
 protected:
  // The instant vector for `query`, polled until it has a sample (the
  // timeout is a hang guard: scrapes come every 200 ms).
  json QueryUntilPresent(int prom_port, const std::string& query) {
    const auto deadline = std::chrono::steady_clock::now() + Millis(60000);
    json last;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = Get(prom_port, "/api/v1/query?query=" + UrlEncode(query), Millis(5000));
      if (r.status == 200) {
        last = r.Json();
        if (last["status"] == "success" && !last["data"]["result"].empty()) return last;
      }
      std::this_thread::sleep_for(Millis(50));  // polling interval, not an ordering
    }
    ADD_FAILURE() << "no sample for " << query << "; last answer: " << last;
    return last;
  }
  TempDir dir_;
};

TEST_F(PrometheusTest, ARealPrometheusScrapesModeldsSeries) {
  ServerOptions options;
  options.extra_args = {"--metrics-compat", "vllm"};
  Server* s = StartServer(ConfigYaml("tiny", StandardModels()), options, "tiny");
  ASSERT_NE(s, nullptr);
  ExpectCompleted(Infer(s->port(), InferBody("count me", 4)), "tiny");

  const int prom_port = FreePort();
  ASSERT_GT(prom_port, 0);
  const fs::path config = dir_.path() / "prometheus.yml";
  std::ofstream(config) << "global:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\n"
                        << "scrape_configs:\n  - job_name: modeld\n    static_configs:\n"
                        << "      - targets: ['127.0.0.1:" << s->port() << "']\n";
  std::string error;
  // Through env: Spawn does not search PATH.
  auto prom = ChildProcess::Spawn({"/usr/bin/env",
                                   {"prometheus", "--config.file=" + config.string(),
                                    "--storage.tsdb.path=" + (dir_.path() / "data").string(),
                                    "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                                   {},
                                   dir_.path().string()},
                                  &error);
  ASSERT_NE(prom, nullptr) << "cannot start prometheus (scripts/setup.sh installs it): " << error;
  auto ready = prom->WaitForStderr(
      [](const std::string& l) {
        return l.find("Server is ready to receive web requests") != std::string::npos;
      },
      Millis(60000));
  ASSERT_TRUE(ready.has_value()) << "prometheus did not start; its log:\n"
                                 << [&] {
                                      std::string all;
                                      for (const auto& l : prom->StderrLines()) all += l + "\n";
                                      return all;
                                    }();

  json up = QueryUntilPresent(prom_port, "up{job=\"modeld\"}");
  ASSERT_FALSE(up["data"]["result"].empty());
  EXPECT_EQ(up["data"]["result"][0]["value"][1], "1") << up;
  json state = QueryUntilPresent(prom_port, "modeld_model_state{state=\"ready\"}");
  ASSERT_FALSE(state["data"]["result"].empty());
  EXPECT_EQ(state["data"]["result"][0]["value"][1], "1") << state;
  json generated = QueryUntilPresent(prom_port, "modeld_generated_tokens_total{model=\"tiny\"}");
  ASSERT_FALSE(generated["data"]["result"].empty());
  EXPECT_GT(std::stod(generated["data"]["result"][0]["value"][1].get<std::string>()), 0)
      << generated;
  // The vLLM aliases, colons and all, as the endpoint picker would read them.
  json lora = QueryUntilPresent(prom_port, "vllm:lora_requests_info");
  ASSERT_FALSE(lora["data"]["result"].empty());
  EXPECT_EQ(lora["data"]["result"][0]["metric"]["running_lora_adapters"], "tiny") << lora;
  EXPECT_FALSE(QueryUntilPresent(prom_port, "vllm:num_requests_waiting")["data"]["result"].empty());
}

// promtool on the page as a server without --metrics-compat serves it, and
// with the vLLM aliases, whose only complaint may be promtool's style lint
// against colons (legal in metric names, and the names the picker reads).
TEST_F(PrometheusTest, PromtoolAcceptsTheMetricsPage) {
  auto check = [&](const std::vector<std::string>& args) {
    ServerOptions options;
    options.extra_args = args;
    Server* s = StartServer(ConfigYaml("tiny", StandardModels()), options, "tiny");
    EXPECT_NE(s, nullptr);
    if (s == nullptr) return ExitResult{};
    // Families populated: a request, a switch.
    ExpectCompleted(Infer(s->port(), InferBody("lint me", 4, {{"model", "small"}})), "small");
    auto page = Get(s->port(), "/metrics");
    EXPECT_EQ(page.status, 200);
    const fs::path file = dir_.path() / "metrics.txt";
    std::ofstream(file) << page.body;
    return RunToExit(
        {"/bin/sh", {"-c", "promtool check metrics < '" + file.string() + "'"}, {}, ""},
        Millis(30000));
  };
  ExitResult plain = check({});
  ASSERT_TRUE(plain.exited);
  EXPECT_EQ(plain.exit_code, 0) << "promtool (scripts/setup.sh installs it):\n"
                                << plain.out << plain.err;

  ExitResult compat = check({"--metrics-compat", "vllm"});
  ASSERT_TRUE(compat.exited);
  // 3: lint problems only; 1 would be a page promtool cannot parse.
  EXPECT_EQ(compat.exit_code, 3) << compat.out << compat.err;
  std::istringstream lines(compat.out + compat.err);
  std::string line;
  int colon_lints = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const bool colon = line.rfind("vllm:", 0) == 0 &&
                       line.find("metric names should not contain ':'") != std::string::npos;
    EXPECT_TRUE(colon) << "unexpected promtool complaint: " << line;
    colon_lints += colon ? 1 : 0;
  }
  EXPECT_EQ(colon_lints, 4);
}

}  // namespace
}  // namespace modeld::blackbox
