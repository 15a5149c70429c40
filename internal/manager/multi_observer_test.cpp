#include "internal/manager/multi_observer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace modeld::manager {
namespace {

// Records each call as one line.
class Recorder : public Observer {
 public:
  void OnSwitch(const SwitchReport& r) override { calls.push_back("switch " + r.to); }
  void OnStateChange(ModelState s, const std::string& m) override {
    calls.push_back("state " + std::string(ModelStateName(s)) + " " + m);
  }
  void OnLoadProgress(const std::string& m, float p) override {
    calls.push_back("progress " + m + " " + std::to_string(static_cast<int>(p * 100)));
  }
  void OnCancel(CancelReason r) override {
    calls.push_back("cancel " + std::string(CancelReasonName(r)));
  }
  void OnQueueDepth(size_t d) override { calls.push_back("depth " + std::to_string(d)); }
  void OnSubmit(const std::string& m) override { calls.push_back("submit " + m); }
  void OnFinish(const Outcome& o) override { calls.push_back("finish " + o.model); }
  std::vector<std::string> calls;
};

TEST(MultiObserverTest, ForwardsEveryEventToEveryObserverInOrder) {
  Recorder a;
  Recorder b;
  MultiObserver multi({&a, &b});
  Observer& o = multi;
  SwitchReport report;
  report.to = "small";
  Outcome outcome;
  outcome.model = "tiny";
  o.OnSwitch(report);
  o.OnStateChange(ModelState::kWarming, "small");
  o.OnLoadProgress("small", 0.5f);
  o.OnCancel(CancelReason::kDisconnect);
  o.OnQueueDepth(3);
  o.OnSubmit("tiny");
  o.OnFinish(outcome);
  const std::vector<std::string> want = {
      "switch small", "state warming small", "progress small 50", "cancel disconnect",
      "depth 3",      "submit tiny",         "finish tiny"};
  EXPECT_EQ(a.calls, want);
  EXPECT_EQ(b.calls, want);
}

}  // namespace
}  // namespace modeld::manager
