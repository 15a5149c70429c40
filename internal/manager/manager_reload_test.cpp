// The manager under a config reload (SetCatalog) and --pin.
#include <gtest/gtest.h>

#include <algorithm>

#include "internal/manager/fake_backend_for_test.h"
#include "internal/manager/manager.h"
#include "internal/manager/manager_test_util.h"

namespace modeld::manager {
namespace {

using namespace testutil;  // NOLINT(google-build-using-namespace): test helpers
using ManagerReloadTest = ManagerFixture;

// Catalog() without `id` (and `id2`), plus an entry "d".
std::vector<llm::LoadSpec> CatalogWithout(const std::string& id, const std::string& id2 = "") {
  std::vector<llm::LoadSpec> c = Catalog();
  c.erase(std::remove_if(c.begin(), c.end(),
                         [&](const llm::LoadSpec& s) { return s.id == id || s.id == id2; }),
          c.end());
  llm::LoadSpec d;
  d.id = "d";
  d.path = "/models/d.gguf";
  d.parallel = 1;
  c.push_back(d);
  return c;
}

TEST_F(ManagerReloadTest, ARemovedLoadedModelFinishesItsWorkThenIsUnloaded) {
  StartReady("a");
  backend_.CloseGate();
  auto running = Submit("a");
  auto queued = Submit("a");
  ASSERT_TRUE(backend_.WaitGenerates("a", 1, kWait));
  manager_->SetCatalog(CatalogWithout("a"), {"a"});

  // New work for it is refused; accepted work goes on.
  auto late = NewRequest("a");
  EXPECT_EQ(manager_->Submit(late).code(), Code::kModelNotFound);
  auto unnamed = NewRequest("");
  Status st = manager_->Submit(unnamed);
  EXPECT_EQ(st.code(), Code::kNoModelLoaded);
  EXPECT_NE(st.message().find("removed"), std::string::npos) << st.message();
  EXPECT_EQ(manager_->GetSnapshot().loaded, "a");

  backend_.Allow(8);
  ExpectOk(WaitOutcome(running), "a");
  ExpectOk(WaitOutcome(queued), "a");
  ASSERT_TRUE(WaitSnapshot([](const Snapshot& s) {
    return s.state == ModelState::kEmpty && s.loaded.empty() && s.target.empty();
  }));
  ASSERT_TRUE(WaitSnapshot([&](const Snapshot&) { return backend_.live_models() == 0; }));
  // Another model loads as usual afterwards.
  backend_.OpenGate();
  ExpectOk(WaitOutcome(Submit("d")), "d");
}

TEST_F(ManagerReloadTest, AReloadThatDoesNotTouchAModelLeavesItsWorkAlone) {
  StartReady("a");
  backend_.CloseGate();
  auto r = Submit("a");
  ASSERT_TRUE(backend_.WaitGenerates("a", 1, kWait));
  manager_->SetCatalog(CatalogWithout("b"), {"b"});
  backend_.Allow(4);
  ExpectOk(WaitOutcome(r), "a");
  EXPECT_EQ(r->outcome().cancel_reason, CancelReason::kNone);
  Snapshot s = manager_->GetSnapshot();
  EXPECT_EQ(s.loaded, "a");
  EXPECT_EQ(s.state, ModelState::kReady);
  EXPECT_EQ(manager_->Submit(NewRequest("b")).code(), Code::kModelNotFound);
  backend_.OpenGate();
  ExpectOk(WaitOutcome(Submit("d")), "d");  // added by the reload
}

TEST_F(ManagerReloadTest, AModelRemovedWhileLoadingServesItsQueueThenIsUnloaded) {
  StartReady("a");
  backend_.BlockLoad("b");
  auto r = Submit("b");
  ASSERT_TRUE(backend_.WaitLoads("b", 1, kWait));
  manager_->SetCatalog(CatalogWithout("b"), {"b"});
  backend_.ReleaseLoad("b");
  ExpectOk(WaitOutcome(r), "b");
  ASSERT_TRUE(WaitSnapshot([](const Snapshot& s) {
    return s.state == ModelState::kEmpty && s.loaded.empty() && s.target.empty();
  }));
}

TEST_F(ManagerReloadTest, APendingSwitchToARemovedModelEndsItsQueueAndTheOldModelIsUnloaded) {
  StartReady("a");
  backend_.CloseGate(/*honour_cancel=*/false);  // a's request outlives its cancel
  auto running = Submit("a");
  ASSERT_TRUE(backend_.WaitGenerates("a", 1, kWait));
  auto waiting = Submit("b");  // the switch waits for `running` to end
  manager_->SetCatalog(CatalogWithout("a", "b"), {"a", "b"});
  Seen seen = WaitOutcome(waiting);
  ASSERT_TRUE(seen.done);
  EXPECT_EQ(seen.outcome.status.code(), Code::kModelNotFound) << seen.outcome.status.message();
  EXPECT_NE(seen.outcome.status.message().find("removed"), std::string::npos);
  backend_.OpenGate();
  ASSERT_TRUE(WaitOutcome(running).done);  // cancelled by the switch, or finished
  ASSERT_TRUE(WaitSnapshot([](const Snapshot& s) {
    return s.state == ModelState::kEmpty && s.loaded.empty() && s.target.empty();
  }));
  EXPECT_EQ(backend_.loads("b"), 0);
}

TEST_F(ManagerReloadTest, AChangedEntryAppliesAtItsNextLoad) {
  StartReady("a");
  std::vector<llm::LoadSpec> changed = Catalog();
  for (auto& spec : changed) {
    if (spec.id == "a" || spec.id == "b") spec.ctx_size = 777;
  }
  manager_->SetCatalog(changed, {"a", "b"});
  EXPECT_EQ(manager_->GetSnapshot().kv_cells, 4096);  // a keeps its settings while loaded
  ExpectOk(WaitOutcome(Submit("a")), "a");
  ExpectOk(WaitOutcome(Submit("b")), "b");
  EXPECT_EQ(manager_->GetSnapshot().kv_cells, 777);
  ExpectOk(WaitOutcome(Submit("a")), "a");
  EXPECT_EQ(manager_->GetSnapshot().kv_cells, 777);
}

TEST_F(ManagerReloadTest, APinnedManagerRefusesOtherModelsAndNeverSwitches) {
  Options options;
  options.pinned = "a";
  StartReady("a", options);
  auto other = NewRequest("b");
  Status st = manager_->Submit(other);
  EXPECT_EQ(st.code(), Code::kModelPinned);
  EXPECT_NE(st.message().find("'a'"), std::string::npos) << st.message();
  ExpectOk(WaitOutcome(Submit("")), "a");
  ExpectOk(WaitOutcome(Submit("a")), "a");
  EXPECT_EQ(backend_.loads("b"), 0);
  EXPECT_EQ(backend_.loads("a"), 1);
}

}  // namespace
}  // namespace modeld::manager
