// The communicator of a one-rank job: every collective is the identity.
#ifndef VAR_RUNTIME_EXEC_SINGLERANK_H
#define VAR_RUNTIME_EXEC_SINGLERANK_H

#include "runtime/comm/Communicator.h"

#include <cstring>

namespace var::exec {

class SingleRankCommunicator : public comm::Communicator {
public:
  int getRank() const override { return 0; }
  int getWorldSize() const override { return 1; }
  std::string allReduce(float *, int64_t, bool) override { return ""; }
  std::string reduceScatter(const float *input, float *output,
                            int64_t shardCount, bool) override {
    std::memcpy(output, input, static_cast<size_t>(shardCount) * 4);
    return "";
  }
  std::string allGather(const float *input, float *output,
                        int64_t shardCount) override {
    std::memcpy(output, input, static_cast<size_t>(shardCount) * 4);
    return "";
  }
  std::string broadcast(void *, int64_t, int) override { return ""; }
  std::string barrier() override { return ""; }
};

} // namespace var::exec

#endif
