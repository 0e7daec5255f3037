// Where this process sits in the job, read from the variables its launcher
// set: varrun's own launcher, torchrun, OpenMPI's mpirun or Slurm's srun.
#ifndef VAR_RUNTIME_COMM_RENDEZVOUS_H
#define VAR_RUNTIME_COMM_RENDEZVOUS_H

#include "runtime/comm/Communicator.h"

#include <map>
#include <string>
#include <vector>

namespace var::comm {

using Environment = std::map<std::string, std::string>;

/// This process's environment as a map.
Environment readEnvironment();

/// Fills `info` from the first convention whose rank variable is set, in
/// this order (the most specific launcher first: varrun's launcher may run
/// inside a Slurm allocation, torchrun or mpirun inside a Slurm batch
/// script, which sets SLURM_PROCID=0 for the script itself):
///
///  1. varrun: VARRUN_RANK, VARRUN_WORLD_SIZE, VARRUN_LOCAL_RANK,
///     VARRUN_MASTER_ADDR and VARRUN_MASTER_PORT (the last two required for
///     more than one rank).
///  2. torchrun: RANK, WORLD_SIZE, LOCAL_RANK (default 0), MASTER_ADDR and
///     MASTER_PORT (required for more than one rank).
///  3. OpenMPI: OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE,
///     OMPI_COMM_WORLD_LOCAL_RANK (default 0); MASTER_ADDR (default
///     127.0.0.1) and MASTER_PORT (default 29500).
///  4. Slurm: SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID (default 0); the
///     master is MASTER_ADDR if set, else the first host of
///     SLURM_STEP_NODELIST, SLURM_JOB_NODELIST or SLURM_NODELIST (task 0 runs
///     there); the port is MASTER_PORT if set, else 10000 + SLURM_JOB_ID %
///     20000 (below Linux's ephemeral ports; two steps of one job running at
///     once need MASTER_PORT). More than one task without SLURM_STEP_ID (or
///     SLURM_STEPID) is an error: that is an sbatch script, not an srun step.
///  5. none of them: one rank, `info.source` "single".
///
/// A convention with a missing required variable, a value that is not a
/// number, or ranks out of range is an error that names the variable.
bool detectRankInfo(const Environment &env, RankInfo &info, std::string &error);

/// Expands a Slurm host list: "node[01-03,07],gpu5" -> node01, node02,
/// node03, node07, gpu5. Bracket groups may repeat within a name
/// ("r[1-2]n[1-2]"); a range keeps the zero padding of its first bound.
bool expandSlurmNodeList(const std::string &list,
                         std::vector<std::string> &hosts, std::string &error);

} // namespace var::comm

#endif
