// var-plan: loads a plan file the way the runtime does (verified as untrusted
// input) and prints what it holds; with --world-size, resolves the shards.
#include "runtime/plan/PlanFile.h"
#include "runtime/plan/PlanMemoryReport.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

namespace {

const char *kUsage =
    "usage: var-plan PLAN.fb [--world-size=N]\n"
    "\n"
    "Loads a training plan written by `varc -o`, with the runtime's checks\n"
    "(FlatBuffers verifier, then every index, size and offset), and prints\n"
    "its configuration, parameters, buckets and functions.\n"
    "\n"
    "  --world-size=N  resolve bucket shards for N ranks, as the runtime\n"
    "                  does at load time (a pinned plan refuses other N),\n"
    "                  and print the bytes each rank allocates, computed\n"
    "                  from the plan as `varc --report` computes them\n"
    "  --help          this text\n"
    "\n"
    "Exit codes: 0 the plan is valid, 1 it is not (the error says why),\n"
    "2 bad command line.\n";

int usageError(const std::string &message) {
  std::cerr << "var-plan: error: " << message << "\n" << kUsage;
  return 2;
}

void printPlan(const var::plan::Plan &plan, const std::string &path) {
  using var::plan::getDTypeName;
  const var::plan::PlanConfig &config = plan.config;
  std::cout << "plan: " << path << "\n";
  std::cout << "config: ZeRO stage " << config.zeroStage << ", compute "
            << getDTypeName(config.computeDType) << ", buckets of "
            << config.bucketMB << " MiB, prefetch " << config.prefetchBuckets
            << ", grad accum " << config.gradAccum << ", offload optimizer "
            << (config.offloadOptimizer ? "yes" : "no") << ", offload params "
            << (config.offloadParams ? "yes" : "no") << ", clip "
            << config.clipGradNorm << ", initial lr " << config.initialLR
            << ", world size ";
  if (config.pinnedWorldSize)
    std::cout << config.pinnedWorldSize << " (pinned)\n";
  else
    std::cout << "any\n";
  if (const std::optional<var::plan::LrScheduleSpec> &schedule =
          config.lrSchedule) {
    std::cout << "lr schedule: " << schedule->type;
    auto field = [](const char *name, const auto &value) {
      if (value)
        std::cout << ", " << name << " " << *value;
    };
    field("warmup_min_lr", schedule->warmupMinLr);
    field("warmup_max_lr", schedule->warmupMaxLr);
    field("warmup_num_steps", schedule->warmupNumSteps);
    field("warmup_type", schedule->warmupType);
    field("total_num_steps", schedule->totalNumSteps);
    field("warmup_min_ratio", schedule->warmupMinRatio);
    field("cos_min_ratio", schedule->cosMinRatio);
    std::cout << "\n";
  }

  int64_t trainable = 0, buffers = 0;
  for (const var::plan::PlanParam &param : plan.params)
    (param.isTrainable() ? trainable : buffers) += param.numel;
  std::cout << "params: " << plan.params.size() << " tensors, " << trainable
            << " trainable elements, " << buffers << " buffer elements\n";
  for (const var::plan::PlanBucket &bucket : plan.buckets) {
    std::cout << "bucket " << bucket.name << ": " << getDTypeName(bucket.dtype)
              << ", " << bucket.params.size() << " params, " << bucket.numel
              << " elements";
    if (plan.worldSize)
      std::cout << ", padded " << bucket.paddedNumel << ", shard "
                << bucket.shardNumel << " per rank";
    std::cout << "\n";
  }
  for (const var::plan::PlanFunction &function : plan.functions) {
    int64_t flops = 0;
    for (const var::plan::Instruction &inst : function.instructions)
      flops += inst.flops;
    std::cout << "function " << function.name << ": " << function.args.size()
              << " args, " << function.instructions.size() << " instructions, "
              << function.values.size() << " values, arena "
              << function.arenaBytes << " bytes, " << flops << " FLOPs\n";
  }
  if (plan.worldSize)
    std::cout << "resolved for " << plan.worldSize << " ranks\n";
}

} // namespace

int main(int argc, char **argv) {
  std::string path;
  int64_t worldSize = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg.rfind("--world-size=", 0) == 0) {
      char *end = nullptr;
      const char *text = arg.c_str() + std::strlen("--world-size=");
      long long value = std::strtoll(text, &end, 10);
      if (*text == '\0' || *end != '\0' || value < 1)
        return usageError("--world-size must be a positive integer, got '" +
                          std::string(text) + "'");
      worldSize = value;
      continue;
    }
    if (arg.rfind("-", 0) == 0)
      return usageError("unknown option '" + arg + "'");
    if (!path.empty())
      return usageError("one plan file at a time");
    path = arg;
  }
  if (path.empty())
    return usageError("no plan file given");

  var::plan::Expected<var::plan::Plan> plan = var::plan::loadPlan(path);
  if (!plan) {
    std::cerr << path << ": error: " << plan.error() << "\n";
    return 1;
  }
  if (worldSize) {
    var::plan::Expected<var::plan::Plan> resolved = plan->resolve(worldSize);
    if (!resolved) {
      std::cerr << path << ": error: " << resolved.error() << "\n";
      return 1;
    }
    printPlan(*resolved, path);
    var::plan::Expected<var::plan::PlanMemoryReport> memory =
        var::plan::computePlanMemoryReport(*resolved);
    if (!memory) {
      std::cerr << path << ": error: " << memory.error() << "\n";
      return 1;
    }
    std::cout << "memory per rank (the runtime's report): "
              << var::plan::formatPlanMemoryReport(*memory)
              << "; bytes: device " << memory->total.device << ", host "
              << memory->total.host << "\n";
    return 0;
  }
  printPlan(*plan, path);
  return 0;
}
