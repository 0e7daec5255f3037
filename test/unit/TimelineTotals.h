// A timeline sink for tests: counts the runs it is given and sums the
// instructions' busy seconds, checking that each run covers every
// instruction with an end no earlier than its begin, within 10 s.
#ifndef VAR_TEST_UNIT_TIMELINETOTALS_H
#define VAR_TEST_UNIT_TIMELINETOTALS_H

#include "runtime/exec/InstructionTimer.h"
#include "runtime/plan/PlanFile.h"

#include <gtest/gtest.h>

#include <vector>

namespace var::test {

class TimelineTotals : public exec::TimelineSink {
public:
  void record(const plan::PlanFunction &function,
              const std::vector<exec::PlanStream> &streams,
              const std::vector<double> &begin,
              const std::vector<double> &end) override {
    ++runs;
    EXPECT_EQ(begin.size(), function.instructions.size());
    EXPECT_EQ(streams.size(), begin.size());
    EXPECT_EQ(end.size(), begin.size());
    for (size_t i = 0; i < begin.size() && i < end.size(); ++i) {
      EXPECT_LE(begin[i], end[i]) << function.instructions[i].op;
      EXPECT_LT(end[i], 10.0) << function.instructions[i].op;
      busy += end[i] - begin[i];
    }
  }
  int runs = 0;
  double busy = 0;
};

} // namespace var::test

#endif
