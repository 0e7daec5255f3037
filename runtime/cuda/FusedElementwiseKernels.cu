// CUDA kernel of var.fused_elementwise: one grid-stride pass over the
// elements; the program travels by value as a kernel parameter (constant
// memory), each thread runs every step on its element with the device
// functions of the unfused kernels (ElementwiseScalars.cuh) and rounds each
// step to its element type, as the unfused stores would. Where the results
// and the operands read at the result's shape start on 16-byte boundaries
// (and the program is small, see kPackedValues), a thread takes kPack
// elements with packed loads and stores (as ElementwiseKernels.cu does),
// computing each element as the one-element path does, so that both agree
// bit for bit; the hottest programs are compiled (CompiledProgram), their
// values in registers.
#include "runtime/cpu/FusedProgram.h"
#include "runtime/cpu/KernelChecks.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"
#include "runtime/cuda/ElementwiseScalars.cuh"

#include <utility>

namespace var::cuda {

using cpu::OpCall;
using fused::Opcode;

namespace {

/// The program and tensors of one call, by value.
struct DeviceProgram {
  int numInputs = 0, numSteps = 0, numResults = 0;
  Dims8 shape;
  /// Dropout's seed and the run's first sample live in device memory (a
  /// replayed graph reads the new step's); perSample is
  /// cpu::elementsPerSample.
  const cpu::StepScalars *scalars = nullptr;
  int64_t perSample = 0;
  int *errorFlag = nullptr;

  uint8_t opcode[fused::kMaxSteps] = {};
  uint8_t args[fused::kMaxSteps][2] = {};
  uint8_t type[fused::kMaxSteps] = {}; // ElementType each step rounds to
  float scale[fused::kMaxSteps] = {};
  double p[fused::kMaxSteps] = {};
  int64_t key[fused::kMaxSteps] = {};

  const void *input[fused::kMaxInputs] = {};
  uint8_t inputType[fused::kMaxInputs] = {};
  bool broadcast[fused::kMaxInputs] = {};
  /// A broadcast operand whose kPack elements for a pack of the result are
  /// consecutive and pack-aligned (it follows the result's last dimension,
  /// a multiple of kPack, and every other stride is one of kPack too: a
  /// channels-last (N, 1, 1, C) scale of an (N, H, W, C) tensor): one
  /// packed load at the pack's first offset.
  bool packedBroadcast[fused::kMaxInputs] = {};
  int64_t strides[fused::kMaxInputs][kMaxRank] = {};

  void *output[fused::kMaxResults] = {};
  uint8_t outputType[fused::kMaxResults] = {};
  uint8_t returns[fused::kMaxResults] = {};
};

// Kernel parameters are limited to 4 KiB on every architecture we build for.
static_assert(sizeof(DeviceProgram) <= 4096, "the program must fit a launch");

__device__ inline float roundTo(float value, int type) {
  return type == kBF16 ? bf16BitsToFloat(floatToBf16Bits(value)) : value;
}

/// Step s on its argument values `a` and `b` (b unused by one-argument
/// steps) of the element of global index `index` (dropout's).
__device__ inline float evalStep(const DeviceProgram &program, int s, float a,
                                 float b, uint64_t seed, int64_t index) {
  switch (static_cast<Opcode>(program.opcode[s])) {
  case Opcode::Relu:
    return Relu{}(a);
  case Opcode::Relu6:
    return Relu6{}(a);
  case Opcode::Sigmoid:
    return Sigmoid{}(a);
  case Opcode::Silu:
    return Silu{}(a);
  case Opcode::HardSwish:
    return Hardswish{}(a);
  case Opcode::ReluGrad:
    return ReluGrad{}(a, b);
  case Opcode::Relu6Grad:
    return Relu6Grad{}(a, b);
  case Opcode::SigmoidGrad:
    return SigmoidGrad{}(a, b);
  case Opcode::SiluGrad:
    return SiluGrad{}(a, b);
  case Opcode::HardSwishGrad:
    return HardswishGrad{}(a, b);
  case Opcode::Add:
    return Add{}(a, b);
  case Opcode::Mul:
    return Mul{}(a, b);
  case Opcode::DropoutTrain:
  case Opcode::DropoutGrad:
    return deviceDropout(a, seed, program.key[s], index, program.p[s],
                         program.scale[s]);
  default: // casts: the rounding to the step's type is the cast
    return a;
  }
}

/// Dropout's seed and the global index of element 0; false (after raising
/// kBadSampleSplit) when the tensor does not split into the call's samples.
__device__ inline bool dropoutStart(const DeviceProgram &program,
                                    uint64_t &seed, int64_t &offset) {
  seed = 0;
  offset = 0;
  if (!program.scalars)
    return true;
  seed = program.scalars->seed;
  int64_t firstSample = program.scalars->firstSample;
  if (firstSample != 0 && program.perSample < 0) {
    if (blockIdx.x == 0 && threadIdx.x == 0)
      *program.errorFlag = kBadSampleSplit;
    return false;
  }
  offset = firstSample * program.perSample;
  return true;
}

/// Operand k's value at result element `i`.
__device__ inline float loadOperand(const DeviceProgram &program, int k,
                                    int64_t i) {
  return loadFloat(program.input[k], program.inputType[k],
                   program.broadcast[k]
                       ? broadcastOffset(program.shape, program.strides[k], i)
                       : i);
}

/// Element `i`, one a thread: values of the operands, then of the steps
/// (local memory).
__device__ inline void runElement(const DeviceProgram &program, uint64_t seed,
                                  int64_t offset, int64_t i) {
  float values[fused::kMaxInputs + fused::kMaxSteps];
  for (int k = 0; k < program.numInputs; ++k)
    values[k] = loadOperand(program, k, i);
  for (int s = 0; s < program.numSteps; ++s)
    values[program.numInputs + s] =
        roundTo(evalStep(program, s, values[program.args[s][0]],
                         values[program.args[s][1]], seed, offset + i),
                program.type[s]);
  for (int r = 0; r < program.numResults; ++r)
    storeFloat(program.output[r], program.outputType[r], i,
               values[program.numInputs + program.returns[r]]);
}

/// __grid_constant__ keeps the program in the constant bank, which the
/// threads index by step and operand, instead of a per-thread copy.
__global__ void
fusedElementwiseKernel(const __grid_constant__ DeviceProgram program,
                       int64_t n) {
  uint64_t seed;
  int64_t offset; // global index of element 0 (dropout)
  if (!dropoutStart(program, seed, offset))
    return;
  VAR_GRID_STRIDE(i, n) { runElement(program, seed, offset, i); }
}

/// A one-argument step as a two-argument one (the second unused).
template <class F> struct Unary {
  __device__ float operator()(float a, float) const { return F{}(a); }
};

/// y[e] = f(a[e], b[e]) rounded to `type`, for kCount elements: the
/// opcode and the type are looked at once for the whole pack.
template <int kCount, class F>
__device__ __forceinline__ void mapPack(F f, const float *a, const float *b,
                                        float *y, int type) {
  if (type == kBF16) {
#pragma unroll
    for (int e = 0; e < kCount; ++e)
      y[e] = roundTo(f(a[e], b[e]), kBF16);
  } else {
#pragma unroll
    for (int e = 0; e < kCount; ++e)
      y[e] = f(a[e], b[e]);
  }
}

/// Step s on kCount elements side by side, y[e] from a[e] and b[e], element
/// e of global index first + e (dropout's); each element as evalStep and
/// runElement compute it. Switching on the opcode once for the pack, not
/// once an element, keeps the dispatch off the critical path.
template <int kCount>
__device__ __forceinline__ void
applyStep(const DeviceProgram &program, int s, const float *a, const float *b,
          float *y, uint64_t seed, int64_t first) {
  int type = program.type[s];
  switch (static_cast<Opcode>(program.opcode[s])) {
  case Opcode::Relu:
    mapPack<kCount>(Unary<Relu>{}, a, b, y, type);
    break;
  case Opcode::Relu6:
    mapPack<kCount>(Unary<Relu6>{}, a, b, y, type);
    break;
  case Opcode::Sigmoid:
    mapPack<kCount>(Unary<Sigmoid>{}, a, b, y, type);
    break;
  case Opcode::Silu:
    mapPack<kCount>(Unary<Silu>{}, a, b, y, type);
    break;
  case Opcode::HardSwish:
    mapPack<kCount>(Unary<Hardswish>{}, a, b, y, type);
    break;
  case Opcode::ReluGrad:
    mapPack<kCount>(ReluGrad{}, a, b, y, type);
    break;
  case Opcode::Relu6Grad:
    mapPack<kCount>(Relu6Grad{}, a, b, y, type);
    break;
  case Opcode::SigmoidGrad:
    mapPack<kCount>(SigmoidGrad{}, a, b, y, type);
    break;
  case Opcode::SiluGrad:
    mapPack<kCount>(SiluGrad{}, a, b, y, type);
    break;
  case Opcode::HardSwishGrad:
    mapPack<kCount>(HardswishGrad{}, a, b, y, type);
    break;
  case Opcode::Add:
    mapPack<kCount>(Add{}, a, b, y, type);
    break;
  case Opcode::Mul:
    mapPack<kCount>(Mul{}, a, b, y, type);
    break;
  case Opcode::DropoutTrain:
  case Opcode::DropoutGrad:
#pragma unroll
    for (int e = 0; e < kCount; ++e)
      y[e] = roundTo(evalStep(program, s, a[e], b[e], seed, first + e), type);
    break;
  default: // casts: the rounding to the step's type is the cast
    mapPack<kCount>(Unary<Identity>{}, a, b, y, type);
  }
}

/// Runs the steps on kCount elements side by side in `values` (local
/// memory: the steps index it at run time), element e of global index
/// first + e.
template <int kCount>
__device__ inline void runSteps(const DeviceProgram &program,
                                float (*values)[kPack], uint64_t seed,
                                int64_t first) {
  for (int s = 0; s < program.numSteps; ++s)
    applyStep<kCount>(program, s, values[program.args[s][0]],
                      values[program.args[s][1]], values[program.numInputs + s],
                      seed, first);
}

/// Operand k's values for pack q of the result: one packed load (a
/// broadcast operand's too where its pack is consecutive, see
/// packedBroadcast), else element by element.
__device__ inline void loadOperandPack(const DeviceProgram &program, int k,
                                       int64_t q, float (&v)[kPack]) {
  if (program.packedBroadcast[k])
    loadPack(program.input[k], program.inputType[k],
             broadcastOffset(program.shape, program.strides[k], q * kPack) /
                 kPack,
             v);
  else if (program.broadcast[k])
    for (int e = 0; e < kPack; ++e)
      v[e] = loadOperand(program, k, q * kPack + e);
  else
    loadPack(program.input[k], program.inputType[k], q, v);
}

/// The elements past the last whole pack, one a thread of the grid's
/// first threads.
__device__ inline void runTail(const DeviceProgram &program, uint64_t seed,
                               int64_t offset, int64_t n) {
  int64_t i = n / kPack * kPack +
              blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n)
    runElement(program, seed, offset, i);
}

/// Values (operands, then steps) the local-memory packed kernel keeps for
/// its kPack elements side by side: 512 bytes a thread, which the device
/// reserves for every thread it can hold (a larger program takes the
/// one-element kernel).
constexpr int kPackedValues = 16;

/// Pack q a thread, its values in local memory: each operand's pack
/// loaded, the steps run on the pack, each result written with one packed
/// store; then the first threads of the grid take the elements past the
/// last whole pack.
__global__ void
fusedElementwisePackedKernel(const __grid_constant__ DeviceProgram program,
                             int64_t n) {
  uint64_t seed;
  int64_t offset;
  if (!dropoutStart(program, seed, offset))
    return;
  float values[kPackedValues][kPack];
  VAR_GRID_STRIDE(q, n / kPack) {
    for (int k = 0; k < program.numInputs; ++k)
      loadOperandPack(program, k, q, values[k]);
    runSteps<kPack>(program, values, seed, offset + q * kPack);
    for (int r = 0; r < program.numResults; ++r)
      storePack(program.output[r], program.outputType[r], q,
                values[program.numInputs + program.returns[r]]);
  }
  runTail(program, seed, offset, n);
}

/// A step of a program known when the kernel is compiled: its opcode and
/// the values it reads (operands, then earlier steps, as in the plan's
/// `args`).
template <Opcode kOp, int kA, int kB = 0> struct Step {
  static constexpr Opcode op = kOp;
  static constexpr int a = kA, b = kB;
};

/// The functor of an opcode a compiled program may hold.
template <Opcode kOp> struct OpFunctor;
template <> struct OpFunctor<Opcode::Relu> : Unary<Relu> {};
template <> struct OpFunctor<Opcode::ReluGrad> : ReluGrad {};
template <> struct OpFunctor<Opcode::Add> : Add {};
template <> struct OpFunctor<Opcode::Mul> : Mul {};

/// A program of kIn operands, the steps Steps and one result, step kRet's,
/// compiled: every value's index is a constant, so that the values stay in
/// registers and a step is its arithmetic alone. The generic packed kernel
/// indexes its values at run time, so they live in local memory, whose 512
/// bytes a thread overflow L1: on r2plus1d_18's residual add and ReLU
/// (0.3 GB of tensors) ncu measured 1.7 GB of L2 traffic, 31% of HBM's
/// bandwidth and 262 us, against this kernel's 119 us.
template <int kIn, int kRet, class... Steps> struct CompiledProgram {
  static constexpr int kInputs = kIn, kResult = kIn + kRet;
  static constexpr int kValues = kIn + static_cast<int>(sizeof...(Steps));

  /// Whether `program` is this one (its step types and operand layouts are
  /// read at run time).
  static bool matches(const DeviceProgram &program) {
    if (program.numInputs != kIn ||
        program.numSteps != static_cast<int>(sizeof...(Steps)) ||
        program.numResults != 1 || program.returns[0] != kRet)
      return false;
    int s = 0;
    bool same = true;
    ((same = same && sameStep<Steps>(program, s++)), ...);
    return same;
  }

  template <class S> static bool sameStep(const DeviceProgram &program, int s) {
    return program.opcode[s] == static_cast<uint8_t>(S::op) &&
           program.args[s][0] == S::a &&
           (fused::getInfo(S::op).arity == 1 || program.args[s][1] == S::b);
  }

  template <class S, int kStep>
  __device__ static void run(const DeviceProgram &program,
                             float (&v)[kValues][kPack]) {
    mapPack<kPack>(OpFunctor<S::op>{}, v[S::a], v[S::b], v[kIn + kStep],
                   program.type[kStep]);
  }

  template <size_t... kSteps>
  __device__ static void runAll(const DeviceProgram &program,
                                float (&v)[kValues][kPack],
                                std::index_sequence<kSteps...>) {
    (run<Steps, static_cast<int>(kSteps)>(program, v), ...);
  }
};

/// Pack q a thread of a compiled program, then the elements past the last
/// whole pack as the generic kernels compute them.
template <class Program>
__global__ void __launch_bounds__(kThreads)
    compiledProgramKernel(const __grid_constant__ DeviceProgram program,
                          int64_t n) {
  VAR_GRID_STRIDE(q, n / kPack) {
    float v[Program::kValues][kPack];
#pragma unroll
    for (int k = 0; k < Program::kInputs; ++k)
      loadOperandPack(program, k, q, v[k]);
    Program::runAll(
        program, v,
        std::make_index_sequence<Program::kValues - Program::kInputs>());
    storePack(program.output[0], program.outputType[0], q, v[Program::kResult]);
  }
  runTail(program, 0, 0, n);
}

/// The compiled programs: ResNet's residual add and ReLU (r2plus1d_18's
/// forward), its gradient (add, then ReLU's gradient at the block's
/// output), and a multiply-add (efficientnet_b0).
using AddRelu =
    CompiledProgram<2, 1, Step<Opcode::Add, 0, 1>, Step<Opcode::Relu, 2>>;
using AddReluGrad = CompiledProgram<3, 1, Step<Opcode::Add, 0, 1>,
                                    Step<Opcode::ReluGrad, 2, 3>>;
using MulAdd =
    CompiledProgram<3, 1, Step<Opcode::Mul, 0, 1>, Step<Opcode::Add, 3, 2>>;

/// Launches Program's kernel if `program` is Program.
template <class Program>
bool launchIf(const DeviceProgram &program, int64_t n, cudaStream_t stream) {
  if (!Program::matches(program))
    return false;
  compiledProgramKernel<Program>
      <<<blocksFor(n / kPack), kThreads, 0, stream>>>(program, n);
  return true;
}

/// Launches the first of Programs that `program` is; false if none.
template <class... Programs>
bool launchCompiled(const DeviceProgram &program, int64_t n,
                    cudaStream_t stream) {
  return (launchIf<Programs>(program, n, stream) || ...);
}

std::string fusedElementwiseOp(CudaContext &ctx, OpCall &call) {
  cpu::FusedProgram decoded;
  if (std::string error = cpu::decodeFusedProgram(call, decoded);
      !error.empty())
    return error;
  if (decoded.shape.size() > static_cast<size_t>(kMaxRank))
    return "rank " + std::to_string(decoded.shape.size()) +
           " exceeds the CUDA kernels' " + std::to_string(kMaxRank);
  int64_t n = call.results[0].numel();
  DeviceProgram program;
  bool dropout = false;
  for (const cpu::FusedProgram::Step &step : decoded.steps)
    dropout = dropout || step.opcode == Opcode::DropoutTrain ||
              step.opcode == Opcode::DropoutGrad;
  if (dropout) {
    if (!call.scalars)
      return "dropout needs the run's seed (no step scalars)";
    program.scalars = call.scalars;
    program.perSample = cpu::elementsPerSample(call, n);
    program.errorFlag = ctx.errorFlag;
  }
  program.shape.rank = static_cast<int>(decoded.shape.size());
  std::copy(decoded.shape.begin(), decoded.shape.end(), program.shape.size);

  program.numInputs = decoded.numInputs;
  for (int k = 0; k < decoded.numInputs; ++k) {
    const cpu::TensorView &operand = call.operands[k];
    ElementType type;
    if (std::string error = elementTypeOf(operand, "an operand", type);
        !error.empty())
      return error;
    program.input[k] = operand.data;
    program.inputType[k] = static_cast<uint8_t>(type);
    program.broadcast[k] = operand.shape != decoded.shape;
    if (program.broadcast[k]) {
      stretchStrides(operand.shape, decoded.shape, program.strides[k]);
      int last = program.shape.rank - 1;
      bool packs = last >= 0 && program.strides[k][last] == 1 &&
                   decoded.shape[last] % kPack == 0 &&
                   isPackAligned(operand.data);
      for (int d = 0; packs && d < last; ++d)
        packs = program.strides[k][d] % kPack == 0;
      program.packedBroadcast[k] = packs;
    }
  }
  program.numSteps = static_cast<int>(decoded.steps.size());
  for (int s = 0; s < program.numSteps; ++s) {
    const cpu::FusedProgram::Step &step = decoded.steps[s];
    ElementType type;
    if (!toElementType(step.dtype, type))
      return "step " + std::to_string(s) + " computes in " +
             std::string(plan::getDTypeName(step.dtype)) +
             "; the CUDA kernels take f32 and bf16";
    program.opcode[s] = static_cast<uint8_t>(step.opcode);
    program.args[s][0] = static_cast<uint8_t>(step.args[0]);
    program.args[s][1] = static_cast<uint8_t>(step.args[1]);
    program.type[s] = static_cast<uint8_t>(type);
    program.scale[s] = step.scale;
    program.p[s] = step.p;
    program.key[s] = step.key;
  }
  program.numResults = static_cast<int>(decoded.returns.size());
  for (int r = 0; r < program.numResults; ++r) {
    ElementType type;
    if (std::string error = elementTypeOf(call.results[r], "a result", type);
        !error.empty())
      return error;
    program.output[r] = call.results[r].data;
    program.outputType[r] = static_cast<uint8_t>(type);
    program.returns[r] = static_cast<uint8_t>(decoded.returns[r]);
  }
  if (n == 0)
    return {};
  bool packed = program.numInputs + program.numSteps <= kPackedValues;
  for (int k = 0; k < program.numInputs; ++k)
    packed =
        packed && (program.broadcast[k] || isPackAligned(program.input[k]));
  for (int r = 0; r < program.numResults; ++r)
    packed = packed && isPackAligned(program.output[r]);
  if (packed &&
      launchCompiled<AddRelu, AddReluGrad, MulAdd>(program, n, ctx.stream)) {
    // a compiled program
  } else if (packed)
    fusedElementwisePackedKernel<<<blocksFor(n / kPack), kThreads, 0,
                                   ctx.stream>>>(program, n);
  else
    fusedElementwiseKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(program,
                                                                      n);
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace

void registerFusedElementwiseOps(CudaOpTable &table) {
  table["var.fused_elementwise"] = fusedElementwiseOp;
}

} // namespace var::cuda
