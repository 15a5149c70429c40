#include "internal/manager/admission.h"

#include <gtest/gtest.h>

namespace modeld::manager {
namespace {

TEST(AdmissionTest, OneRequestPerSlot) {
  Admission a;
  a.Reset(2);
  EXPECT_EQ(a.TryAdmit(), 0);
  EXPECT_EQ(a.TryAdmit(), 1);
  EXPECT_EQ(a.running(), 2);
  EXPECT_FALSE(a.has_free_slot());
  EXPECT_EQ(a.TryAdmit(), -1) << "no free slot: waits";
  a.Release(0);
  EXPECT_TRUE(a.has_free_slot());
  EXPECT_EQ(a.TryAdmit(), 0) << "the freed slot is reused";
}

TEST(AdmissionTest, ReleaseOfAFreeOrUnknownSlotChangesNothing) {
  Admission a;
  a.Reset(2);
  EXPECT_EQ(a.TryAdmit(), 0);
  a.Release(1);
  a.Release(-1);
  a.Release(7);
  EXPECT_EQ(a.running(), 1);
}

TEST(AdmissionTest, ResetForgetsTheOldModel) {
  Admission a;
  a.Reset(1);
  EXPECT_EQ(a.TryAdmit(), 0);
  a.Reset(3);
  EXPECT_EQ(a.running(), 0);
  EXPECT_EQ(a.slots(), 3);
  EXPECT_EQ(a.TryAdmit(), 0);
}

TEST(AdmissionTest, NothingLoadedAdmitsNothing) {
  Admission a;
  EXPECT_FALSE(a.has_free_slot());
  EXPECT_EQ(a.TryAdmit(), -1);
  a.Reset(0);
  EXPECT_EQ(a.TryAdmit(), -1);
}

}  // namespace
}  // namespace modeld::manager
