// Batch normalization's passes over whole tensors (NormPassKernels.cuh).
// Sums: channels-first, a block sums a chunk of one channel's elements;
// rows (channels-last), a block sums a chunk of rows over a range of
// columns, with packs a thread takes one pack column (8 channels) and
// loads several rows before it adds any, so that enough bytes are in
// flight. Elementwise passes: on packed rows each thread keeps to one pack
// column, its 8 channels' floats read once into registers, and walks down
// the rows; otherwise a grid-stride loop over packs of one channel or over
// single elements, with 32-bit index math where the tensor allows.
// Numerics: on packed rows a thread adds all the elements of its chunk
// (a few hundred a channel) in f32, elsewhere the few it loaded at once
// (at most 8 a channel), and each run goes into double sums, which meet
// in a fixed order; x's sums are shifted by the channel's first element,
// so that no f32 run holds a large mean. The elementwise passes work in
// f32. Double math or a conversion to double on every element would cost
// H100's FP64 and conversion units more time than the element's memory
// traffic.
// The packed-rows kernels are compiled for bf16, for f32 and for tensors
// of mixed types (type as each operand says), so that the common case
// allocates registers for its own packs only.
#include "runtime/cuda/NormPassKernels.cuh"

#include "runtime/cuda/DeviceTensor.cuh"
#include "runtime/cuda/NormMask.cuh"
#include "runtime/cuda/PooledGrad.cuh"

#include <algorithm>
#include <type_traits>

namespace var::cuda::norm {

namespace {

/// Unpacked rows are summed by blocks of kColumns channels x kRows threads.
constexpr int kColumns = 32, kRows = kThreads / kColumns;
/// Blocks that fill an H100 (132 SMs) a few times over.
constexpr int64_t kFillBlocks = 1024;
/// Blocks the sums aim for: fewer and longer than the elementwise passes',
/// as each ends in a reduction through shared memory, and one wave of the
/// packed-rows kernel on an H100 or H200 (132 SMs): 4 blocks an SM for x
/// alone, 3 for x and dy (bench/norm on an H200: x's 512 beat 256, 384
/// and 1024).
constexpr int64_t kSumBlocks[2] = {512, 384};
/// Groups (packs or elements) a pass's thread takes at least once the grid
/// has kFillBlocks blocks: a packed-rows thread reads its channels' values
/// once for all of them.
constexpr int64_t kGroupsPerThread = 8;

/// A kernel's Type where its tensors differ in type: each operand's own.
constexpr int kMixedTypes = -1;

/// The type an operand of type `type` has in a kernel compiled for Type.
template <int Type> __host__ __device__ constexpr int typeFor(int type) {
  return Type == kMixedTypes ? type : Type;
}

/// Rows a packed-rows thread loads before it uses any (a pack of each
/// input a row), for 64 bytes an input in flight: 4 packs of bf16, 2 of
/// f32. The sums load 64 bytes a thread over their inputs (4 rows of one
/// bf16 input, 2 of two), and hold 4 blocks an SM rather than 2: more
/// threads, each with fewer loads in flight, kept HBM busier (bench/norm).
/// Registers (ptxas, sm_90) are listed beside the kernels: with them an SM
/// holds 32 KB to 64 KB of loads, what HBM3 needs in flight.
template <int Type> constexpr int kRowPassUnroll = Type == kBF16 ? 4 : 2;
template <typename Terms, int Type>
constexpr int kRowSumUnroll = (Type == kBF16 ? 4 : 2) / Terms::kInputs > 0
                                  ? (Type == kBF16 ? 4 : 2) / Terms::kInputs
                                  : 1;

/// Whether terms or a pass read dy from a max pool's gradient and indices
/// (a `pooled` PooledGrad) instead of the dense tensor b: a compile-time
/// alternative of the dy loads below, everything else alike.
template <typename T, typename = void>
struct ReadsPooledGrad : std::false_type {};
template <typename T>
struct ReadsPooledGrad<T, std::void_t<decltype(T::pooled)>> : std::true_type {};
template <typename T>
constexpr bool kReadsPooledGrad = ReadsPooledGrad<T>::value;

/// Blocks of a packed-rows pass an SM holds at least: ptxas keeps
/// registers within 64 (ScaleByChannel, Normalize) or 128 (InputGrad with
/// its mask) a thread. Mixed types would spill at 64, and with a pooled dy
/// read through a run-time mask at 128 (tensors of f16: one block).
template <typename Pass, int Type> constexpr int rowPassBlocks() {
  if (Pass::kInputs == 1 && Type != kMixedTypes)
    return 4;
  return kReadsPooledGrad<Pass> && Type == kMixedTypes ? 1 : 2;
}
template <typename Pass, int Type>
constexpr int kRowPassBlocks = rowPassBlocks<Pass, Type>();
/// Groups an element-path thread loads before it uses any.
constexpr int kFlatPassUnroll = 4;

/// The type that all of `operands` with data (and `outType`, unless
/// negative) have, else kMixedTypes.
int commonType(std::initializer_list<Operand> operands, int outType = -1) {
  int type = outType;
  for (const Operand &operand : operands) {
    if (!operand.data)
      continue;
    if (type >= 0 && operand.type != type)
      return kMixedTypes;
    type = operand.type;
  }
  return type;
}

/// Calls launch(std::integral_constant<int, Type>()) with `type` as a
/// compile-time Type: kBF16, kF32 or kMixedTypes.
template <typename Launch> void withType(int type, Launch &&launch) {
  if (type == kBF16)
    launch(std::integral_constant<int, kBF16>());
  else if (type == kF32)
    launch(std::integral_constant<int, kF32>());
  else
    launch(std::integral_constant<int, kMixedTypes>());
}

/// A pack as a packed-rows kernel compiled for Type holds it from its
/// load to its use: as floats (f32, mixed types), or as the 16 bytes of
/// bf16 loaded (half the registers of its floats), each widened where it
/// is used, to the value loadPack gives.
template <int Type> struct HeldPack {
  float v[kPack];
  __device__ void load(const void *data, int type, int64_t p) {
    loadPack(data, type, p, v);
  }
  __device__ float operator[](int e) const { return v[e]; }
};
template <> struct HeldPack<kBF16> {
  uint32_t word[kPack / 2];
  __device__ void load(const void *data, int, int64_t p) {
    uint4 raw = static_cast<const uint4 *>(data)[p];
    word[0] = raw.x, word[1] = raw.y, word[2] = raw.z, word[3] = raw.w;
  }
  __device__ float operator[](int e) const {
    uint32_t w = word[e / 2];
    return bf16BitsToFloat(static_cast<uint16_t>(e % 2 ? w >> 16 : w));
  }
};

/// Group `g` of G elements: pack g (G = kPack) or element g (G = 1).
template <int G>
__device__ inline void loadGroup(const void *data, int type, int64_t g,
                                 float (&v)[G]) {
  static_assert(G == kPack || G == 1, "a group is a pack or one element");
  if constexpr (G == kPack)
    loadPack(data, type, g, v);
  else
    v[0] = loadFloat(data, type, g);
}

template <int G>
__device__ inline void storeGroup(void *data, int type, int64_t g,
                                  const float (&v)[G]) {
  static_assert(G == kPack || G == 1, "a group is a pack or one element");
  if constexpr (G == kPack)
    storePack(data, type, g, v);
  else
    storeFloat(data, type, g, v[0]);
}

/// maskGrad on element e of `dy` with `value` (read only where the mask
/// reads it) and x, in a kernel compiled for tensors of `Type`.
template <int Kind, int Type, typename Pack>
__device__ inline float maskGrad(const ActivationMask &mask, const Pack &value,
                                 const Pack &x, const Pack &dy, int e,
                                 MaskChannel ch) {
  if (Kind == kNoActivation ||
      (Kind == kAnyMask && mask.activation == kNoActivation))
    return dy[e];
  return maskGrad<Kind>(mask, readsValue<Kind>(mask) ? value[e] : 0.0f, x[e],
                        ch, dy[e], typeFor<Type>(mask.zType),
                        typeFor<Type>(mask.gradType));
}

/// maskGrad on group `g` of dy, whose elements are of channel c.
template <int G>
__device__ inline void maskGrads(const ActivationMask &mask, int64_t g,
                                 const float (&x)[G], int64_t c,
                                 float (&dy)[G]) {
  if (mask.activation == kNoActivation)
    return;
  float value[G] = {};
  if (mask.readsValue())
    loadGroup(mask.value.data, mask.value.type, g, value);
  MaskChannel ch = maskChannel(mask, c);
#pragma unroll
  for (int e = 0; e < G; ++e)
    dy[e] = maskGrad(mask, value[e], x[e], ch, dy[e]);
}

/// Group `g` of dy (G elements of one channel, channels-last for a pooled
/// dy).
template <int G, typename Terms>
__device__ inline void loadGradGroup(const Terms &terms, Operand b, int64_t g,
                                     float (&v)[G]) {
  if constexpr (kReadsPooledGrad<Terms>) {
#pragma unroll
    for (int e = 0; e < G; ++e)
      v[e] = terms.pooled.element(g * G + e);
  } else {
    loadGroup(b.data, b.type, g, v);
  }
}

/// Pack `column` of row `row` of dy as a packed-rows kernel holds it: from
/// b, or from the pooled gradient's pack of the covering window with the
/// lanes whose index names another place (and -0) made +0, the bits
/// var.max_pool_grad_indices' vector kernel stores. (That kernel computes
/// 0 + grad in f32, which also turns a NaN's payload into the canonical
/// NaN's; the passes never store dy itself, only sums and differences with
/// it, which are the canonical NaN either way.)
template <int Type, typename Terms>
__device__ inline void loadGradPack(const Terms &terms, HeldPack<Type> &dy,
                                    Operand b, int bType, int64_t row,
                                    int64_t packsPerRow, int64_t column) {
  if constexpr (kReadsPooledGrad<Terms>) {
    const PooledGrad &p = terms.pooled;
    int64_t pooledRow = 0;
    int position = p.locate(static_cast<uint32_t>(row), pooledRow);
    int64_t pack = pooledRow * packsPerRow + column;
    uint2 places = {0, 0};
    if (position >= 0) {
      dy.load(p.grad, bType, pack);
      places = reinterpret_cast<const uint2 *>(p.indices)[pack];
    }
    // A byte of `places` per lane; no place matches -1.
    auto hit = [&](int e) {
      uint32_t word = e < 4 ? places.x : places.y;
      return static_cast<int>(static_cast<int8_t>(word >> (8 * (e % 4)))) ==
             position;
    };
    if constexpr (Type == kBF16) {
#pragma unroll
      for (int k = 0; k < kPack / 2; ++k) {
        uint32_t lo = hit(2 * k) ? dy.word[k] & 0xffffu : 0u;
        uint32_t hi = hit(2 * k + 1) ? dy.word[k] >> 16 : 0u;
        dy.word[k] =
            (lo == 0x8000u ? 0u : lo) | (hi == 0x8000u ? 0u : hi << 16);
      }
    } else {
#pragma unroll
      for (int e = 0; e < kPack; ++e)
        dy.v[e] = hit(e) ? __fadd_rn(0.0f, dy.v[e]) : 0.0f;
    }
  } else {
    dy.load(b.data, bType, row * packsPerRow + column);
  }
}

//===----------------------------------------------------------------------===//
// Per-channel sums
//===----------------------------------------------------------------------===//

// The terms summed: kSums sums over kInputs inputs (x, or x and dy);
// channel(c) reads channel c's values once, add(channel, x, dy, run) adds
// one element's terms to a thread's f32 run (dy is 0 with one input). The
// plane and column kernels add each run, a few elements long, into double
// sums; the packed-rows kernel keeps one f32 run a thread over its chunk
// (a few hundred elements at most) and adds it into a double at the end.

/// sum d and sum d^2, d = x - shift(c) (channelShift: the channel's first
/// element), in one read of x: the centered sum of squares is sum d^2 -
/// (sum d)^2 / count (batchStatsKernel). The shift keeps d within a few
/// standard deviations of 0 however far the mean is from 0, so that
/// neither the f32 runs nor that subtraction lose the variance.
struct SumsAndSquares {
  static constexpr int kSums = 2, kInputs = 1;
  ChannelLayout l;
  Operand x;
  struct Channel {
    float shift;
  };
  __device__ Channel channel(int64_t c) const {
    return {channelShift(l, x, c)};
  }
  __device__ void add(const Channel &ch, float x, float, float *run) const {
    float d = __fsub_rn(x, ch.shift);
    run[0] += d;
    run[1] = fmaf(d, d, run[1]);
  }
};

/// sum dy and sum dy * (x - mean): with the saved mean, the batch
/// backward's dy . xhat before its factor invstd; with the running mean,
/// the frozen backward's dy . (x - running_mean). x - mean is exact in f32
/// where x is within a factor 2 of the mean.
struct GradSums {
  static constexpr int kSums = 2, kInputs = 2;
  Operand mean;
  ActivationMask mask;
  struct Channel {
    float mean;
  };
  __device__ Channel channel(int64_t c) const {
    return {loadFloat(mean.data, mean.type, c)};
  }
  __device__ void add(const Channel &ch, float x, float grad,
                      float *run) const {
    run[0] += grad;
    run[1] = fmaf(grad, x - ch.mean, run[1]);
  }
};

/// GradSums with dy from a max pool's gradient and indices.
struct PooledGradSums : GradSums {
  PooledGrad pooled;
};

/// Adds a thread's f32 runs into its double sums.
template <int K>
__device__ inline void addRuns(const float (&run)[K], double (&sum)[K]) {
#pragma unroll
  for (int k = 0; k < K; ++k)
    sum[k] += run[k];
}

/// Channels-first sums: block c * chunks + g sums chunk g of channel c's
/// groups of G elements (G = kPack needs spatial % 8 == 0: a pack stays in
/// one sample's plane, and is a run), thread t every kThreads-th group from
/// the chunk's t-th, then the block's kThreads sums in a fixed tree.
template <int G, typename Terms>
__global__ void __launch_bounds__(kThreads)
    planeSumsKernel(ChannelLayout l, Split split, Terms terms, Operand a,
                    Operand b, double *partials) {
  constexpr int K = Terms::kSums;
  int64_t c = blockIdx.x / split.chunks, g = blockIdx.x % split.chunks;
  typename Terms::Channel channel = terms.channel(c);
  double sum[K] = {};
  int64_t plane = l.spatial / G; // groups a sample's plane
  int64_t begin = g * split.chunk;
  int64_t end = min(begin + split.chunk, l.batch * plane);
  int64_t j = begin + threadIdx.x;
  if (j < end) {
    int64_t n = j / plane, s = j - n * plane;
    for (; j < end; j += kThreads) {
      int64_t group = (n * l.channels + c) * plane + s;
      float x[G], dy[G] = {};
      loadGroup(a.data, a.type, group, x);
      if constexpr (Terms::kInputs == 2) {
        loadGradGroup(terms, b, group, dy);
        maskGrads(terms.mask, group, x, c, dy);
      }
      float run[K] = {};
#pragma unroll
      for (int e = 0; e < G; ++e)
        terms.add(channel, x[e], dy[e], run);
      addRuns(run, sum);
      n += split.stepN;
      s += split.stepS;
      if (s >= plane) {
        s -= plane;
        ++n;
      }
    }
  }
  __shared__ double shared[K][kThreads];
  for (int k = 0; k < K; ++k)
    shared[k][threadIdx.x] = sum[k];
  __syncthreads();
  for (int step = kThreads / 2; step > 0; step /= 2) {
    if (threadIdx.x < step)
      for (int k = 0; k < K; ++k)
        shared[k][threadIdx.x] += shared[k][threadIdx.x + step];
    __syncthreads();
  }
  if (threadIdx.x == 0)
    for (int k = 0; k < K; ++k)
      partials[(k * l.channels + c) * split.chunks + g] = shared[k][0];
}

/// Unpacked rows: block (x, g) sums rows [g * chunk, (g + 1) * chunk) of
/// columns [x * kColumns, ...) of the (M, C) input, thread (tx, ty) every
/// kRows-th row of column tx (a warp reads kColumns consecutive channels of
/// one row; each element a run), then the kRows sums of a column in row
/// order.
template <typename Terms>
__global__ void columnSumsKernel(ChannelLayout l, Split split, Terms terms,
                                 Operand a, Operand b, double *partials) {
  constexpr int K = Terms::kSums;
  int64_t c = static_cast<int64_t>(blockIdx.x) * kColumns + threadIdx.x;
  int64_t g = blockIdx.y;
  double sum[K] = {};
  if (c < l.channels) {
    typename Terms::Channel channel = terms.channel(c);
    int64_t end = min((g + 1) * split.chunk, l.batch);
    for (int64_t r = g * split.chunk + threadIdx.y; r < end; r += kRows) {
      int64_t i = r * l.channels + c;
      float x[1] = {loadFloat(a.data, a.type, i)}, dy[1] = {};
      if constexpr (Terms::kInputs == 2) {
        loadGradGroup(terms, b, i, dy);
        maskGrads(terms.mask, i, x, c, dy);
      }
      float run[K] = {};
      terms.add(channel, x[0], dy[0], run);
      addRuns(run, sum);
    }
  }
  __shared__ double shared[K][kRows][kColumns];
  for (int k = 0; k < K; ++k)
    shared[k][threadIdx.y][threadIdx.x] = sum[k];
  __syncthreads();
  if (threadIdx.y == 0 && c < l.channels)
    for (int k = 0; k < K; ++k) {
      double total = 0;
      for (int y = 0; y < kRows; ++y)
        total += shared[k][y][threadIdx.x];
      partials[(k * l.channels + c) * split.chunks + g] = total;
    }
}

/// Packed rows (C % 8 == 0, aligned inputs): block (x, g) sums rows
/// [g * chunk, (g + 1) * chunk) of pack columns [x * width, (x + 1) *
/// width), 8 channels each; thread t = s * width + j reads column j of
/// every rowsPerStep-th row from row s, U = kRowSumUnroll rows' packs
/// loaded before any is added, all of them one f32 run a channel, in row
/// order. The rowsPerStep runs of a column then meet as doubles in a
/// fixed tree: of `count` sums, sum s takes in sum s + half (half = count
/// / 2 rounded up), leaving half, until one is left. Registers (sm_90,
/// bf16 / f32): d and d^2 64 / 64 (4 blocks an SM, 64 bytes a thread in
/// flight); dy and dy (x - mean) with the mask 66-80 / 76-80 (3 blocks);
/// with a pooled dy (PooledGradSums) 68-80, and in f32 with a ReLU mask
/// up to 52 bytes of spills (a path no model of the zoo takes).
template <typename Terms, int Type, int Kind>
__global__ void __launch_bounds__(kThreads, Terms::kInputs == 1 ? 4 : 3)
    packedColumnSumsKernel(ChannelLayout l, Split split, Terms terms, Operand a,
                           Operand b, double *partials) {
  constexpr int K = Terms::kSums, U = kRowSumUnroll<Terms, Type>;
  int aType = typeFor<Type>(a.type), bType = typeFor<Type>(b.type);
  int maskType = 0;
  if constexpr (Terms::kInputs == 2)
    maskType = typeFor<Type>(terms.mask.value.type);
  int64_t packsPerRow = l.channels / kPack;
  int width = split.width, steps = split.rowsPerStep;
  int s = threadIdx.x / width, j = threadIdx.x % width;
  int64_t column = static_cast<int64_t>(blockIdx.x) * width + j;
  int64_t g = blockIdx.y;
  float run[kPack][K] = {};
  if (s < steps && column < packsPerRow) {
    typename Terms::Channel channel[kPack];
#pragma unroll
    for (int e = 0; e < kPack; ++e)
      channel[e] = terms.channel(column * kPack + e);
    int64_t end = min((g + 1) * split.chunk, l.batch);
    for (int64_t r = g * split.chunk + s; r < end; r += U * steps) {
      HeldPack<Type> x[U], dy[U], value[U];
#pragma unroll
      for (int u = 0; u < U; ++u)
        if (r + u * steps < end) {
          int64_t pack = (r + u * steps) * packsPerRow + column;
          x[u].load(a.data, aType, pack);
          if constexpr (Terms::kInputs == 2) {
            loadGradPack(terms, dy[u], b, bType, r + u * steps, packsPerRow,
                         column);
            if (readsValue<Kind>(terms.mask))
              value[u].load(terms.mask.value.data, maskType, pack);
          }
        }
#pragma unroll
      for (int e = 0; e < kPack; ++e) {
        // A recomputing mask's channel floats, once for the U rows (held
        // for all 8 channels they would spill).
        MaskChannel maskCh;
        if constexpr (Terms::kInputs == 2)
          maskCh = maskChannel<Kind>(terms.mask, column * kPack + e);
#pragma unroll
        for (int u = 0; u < U; ++u)
          if (r + u * steps < end) {
            float grad = 0;
            if constexpr (Terms::kInputs == 2)
              grad = maskGrad<Kind, Type>(terms.mask, value[u], x[u], dy[u], e,
                                          maskCh);
            terms.add(channel[e], x[u][e], grad, run[e]);
          }
      }
    }
  }
  __shared__ double shared[K][kPack][kThreads];
  for (int k = 0; k < K; ++k)
    for (int e = 0; e < kPack; ++e)
      shared[k][e][threadIdx.x] = run[e][k];
  __syncthreads();
  // Thread (s, j) adds (s + half, j) in place; threads past rowsPerStep
  // rows or the last column hold zeros that nothing reads.
  for (int count = steps; count > 1;) {
    int half = (count + 1) / 2;
    if (s < count - half)
      for (int k = 0; k < K; ++k)
        for (int e = 0; e < kPack; ++e)
          shared[k][e][threadIdx.x] += shared[k][e][threadIdx.x + half * width];
    __syncthreads();
    count = half;
  }
  if (s == 0 && column < packsPerRow)
    for (int k = 0; k < K; ++k)
      for (int e = 0; e < kPack; ++e)
        partials[(k * l.channels + column * kPack + e) * split.chunks + g] =
            shared[k][e][j];
}

/// withKind on the mask kind of `pass` (a pass of two inputs has a mask)
/// or its activation (Normalize's), else f(kNoActivation).
template <typename Pass, typename F>
void withMaskKindOf(const Pass &pass, F &&f) {
  if constexpr (Pass::kInputs == 2)
    withKind(maskKind(pass.mask), f);
  else if constexpr (std::is_same_v<Pass, Normalize>) {
    // Only the ReLUs: compiled for no activation (f32) or SiLU (bf16) the
    // row pass spills at its 64 registers, and reading the activation at
    // run time it does not.
    if (pass.activation == kReluActivation)
      f(std::integral_constant<int, kReluActivation>());
    else if (pass.activation == kRelu6Activation)
      f(std::integral_constant<int, kRelu6Activation>());
    else
      f(std::integral_constant<int, kAnyMask>());
  } else
    f(std::integral_constant<int, kNoActivation>());
}

/// withMaskKindOf for a kernel compiled for tensors of Type, except that a
/// pooled dy over mixed types (f16, rare) is compiled for kAnyMask alone,
/// which reads any mask at run time: fewer kernels to compile.
template <int Type, typename Pass, typename F>
void withKernelKindOf(const Pass &pass, F &&f) {
  if constexpr (kReadsPooledGrad<Pass> && Type == kMixedTypes)
    f(std::integral_constant<int, kAnyMask>());
  else
    withMaskKindOf(pass, f);
}

/// Launches the sums of `terms` over `split`'s chunks; `mask` is the value
/// that the terms read besides a and b, if any.
template <typename Terms>
std::string launchSums(CudaContext &ctx, const ChannelLayout &l,
                       const Split &split, const Terms &terms, Operand a,
                       Operand b, double *partials, Operand mask = {}) {
  if (l.channels == 0 || split.chunks == 0)
    return {};
  auto chunks = static_cast<unsigned>(split.chunks);
  if (l.rows() && split.group == kPack) {
    dim3 grid(static_cast<unsigned>(split.columnBlocks), chunks);
    withType(commonType({a, b, mask}), [&](auto type) {
      withKernelKindOf<decltype(type)::value>(terms, [&](auto kind) {
        packedColumnSumsKernel<Terms, decltype(type)::value,
                               decltype(kind)::value>
            <<<grid, kThreads, 0, ctx.stream>>>(l, split, terms, a, b,
                                                partials);
      });
    });
  } else if (l.rows()) {
    dim3 grid(static_cast<unsigned>((l.channels + kColumns - 1) / kColumns),
              chunks);
    columnSumsKernel<<<grid, dim3(kColumns, kRows), 0, ctx.stream>>>(
        l, split, terms, a, b, partials);
  } else if constexpr (kReadsPooledGrad<Terms>) {
    return "reads a pooled gradient channels-last only";
  } else {
    int64_t blocks = l.channels * split.chunks;
    if (blocks > 0x7fffffffll)
      return "has " + std::to_string(l.channels) +
             " channels, more than one launch takes";
    auto grid = static_cast<unsigned>(blocks);
    if (split.group == kPack)
      planeSumsKernel<kPack>
          <<<grid, kThreads, 0, ctx.stream>>>(l, split, terms, a, b, partials);
    else
      planeSumsKernel<1>
          <<<grid, kThreads, 0, ctx.stream>>>(l, split, terms, a, b, partials);
  }
  VAR_CUDA_LAUNCHED();
  return {};
}

//===----------------------------------------------------------------------===//
// Elementwise passes
//===----------------------------------------------------------------------===//

// A pass reads kInputs inputs (a, and b with two) and writes one result;
// channel(c) reads channel c's floats, apply(channel, a, b) gives one
// element's result in f32, each step an explicitly rounded intrinsic, so
// that every path (and the fused activation's, against var.relu6 after the
// unfused pass) computes the same bits.

/// pass.apply, compiled for a mask or activation of `Kind` where the pass
/// has one.
template <int Kind, typename Pass>
__device__ inline float applyPass(const Pass &pass,
                                  const typename Pass::Channel &ch, float a,
                                  float b) {
  if constexpr (std::is_same_v<Pass, Normalize>)
    return pass.template apply<Kind>(ch, a, b);
  else
    return pass.apply(ch, a, b);
}

/// dx = scale * (dy - meanGrad - (x - mean) * centeredGrad) (InputGradTerms).
struct InputGrad {
  static constexpr int kInputs = 2;
  const float *terms;
  int64_t channels;
  ActivationMask mask;
  struct Channel {
    float mean, centeredGrad, meanGrad, scale;
  };
  __device__ Channel channel(int64_t c) const {
    return {terms[kMean * channels + c], terms[kCenteredGrad * channels + c],
            terms[kMeanGrad * channels + c], terms[kScale * channels + c]};
  }
  __device__ float apply(const Channel &ch, float x, float dy) const {
    float centered = __fsub_rn(x, ch.mean);
    return __fmul_rn(ch.scale, __fmaf_rn(-centered, ch.centeredGrad,
                                         __fsub_rn(dy, ch.meanGrad)));
  }
};

/// InputGrad with dy from a max pool's gradient and indices.
struct PooledInputGrad : InputGrad {
  PooledGrad pooled;
};

/// dx = dy * scale.
struct ScaleByChannel {
  static constexpr int kInputs = 1;
  const float *scales;
  struct Channel {
    float scale;
  };
  __device__ Channel channel(int64_t c) const { return {scales[c]}; }
  __device__ float apply(const Channel &ch, float dy, float) const {
    return __fmul_rn(dy, ch.scale);
  }
};

/// Packed rows (C % 8 == 0, aligned tensors): the grid's threads sweep
/// `sweep` rows at a time, thread t always at pack column t % P (P =
/// packsPerRow), so that it reads its 8 channels' floats once; U =
/// kRowPassUnroll rows' packs are loaded before any is used. Threads past
/// sweep * P idle. Registers (sm_90, bf16 / f32): Normalize 64 / 61 and
/// ScaleByChannel 64 / 56 (4 blocks an SM, 64 bytes a thread in flight),
/// InputGrad with its mask 128 / 126 (2 blocks, 128 bytes, 192 with the
/// mask); PooledInputGrad 101-124 / 96-122 (2 blocks), mixed types (a
/// run-time mask) 145 (1 block).
template <typename Pass, int Type, int Kind>
__global__ void __launch_bounds__(kThreads, kRowPassBlocks<Pass, Type>)
    rowPassKernel(int64_t rows, int64_t packsPerRow, Pass pass, Operand a,
                  Operand b, void *out, int outType) {
  constexpr int U = kRowPassUnroll<Type>;
  int aType = typeFor<Type>(a.type), bType = typeFor<Type>(b.type);
  int maskType = 0;
  if constexpr (Pass::kInputs == 2)
    maskType = typeFor<Type>(pass.mask.value.type);
  outType = typeFor<Type>(outType);
  int64_t thread = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  int64_t sweep = static_cast<int64_t>(gridDim.x) * kThreads / packsPerRow;
  if (thread >= sweep * packsPerRow)
    return;
  int64_t column = thread % packsPerRow;
  typename Pass::Channel channel[kPack];
  MaskChannel maskCh[kPack];
#pragma unroll
  for (int e = 0; e < kPack; ++e) {
    channel[e] = pass.channel(column * kPack + e);
    if constexpr (Pass::kInputs == 2)
      maskCh[e] = maskChannel<Kind>(pass.mask, column * kPack + e);
  }
  for (int64_t r = thread / packsPerRow; r < rows; r += U * sweep) {
    HeldPack<Type> va[U], vb[U], value[U];
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (r + u * sweep < rows) {
        int64_t pack = (r + u * sweep) * packsPerRow + column;
        va[u].load(a.data, aType, pack);
        if constexpr (Pass::kInputs == 2) {
          loadGradPack(pass, vb[u], b, bType, r + u * sweep, packsPerRow,
                       column);
          if (readsValue<Kind>(pass.mask))
            value[u].load(pass.mask.value.data, maskType, pack);
        }
      }
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (r + u * sweep < rows) {
        float result[kPack];
#pragma unroll
        for (int e = 0; e < kPack; ++e) {
          float grad = 0;
          if constexpr (Pass::kInputs == 2)
            grad = maskGrad<Kind, Type>(pass.mask, value[u], va[u], vb[u], e,
                                        maskCh[e]);
          result[e] = applyPass<Kind>(pass, channel[e], va[u][e], grad);
        }
        storePack(out, outType, (r + u * sweep) * packsPerRow + column, result);
      }
  }
}

/// Any layout: a grid-stride loop over `groups` groups of G elements of
/// one channel each (G = kPack: channels-first with spatial % 8 == 0; G =
/// 1: elements), kFlatPassUnroll groups loaded before any is used; Index
/// is uint32_t where numel < 2^31 (a 64-bit division costs tens of
/// instructions).
template <int G, typename Index, typename Pass>
__global__ void __launch_bounds__(kThreads)
    flatPassKernel(Index groups, Index spatial, Index channels, Pass pass,
                   Operand a, Operand b, void *out, int outType) {
  constexpr int U = kFlatPassUnroll;
  Index stride = static_cast<Index>(gridDim.x) * kThreads;
  for (Index g = static_cast<Index>(blockIdx.x) * kThreads + threadIdx.x;
       g < groups; g += U * stride) {
    float va[U][G], vb[U][G] = {};
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (g + u * stride < groups) {
        loadGroup(a.data, a.type, g + u * stride, va[u]);
        if constexpr (Pass::kInputs == 2) {
          loadGradGroup(pass, b, g + u * stride, vb[u]);
          maskGrads(pass.mask, g + u * stride, va[u],
                    (g + u * stride) * G / spatial % channels, vb[u]);
        }
      }
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (g + u * stride < groups) {
        Index group = g + u * stride;
        typename Pass::Channel channel =
            pass.channel(group * G / spatial % channels);
        float result[G];
#pragma unroll
        for (int e = 0; e < G; ++e)
          result[e] = pass.apply(channel, va[u][e], vb[u][e]);
        storeGroup(out, outType, group, result);
      }
  }
}

/// Blocks for a pass over `groups` groups, `unroll` a thread an
/// iteration: one iteration a thread while the grid stays within
/// kFillBlocks blocks, else kFillBlocks, or more once each thread would
/// take over `perThread` groups (a packed-rows dx pass takes 32: its
/// threads read 6 floats a channel first; bench/norm measured 32 a little
/// faster than 8 there, and slower for the forward's normalize).
unsigned passBlocks(int64_t groups, int unroll,
                    int64_t perThread = kGroupsPerThread) {
  int64_t blocks = (groups + kThreads * unroll - 1) / (kThreads * unroll);
  int64_t filled =
      std::max<int64_t>(kFillBlocks, (groups + kThreads * perThread - 1) /
                                         (kThreads * perThread));
  return static_cast<unsigned>(
      std::clamp<int64_t>(std::min(blocks, filled), 1, 65536));
}

template <int G, typename Index, typename Pass>
void launchFlatPass(CudaContext &ctx, const ChannelLayout &l, const Pass &pass,
                    Operand a, Operand b, void *out, int outType) {
  int64_t groups = l.numel() / G;
  flatPassKernel<G, Index>
      <<<passBlocks(groups, kFlatPassUnroll), kThreads, 0, ctx.stream>>>(
          static_cast<Index>(groups), static_cast<Index>(l.spatial),
          static_cast<Index>(l.channels), pass, a, b, out, outType);
}

/// Launches `pass` on the widest path the layout and the tensors (and
/// `value`, an activation value the pass reads too) allow.
template <typename Pass>
std::string launchPass(CudaContext &ctx, const ChannelLayout &l,
                       const Pass &pass, Operand a, Operand b, void *out,
                       int outType, Operand value = {}) {
  int64_t numel = l.numel();
  if (numel == 0)
    return {};
  bool packed = isPackable(l, {a.data, b.data, out, value.data});
  if constexpr (kReadsPooledGrad<Pass>) {
    // Rows only (channels-last): no channels-first path is compiled.
    if (!l.rows())
      return "reads a pooled gradient channels-last only";
    packed = packed && isPackAligned(pass.pooled.indices);
  }
  bool narrow = numel < (int64_t(1) << 31);
  if (packed && l.rows()) {
    withType(commonType({a, b, value}, outType), [&](auto type) {
      constexpr int Type = decltype(type)::value;
      // At least one thread a pack column.
      int64_t packsPerRow = l.channels / kPack;
      int64_t blocks =
          std::max<int64_t>(passBlocks(numel / kPack, kRowPassUnroll<Type>,
                                       Pass::kInputs == 2 ? 32 : 8),
                            (packsPerRow + kThreads - 1) / kThreads);
      withKernelKindOf<Type>(pass, [&](auto kind) {
        rowPassKernel<Pass, Type, decltype(kind)::value>
            <<<static_cast<unsigned>(blocks), kThreads, 0, ctx.stream>>>(
                l.batch, packsPerRow, pass, a, b, out, outType);
      });
    });
  } else if (packed) {
    if constexpr (!kReadsPooledGrad<Pass>) {
      if (narrow)
        launchFlatPass<kPack, uint32_t>(ctx, l, pass, a, b, out, outType);
      else
        launchFlatPass<kPack, int64_t>(ctx, l, pass, a, b, out, outType);
    }
  } else if (narrow) {
    launchFlatPass<1, uint32_t>(ctx, l, pass, a, b, out, outType);
  } else {
    launchFlatPass<1, int64_t>(ctx, l, pass, a, b, out, outType);
  }
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace

bool isPackable(const ChannelLayout &l,
                std::initializer_list<const void *> tensors) {
  if (l.numel() <= 0 || (l.rows() ? l.channels : l.spatial) % kPack != 0)
    return false;
  for (const void *tensor : tensors)
    if (!isPackAligned(tensor))
      return false;
  return true;
}

Split splitChannels(const ChannelLayout &l, bool packed, int inputs) {
  Split split;
  split.group = packed ? kPack : 1;
  // The units a chunk counts (rows, or a channel's groups), the blocks
  // that read one chunk of every channel, and the units a block reads at
  // once per channel.
  int64_t units = l.perChannel(), blocksPerChunk = 0, unitsPerStep = 0;
  if (l.rows() && packed) {
    // Up to 32 pack columns (256 channels) a block, the row's columns
    // spread evenly over its blocks.
    int64_t packsPerRow = l.channels / kPack;
    split.columnBlocks = (packsPerRow + 31) / 32;
    split.width = static_cast<int>((packsPerRow + split.columnBlocks - 1) /
                                   split.columnBlocks);
    split.rowsPerStep = kThreads / split.width;
    blocksPerChunk = split.columnBlocks;
    unitsPerStep = split.rowsPerStep;
  } else if (l.rows()) {
    blocksPerChunk = (l.channels + kColumns - 1) / kColumns;
    unitsPerStep = kRows;
  } else {
    units /= split.group;
    blocksPerChunk = l.channels;
    unitsPerStep = kThreads;
  }
  // Enough blocks to fill the GPU, each thread summing at least 4 units.
  int64_t wanted =
      std::max<int64_t>(1, (kSumBlocks[inputs > 1] + blocksPerChunk - 1) /
                               std::max<int64_t>(1, blocksPerChunk));
  int64_t most = std::max<int64_t>(1, units / (4 * unitsPerStep));
  split.chunks = std::min(wanted, most);
  split.chunk = (units + split.chunks - 1) / split.chunks;
  if (split.chunk > 0)
    split.chunks = (units + split.chunk - 1) / split.chunk;
  if (!l.rows() && l.spatial > 0) {
    int64_t plane = l.spatial / split.group;
    split.stepN = kThreads / plane;
    split.stepS = kThreads % plane;
  }
  return split;
}

std::string sumInputAndSquares(CudaContext &ctx, const ChannelLayout &l,
                               const Split &split, Operand x,
                               double *partials) {
  return launchSums(ctx, l, split, SumsAndSquares{l, x}, x, {nullptr, 0},
                    partials);
}

std::string sumGrads(CudaContext &ctx, const ChannelLayout &l,
                     const Split &split, Operand x, Operand dy, Operand mean,
                     ActivationMask mask, double *partials) {
  return launchSums(ctx, l, split, GradSums{mean, mask}, x, dy, partials,
                    mask.value);
}

std::string normalize(CudaContext &ctx, const ChannelLayout &l, Operand x,
                      const float *scaleShift, int activation, void *y,
                      int yType) {
  return launchPass(ctx, l,
                    Normalize{scaleShift, l.channels, activation, yType}, x,
                    {nullptr, 0}, y, yType);
}

std::string inputGrad(CudaContext &ctx, const ChannelLayout &l, Operand x,
                      Operand dy, const float *terms, ActivationMask mask,
                      void *dx, int dxType) {
  return launchPass(ctx, l, InputGrad{terms, l.channels, mask}, x, dy, dx,
                    dxType, mask.value);
}

std::string sumPooledGrads(CudaContext &ctx, const ChannelLayout &l,
                           const Split &split, Operand x,
                           const PooledGrad &pooled, Operand mean,
                           ActivationMask mask, double *partials) {
  return launchSums(ctx, l, split, PooledGradSums{{mean, mask}, pooled}, x,
                    {pooled.grad, pooled.gradType}, partials, mask.value);
}

std::string pooledInputGrad(CudaContext &ctx, const ChannelLayout &l, Operand x,
                            const PooledGrad &pooled, const float *terms,
                            ActivationMask mask, void *dx, int dxType) {
  return launchPass(ctx, l, PooledInputGrad{{terms, l.channels, mask}, pooled},
                    x, {pooled.grad, pooled.gradType}, dx, dxType, mask.value);
}

std::string scaleByChannel(CudaContext &ctx, const ChannelLayout &l, Operand dy,
                           const float *scales, void *dx, int dxType) {
  return launchPass(ctx, l, ScaleByChannel{scales}, dy, {nullptr, 0}, dx,
                    dxType);
}

} // namespace var::cuda::norm
