// The CUDA backend's kernels: each gets the call (operand and result
// tensors in device memory, laid out exactly as the CPU backend's: row-major
// NCHW / NCDHW as the plan gives them) and the device context, checks the
// call as the CPU kernel does, and launches on the context's stream.
// Numerics follow runtime/cpu: f32 arithmetic, sums in double where the CPU
// sums in double, one rounding to bf16 (nearest even) on store.
#ifndef VAR_RUNTIME_CUDA_CUDAOPS_H
#define VAR_RUNTIME_CUDA_CUDAOPS_H

#include "runtime/cpu/CpuOps.h"
#include "runtime/cuda/CudnnConvGraph.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace var::cuda {

/// A cuDNN convolution algorithm (of the direction's enum), its workspace
/// bytes and math type; or, where `graph` is not negative, the execution
/// plan CudaContext::convGraphPlans[graph] of cuDNN's graph API.
struct ConvAlgorithm {
  int algo = 0;
  size_t memory = 0;
  int mathType = 0;
  int graph = -1;
};

/// Which of cuDNN's APIs a convolution's search measures: both, taking the
/// faster (the default); the legacy algorithms only; or the graph API's
/// engines only (an error where it has no deterministic one), which the
/// GPU tests use to check that path. VAR_CUDNN_ENGINES=fastest|legacy|graph
/// picks it for a process.
enum class ConvEngines { Fastest, Legacy, Graph };

/// What kernels share: the selected stream, the library handles bound to it, a
/// scratch workspace, and a flag kernels raise on bad data (host-mapped, so
/// that it is read after a synchronize without a copy).
class CudaContext {
public:
  cudaStream_t stream = nullptr;
  cudnnHandle_t cudnn = nullptr;
  cublasHandle_t cublas = nullptr;
  /// Set by kernels to a nonzero code (see kBadLabel); the backend reads
  /// and clears it when it synchronizes.
  int *errorFlag = nullptr;
  /// Convolution algorithms chosen so far, by direction, type and geometry:
  /// cuDNN measures once per distinct convolution, not every step.
  std::map<std::string, ConvAlgorithm> convAlgorithms;
  /// The graph-API plans convAlgorithms chose, which they index.
  std::vector<std::unique_ptr<ConvGraphPlan>> convGraphPlans;
  ConvEngines convEngines = ConvEngines::Fastest;
  /// Waits until every stream of the device is idle (the backend's
  /// synchronize, with NCCL's deadlines). cuDNN's algorithm search calls it
  /// first: a collective running beside the search on another stream takes
  /// SMs from the candidates and makes cuDNN pick slow algorithms (seen on
  /// 2-4 H100s at ZeRO-2, whose reduce-scatters overlap the backward).
  std::function<std::string()> quiesce;
  /// While the backend records a step as a CUDA graph: what would allocate
  /// or search (a grown workspace, a new convolution) fails instead, and
  /// the step runs eagerly.
  bool capturing = false;

  /// Scratch memory of at least `bytes`, valid until the next call; grows
  /// (synchronizing) when a call needs more than any before, and then
  /// counts a new generation (graphs recorded with the old one are stale).
  /// A `search` (cuDNN trying algorithms) may ask for more than any kernel
  /// will use; trimWorkspace then gives the excess back.
  std::string getWorkspace(int64_t bytes, void **memory, bool search = false);
  int64_t getWorkspaceBytes() const { return workspaceBytes; }
  int64_t getWorkspaceGeneration() const { return workspaceGeneration; }
  /// Shrinks the workspace to the most kernels asked for (not searches,
  /// rounded up to whole MiB) when it is larger; allocated at once, so that
  /// a step recorded next finds it.
  void trimWorkspace();

  void releaseWorkspace();

private:
  void *workspace = nullptr;
  int64_t workspaceBytes = 0;
  int64_t workspaceNeed = 0; // the most a kernel (not a search) asked for
  int64_t workspaceGeneration = 0;
};

/// errorFlag values.
constexpr int kBadLabel = 1;
/// Dropout on a tensor that does not split into the call's samples.
constexpr int kBadSampleSplit = 2;

using CudaOpFn = std::string (*)(CudaContext &context, cpu::OpCall &call);
using CudaOpTable = std::map<std::string, CudaOpFn, std::less<>>;

void registerElementwiseOps(CudaOpTable &table); // activations, add/mul,
                                                 // cast, fill, dropout
void registerReduceOps(CudaOpTable &table);      // reduce_sum, time mean
void registerLossOps(CudaOpTable &table);        // softmax cross-entropy
void registerShapeOps(CudaOpTable &table);       // reshapes, slices, concat,
                                                 // transpose
void registerConvOps(CudaOpTable &table);        // cuDNN convolutions
void registerPoolOps(CudaOpTable &table);        // max, average, global
void registerLinearOps(CudaOpTable &table);      // cuBLAS matrix products
void registerNormOps(CudaOpTable &table);        // batch norm
void registerLstmOps(CudaOpTable &table);        // LSTM forward, backward
void registerFusedElementwiseOps(CudaOpTable &table); // var.fused_elementwise

/// Column-major C (m x n, leading dimension m) = op(A) op(B) + beta C
/// through cublasGemmEx: A and B of `abType`, C of `cType` (f32 or bf16),
/// f32 accumulation (plain FMA for f32 operands: no TF32; tensor cores for
/// bf16), one rounding into C. Sizes must fit in int.
std::string gemmEx(CudaContext &ctx, cublasOperation_t opA,
                   cublasOperation_t opB, int64_t m, int64_t n, int64_t k,
                   const void *a, int64_t lda, const void *b, int64_t ldb,
                   plan::DType abType, void *c, plan::DType cType, float beta);

/// Every CUDA kernel.
const CudaOpTable &getCudaOps();

} // namespace var::cuda

#endif
