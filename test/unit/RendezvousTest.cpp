// Rank detection from the environment for every launcher convention: Slurm
// (node lists included), torchrun, OpenMPI and varrun's own launcher, their
// precedence, and errors that name the variable.
#include "runtime/comm/Rendezvous.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

using namespace var::comm;

namespace {

//===----------------------------------------------------------------------===//
// Rank detection
//===----------------------------------------------------------------------===//

RankInfo detectOrDie(const Environment &env) {
  RankInfo info;
  std::string error;
  EXPECT_TRUE(detectRankInfo(env, info, error)) << error;
  return info;
}

std::string detectError(const Environment &env) {
  RankInfo info;
  info.rank = 77; // Must stay untouched on failure.
  std::string error;
  EXPECT_FALSE(detectRankInfo(env, info, error));
  EXPECT_EQ(info.rank, 77);
  return error;
}

TEST(Rendezvous, NoVariablesMeansOneRank) {
  RankInfo info = detectOrDie({{"HOME", "/root"}});
  EXPECT_EQ(info.source, "single");
  EXPECT_EQ(info.rank, 0);
  EXPECT_EQ(info.worldSize, 1);
  EXPECT_EQ(info.localRank, 0);
}

TEST(Rendezvous, Varrun) {
  RankInfo info = detectOrDie({{"VARRUN_RANK", "2"},
                               {"VARRUN_WORLD_SIZE", "4"},
                               {"VARRUN_LOCAL_RANK", "2"},
                               {"VARRUN_MASTER_ADDR", "127.0.0.1"},
                               {"VARRUN_MASTER_PORT", "31000"}});
  EXPECT_EQ(info.source, "varrun");
  EXPECT_EQ(info.rank, 2);
  EXPECT_EQ(info.worldSize, 4);
  EXPECT_EQ(info.localRank, 2);
  EXPECT_EQ(info.masterAddr, "127.0.0.1");
  EXPECT_EQ(info.masterPort, 31000);
}

TEST(Rendezvous, VarrunNeedsEveryVariable) {
  Environment env = {{"VARRUN_RANK", "1"},
                     {"VARRUN_WORLD_SIZE", "2"},
                     {"VARRUN_LOCAL_RANK", "1"},
                     {"VARRUN_MASTER_ADDR", "127.0.0.1"},
                     {"VARRUN_MASTER_PORT", "31000"}};
  for (const char *name :
       {"VARRUN_RANK", "VARRUN_WORLD_SIZE", "VARRUN_LOCAL_RANK",
        "VARRUN_MASTER_ADDR", "VARRUN_MASTER_PORT"}) {
    Environment partial = env;
    partial.erase(name);
    EXPECT_EQ(detectError(partial),
              std::string(name) + " is not set" +
                  (std::strstr(name, "MASTER") ? " (needed for 2 ranks)" : ""));
  }
}

TEST(Rendezvous, Torchrun) {
  RankInfo info = detectOrDie({{"RANK", "5"},
                               {"WORLD_SIZE", "8"},
                               {"LOCAL_RANK", "1"},
                               {"MASTER_ADDR", "node07"},
                               {"MASTER_PORT", "29400"}});
  EXPECT_EQ(info.source, "torchrun");
  EXPECT_EQ(info.rank, 5);
  EXPECT_EQ(info.worldSize, 8);
  EXPECT_EQ(info.localRank, 1);
  EXPECT_EQ(info.masterAddr, "node07");
  EXPECT_EQ(info.masterPort, 29400);

  // Plain env:// style: no LOCAL_RANK.
  info = detectOrDie({{"RANK", "0"},
                      {"WORLD_SIZE", "2"},
                      {"MASTER_ADDR", "h"},
                      {"MASTER_PORT", "1234"}});
  EXPECT_EQ(info.localRank, 0);

  // One rank needs no master.
  info = detectOrDie({{"RANK", "0"}, {"WORLD_SIZE", "1"}});
  EXPECT_EQ(info.worldSize, 1);
  EXPECT_EQ(info.masterAddr, "127.0.0.1");

  EXPECT_EQ(detectError({{"RANK", "0"}, {"WORLD_SIZE", "2"}}),
            "MASTER_ADDR is not set (needed for 2 ranks)");
  EXPECT_EQ(
      detectError({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}),
      "MASTER_PORT is not set (needed for 2 ranks)");
}

TEST(Rendezvous, OpenMpi) {
  RankInfo info = detectOrDie({{"OMPI_COMM_WORLD_RANK", "3"},
                               {"OMPI_COMM_WORLD_SIZE", "4"},
                               {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}});
  EXPECT_EQ(info.source, "openmpi");
  EXPECT_EQ(info.rank, 3);
  EXPECT_EQ(info.worldSize, 4);
  EXPECT_EQ(info.localRank, 1);
  EXPECT_EQ(info.masterAddr, "127.0.0.1");
  EXPECT_EQ(info.masterPort, 29500);

  info = detectOrDie({{"OMPI_COMM_WORLD_RANK", "0"},
                      {"OMPI_COMM_WORLD_SIZE", "4"},
                      {"MASTER_ADDR", "head"},
                      {"MASTER_PORT", "4000"}});
  EXPECT_EQ(info.masterAddr, "head");
  EXPECT_EQ(info.masterPort, 4000);
}

TEST(Rendezvous, Slurm) {
  Environment env = {
      {"SLURM_PROCID", "9"},  {"SLURM_NTASKS", "16"},
      {"SLURM_LOCALID", "1"}, {"SLURM_JOB_ID", "123456"},
      {"SLURM_STEP_ID", "0"}, {"SLURM_JOB_NODELIST", "gpu[07-10],login1"}};
  RankInfo info = detectOrDie(env);
  EXPECT_EQ(info.source, "slurm");
  EXPECT_EQ(info.rank, 9);
  EXPECT_EQ(info.worldSize, 16);
  EXPECT_EQ(info.localRank, 1);
  EXPECT_EQ(info.masterAddr, "gpu07");
  EXPECT_EQ(info.masterPort, 10000 + 123456 % 20000);

  // The step's node list wins over the job's; SLURM_NODELIST is the old name.
  env["SLURM_STEP_NODELIST"] = "gpu[09-10]";
  EXPECT_EQ(detectOrDie(env).masterAddr, "gpu09");
  env.erase("SLURM_STEP_NODELIST");
  env.erase("SLURM_JOB_NODELIST");
  env["SLURM_NODELIST"] = "a1,a2";
  EXPECT_EQ(detectOrDie(env).masterAddr, "a1");

  env["MASTER_ADDR"] = "10.0.0.1";
  env["MASTER_PORT"] = "4242";
  info = detectOrDie(env);
  EXPECT_EQ(info.masterAddr, "10.0.0.1");
  EXPECT_EQ(info.masterPort, 4242);

  env.erase("MASTER_ADDR");
  env.erase("SLURM_NODELIST");
  EXPECT_EQ(detectError(env),
            "SLURM_PROCID is set but none of SLURM_STEP_NODELIST, "
            "SLURM_JOB_NODELIST, SLURM_NODELIST or MASTER_ADDR is");

  EXPECT_EQ(detectError({{"SLURM_PROCID", "0"}}), "SLURM_NTASKS is not set");
  EXPECT_EQ(detectError({{"SLURM_PROCID", "0"},
                         {"SLURM_NTASKS", "2"},
                         {"SLURM_STEP_ID", "0"},
                         {"SLURM_NODELIST", "n[1-"}}),
            "SLURM_NODELIST: unmatched '[' in 'n[1-' (in 'n[1-')");
}

// An sbatch script is task 0 of the job's SLURM_NTASKS but no job step: a
// varrun started there without srun must say so, not wait for ranks that
// never come. A one-task job is one rank either way.
TEST(Rendezvous, SlurmBatchScriptIsNotAStep) {
  Environment env = {{"SLURM_PROCID", "0"},
                     {"SLURM_NTASKS", "4"},
                     {"SLURM_LOCALID", "0"},
                     {"SLURM_JOB_ID", "77"},
                     {"SLURM_JOB_NODELIST", "node[01-02]"}};
  EXPECT_EQ(detectError(env),
            "SLURM_PROCID is set but SLURM_STEP_ID is not: this is a Slurm "
            "batch script, not a job step; start the 4 ranks with `srun "
            "varrun ...` (or on this node with --nproc-per-node)");

  // Older Slurm names the step SLURM_STEPID only.
  env["SLURM_STEPID"] = "1";
  RankInfo info = detectOrDie(env);
  EXPECT_EQ(info.worldSize, 4);
  EXPECT_EQ(info.masterAddr, "node01");

  env.erase("SLURM_STEPID");
  env["SLURM_NTASKS"] = "1";
  info = detectOrDie(env);
  EXPECT_EQ(info.source, "slurm");
  EXPECT_EQ(info.worldSize, 1);
}

TEST(Rendezvous, SlurmNodeLists) {
  auto expand = [](const std::string &list) {
    std::vector<std::string> hosts;
    std::string error;
    EXPECT_TRUE(expandSlurmNodeList(list, hosts, error)) << error;
    return hosts;
  };
  using Hosts = std::vector<std::string>;
  EXPECT_EQ(expand("node01"), Hosts({"node01"}));
  EXPECT_EQ(expand("a,b,c"), Hosts({"a", "b", "c"}));
  EXPECT_EQ(expand("node[01-03,07]"),
            Hosts({"node01", "node02", "node03", "node07"}));
  EXPECT_EQ(expand("n[8-11]"), Hosts({"n8", "n9", "n10", "n11"}));
  EXPECT_EQ(expand("n[098-101]"), Hosts({"n098", "n099", "n100", "n101"}));
  EXPECT_EQ(expand("gpu[1-2],cpu[3],login"),
            Hosts({"gpu1", "gpu2", "cpu3", "login"}));
  EXPECT_EQ(expand("r[1-2]n[1-2]-ib"),
            Hosts({"r1n1-ib", "r1n2-ib", "r2n1-ib", "r2n2-ib"}));

  for (const char *bad : {"", "a,,b", "n[1-", "n]1", "n[3-1]", "n[a-b]",
                          "n[1-2", "n[]", "n[1-99999999]"}) {
    std::vector<std::string> hosts;
    std::string error;
    EXPECT_FALSE(expandSlurmNodeList(bad, hosts, error)) << bad;
    EXPECT_NE(error, "") << bad;
  }
}

TEST(Rendezvous, PrecedenceIsVarrunTorchrunOpenMpiSlurm) {
  Environment env = {{"SLURM_PROCID", "0"},
                     {"SLURM_NTASKS", "1"},
                     {"OMPI_COMM_WORLD_RANK", "1"},
                     {"OMPI_COMM_WORLD_SIZE", "2"}};
  EXPECT_EQ(detectOrDie(env).source, "openmpi");
  env.insert({{"RANK", "2"},
              {"WORLD_SIZE", "3"},
              {"MASTER_ADDR", "m"},
              {"MASTER_PORT", "1"}});
  EXPECT_EQ(detectOrDie(env).source, "torchrun");
  env.insert({{"VARRUN_RANK", "3"},
              {"VARRUN_WORLD_SIZE", "4"},
              {"VARRUN_LOCAL_RANK", "3"},
              {"VARRUN_MASTER_ADDR", "127.0.0.1"},
              {"VARRUN_MASTER_PORT", "2"}});
  RankInfo info = detectOrDie(env);
  EXPECT_EQ(info.source, "varrun");
  EXPECT_EQ(info.rank, 3);
  EXPECT_EQ(info.worldSize, 4);
}

TEST(Rendezvous, InvalidValuesNameTheVariable) {
  Environment good = {{"RANK", "1"},
                      {"WORLD_SIZE", "4"},
                      {"LOCAL_RANK", "1"},
                      {"MASTER_ADDR", "h"},
                      {"MASTER_PORT", "1234"}};
  struct Case {
    const char *name, *value, *error;
  };
  for (const Case &c : std::vector<Case>{
           {"RANK", "4", "RANK=4 is not below WORLD_SIZE=4"},
           {"RANK", "x", "RANK='x' is not a non-negative integer"},
           {"RANK", "-1", "RANK='-1' is not a non-negative integer"},
           {"RANK", "1.5", "RANK='1.5' is not a non-negative integer"},
           {"RANK", "", "RANK='' is not a non-negative integer"},
           {"WORLD_SIZE", "0", "WORLD_SIZE=0 is out of range [1, 2147483647]"},
           {"WORLD_SIZE", " 4",
            "WORLD_SIZE=' 4' is not a non-negative integer"},
           {"WORLD_SIZE", "99999999999",
            "WORLD_SIZE='99999999999' is not a non-negative integer"},
           {"LOCAL_RANK", "4", "LOCAL_RANK=4 is not below WORLD_SIZE=4"},
           {"MASTER_PORT", "70000",
            "MASTER_PORT=70000 is out of range [1, 65535]"},
           {"MASTER_PORT", "0", "MASTER_PORT=0 is out of range [1, 65535]"},
           {"MASTER_ADDR", "", "MASTER_ADDR is empty"},
       }) {
    Environment env = good;
    env[c.name] = c.value;
    EXPECT_EQ(detectError(env), c.error) << c.name << "=" << c.value;
  }
  EXPECT_EQ(detectError({{"SLURM_PROCID", "2"}, {"SLURM_NTASKS", "2"}}),
            "SLURM_PROCID=2 is not below SLURM_NTASKS=2");
  EXPECT_EQ(detectError({{"OMPI_COMM_WORLD_RANK", "0"},
                         {"OMPI_COMM_WORLD_SIZE", "two"}}),
            "OMPI_COMM_WORLD_SIZE='two' is not a non-negative integer");
  EXPECT_EQ(detectError({{"VARRUN_WORLD_SIZE", "2"}}),
            "VARRUN_RANK is not set");
}

} // namespace
