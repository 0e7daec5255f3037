// var.lstm and var.lstm_grad with the CPU reference's semantics
// (runtime/cpu/NormLstmKernels.cpp: gates i, f, g, o; zero initial state;
// the backward recomputes the forward). The input projection of every step
// is one cuBLAS product (bf16 operands on tensor cores, f32 accumulation);
// each step is then a recurrent product on the f32 hidden state and one
// fused kernel for the gates and the cell update. The backward walks the
// steps back the same way and forms the input and weight gradients as whole
// products over all (batch, step) rows at the end. No atomics anywhere, so
// every run gives the same bits.
#include "runtime/cpu/LstmCall.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"

#include <climits>

namespace var::cuda {

using cpu::LSTMOperands;
using cpu::LSTMShape;
using cpu::OpCall;
using cpu::TensorView;

namespace {

//===----------------------------------------------------------------------===//
// Kernels. All state is f32 and row (b, t) major, as the CPU keeps it: row
// b * T + t of the gates (rows, 4H), the cells and hiddens (rows, H). One
// thread per (batch, hidden unit) of a step: it owns that unit's four gates.
//===----------------------------------------------------------------------===//

__global__ void widenKernel(const void *in, int type, float *out, int64_t n) {
  VAR_GRID_STRIDE(i, n) { out[i] = loadFloat(in, type, i); }
}

__global__ void roundKernel(const float *in, void *out, int outType,
                            int64_t n) {
  VAR_GRID_STRIDE(i, n) { storeFloat(out, outType, i, in[i]); }
}

__device__ inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/// A tensor's data and element type, or none (an absent bias).
struct Typed {
  const void *data = nullptr;
  int type = kF32;
};

/// Step t of the forward: pre-activations (the input projection in `gates`,
/// plus both biases, plus the recurrent product unless t = 0) become the
/// activated gates in place, then the cell and hidden state. `sequence`
/// and `last` (results, any float type) are written when given.
__global__ void forwardStepKernel(float *gates, const float *recurrent,
                                  Typed bIh, Typed bHh, float *cells,
                                  float *hiddens, void *sequence, int seqType,
                                  void *last, int lastType, int64_t t,
                                  int64_t steps, int64_t batch,
                                  int64_t hidden) {
  VAR_GRID_STRIDE(i, batch * hidden) {
    int64_t b = i / hidden, h = i % hidden;
    int64_t row = b * steps + t;
    float *gate = gates + row * 4 * hidden;
    float pre[4];
    for (int k = 0; k < 4; ++k) {
      int64_t j = k * hidden + h;
      float bias = 0.0f;
      if (bIh.data)
        bias += loadFloat(bIh.data, bIh.type, j);
      if (bHh.data)
        bias += loadFloat(bHh.data, bHh.type, j);
      pre[k] = gate[j] + bias;
      if (recurrent)
        pre[k] += recurrent[b * 4 * hidden + j];
    }
    float ig = sigmoid(pre[0]), fg = sigmoid(pre[1]), gg = tanhf(pre[2]),
          og = sigmoid(pre[3]);
    gate[h] = ig;
    gate[hidden + h] = fg;
    gate[2 * hidden + h] = gg;
    gate[3 * hidden + h] = og;
    float cPrev = t ? cells[(row - 1) * hidden + h] : 0.0f;
    float c = fg * cPrev + ig * gg;
    float hNew = og * tanhf(c);
    cells[row * hidden + h] = c;
    hiddens[row * hidden + h] = hNew;
    if (sequence)
      storeFloat(sequence, seqType, row * hidden + h, hNew);
    if (last && t == steps - 1)
      storeFloat(last, lastType, b * hidden + h, hNew);
  }
}

/// Step t of the backward: the activated gates in `gates` become the
/// gradients of their pre-activations in place; `cellGrad` carries dL/dc
/// to step t - 1 (taken as zero at the last step, where `hiddenGrad` is the
/// last_grad operand rather than the product of step t + 1). Also copies
/// h_{t-1} (zero at t = 0) into `previous` for w_hh's gradient.
__global__ void backwardStepKernel(float *gates, const float *cells,
                                   const float *hiddens, float *previous,
                                   Typed sequenceGrad, Typed hiddenGrad,
                                   float *cellGrad, int64_t t, int64_t steps,
                                   int64_t batch, int64_t hidden) {
  VAR_GRID_STRIDE(i, batch * hidden) {
    int64_t b = i / hidden, h = i % hidden;
    int64_t row = b * steps + t;
    float *gate = gates + row * 4 * hidden;
    float ig = gate[h], fg = gate[hidden + h], gg = gate[2 * hidden + h],
          og = gate[3 * hidden + h];
    float cPrev = t ? cells[(row - 1) * hidden + h] : 0.0f;
    float tanhC = tanhf(cells[row * hidden + h]);
    float dh =
        loadFloat(sequenceGrad.data, sequenceGrad.type, row * hidden + h) +
        loadFloat(hiddenGrad.data, hiddenGrad.type, b * hidden + h);
    float dcNext = t == steps - 1 ? 0.0f : cellGrad[b * hidden + h];
    float dc = dcNext + dh * og * (1 - tanhC * tanhC);
    gate[h] = dc * gg * ig * (1 - ig);
    gate[hidden + h] = dc * cPrev * fg * (1 - fg);
    gate[2 * hidden + h] = dc * ig * (1 - gg * gg);
    gate[3 * hidden + h] = dh * tanhC * og * (1 - og);
    cellGrad[b * hidden + h] = dc * fg;
    previous[row * hidden + h] = t ? hiddens[(row - 1) * hidden + h] : 0.0f;
  }
}

/// Both bias gradients: the column sums of the gate gradients (rows, 4H).
/// One thread per column sums its rows in order, in double as the CPU does.
__global__ void biasGradKernel(const float *gateGrad, int64_t rows,
                               int64_t gates, void *bIhGrad, int bIhType,
                               void *bHhGrad, int bHhType) {
  VAR_GRID_STRIDE(j, gates) {
    double sum = 0.0;
    for (int64_t r = 0; r < rows; ++r)
      sum += gateGrad[r * gates + j];
    storeFloat(bIhGrad, bIhType, j, static_cast<float>(sum));
    storeFloat(bHhGrad, bHhType, j, static_cast<float>(sum));
  }
}

//===----------------------------------------------------------------------===//
// Launchers
//===----------------------------------------------------------------------===//

/// f32 arrays carved from the context's one workspace, 256-byte aligned.
/// Laid out twice: once without memory to size it, then for real.
struct Carver {
  char *base = nullptr;
  int64_t used = 0;

  float *take(int64_t count) {
    float *array = base ? reinterpret_cast<float *>(base + used) : nullptr;
    used += (count * 4 + 255) / 256 * 256;
    return array;
  }
};

cudaDataType_t cudaTypeOf(int type) {
  return type == kBF16 ? CUDA_R_16BF : CUDA_R_32F;
}

/// A device matrix operand for cuBLAS.
struct Matrix {
  const void *data;
  int type;
  int64_t ld;
};

/// Column-major C (m x n, leading dimension ldc, f32) = op(A) op(B), f32
/// compute (tensor cores where A and B are bf16). Row-major products are
/// column-major products of the transposes; the callers say which.
std::string gemm(CudaContext &ctx, cublasOperation_t opA, cublasOperation_t opB,
                 int64_t m, int64_t n, int64_t k, Matrix a, Matrix b, float *c,
                 int64_t ldc) {
  if (m == 0 || n == 0)
    return {};
  if (k == 0) { // Only the input projection's k can be 0; there ldc = m.
    VAR_CUDA_TRY(
        cudaMemsetAsync(c, 0, static_cast<size_t>(m * n) * 4, ctx.stream));
    return {};
  }
  for (int64_t v : {m, n, k, a.ld, b.ld, ldc})
    if (v > INT_MAX)
      return "LSTM product of " + std::to_string(v) +
             " along one dimension exceeds cuBLAS's int range";
  float one = 1.0f, zero = 0.0f;
  auto narrow = [](int64_t v) { return static_cast<int>(v); };
  VAR_CUDA_TRY(cublasGemmEx(ctx.cublas, opA, opB, narrow(m), narrow(n),
                            narrow(k), &one, a.data, cudaTypeOf(a.type),
                            narrow(a.ld), b.data, cudaTypeOf(b.type),
                            narrow(b.ld), &zero, c, CUDA_R_32F, narrow(ldc),
                            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  return {};
}

/// `tensor` as an f32 array: itself when f32, else widened into `scratch`.
std::string asF32(CudaContext &ctx, const TensorView &tensor, int type,
                  float *scratch, const float **out) {
  if (type == kF32) {
    *out = static_cast<const float *>(tensor.data);
    return {};
  }
  int64_t n = tensor.numel();
  widenKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(tensor.data, type,
                                                         scratch, n);
  VAR_CUDA_LAUNCHED();
  *out = scratch;
  return {};
}

/// Stores an f32 array into a result: rounded by a kernel, or copied.
std::string store(CudaContext &ctx, const float *values, TensorView &result,
                  int type) {
  int64_t n = result.numel();
  if (n == 0 || values == result.data)
    return {};
  if (type == kF32) {
    VAR_CUDA_TRY(cudaMemcpyAsync(result.data, values,
                                 static_cast<size_t>(n) * 4,
                                 cudaMemcpyDeviceToDevice, ctx.stream));
    return {};
  }
  roundKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(values, result.data,
                                                         type, n);
  VAR_CUDA_LAUNCHED();
  return {};
}

/// The element type of every operand and result, by slot.
struct LSTMTypes {
  int operand[7] = {};
  int result[5] = {};
};

std::string getTypes(const OpCall &call, const LSTMOperands &operands,
                     LSTMTypes &types) {
  for (int slot = 0; slot < 7; ++slot) {
    const TensorView *tensor = operands.slots[slot];
    ElementType type = kF32;
    if (tensor)
      if (std::string error = elementTypeOf(*tensor, "an LSTM operand", type);
          !error.empty())
        return error;
    types.operand[slot] = type;
  }
  for (size_t r = 0; r < call.results.size(); ++r) {
    ElementType type;
    if (std::string error =
            elementTypeOf(call.results[r], "an LSTM result", type);
        !error.empty())
      return error;
    types.result[r] = type;
  }
  return {};
}

/// The f32 state the forward leaves: activated gates, cells, hiddens.
struct ForwardState {
  float *gates, *cells, *hiddens, *recurrent, *wHh, *wIh, *input;
};

/// Carves the forward's state; the backward's buffers follow it.
void carveForward(Carver &carver, const LSTMShape &shape, ForwardState &s) {
  s.gates = carver.take(shape.rows() * shape.gates());
  s.cells = carver.take(shape.rows() * shape.hidden);
  s.hiddens = carver.take(shape.rows() * shape.hidden);
  s.recurrent = carver.take(shape.batch * shape.gates());
  s.wHh = carver.take(shape.gates() * shape.hidden);
  // Widened copies of a bf16 input and w_ih when the projection cannot run
  // on them as they are (mixed types), and for the backward's products.
  s.wIh = carver.take(shape.gates() * shape.features);
  s.input = carver.take(shape.rows() * shape.features);
}

/// Runs the layer over every step into `state`, writing `sequence` and
/// `last` when given. Needs batch, steps and hidden > 0.
std::string runForward(CudaContext &ctx, const LSTMShape &shape,
                       const LSTMOperands &operands, const LSTMTypes &types,
                       ForwardState &state, TensorView *sequence,
                       TensorView *last, int seqType, int lastType) {
  int64_t batch = shape.batch, steps = shape.steps, hidden = shape.hidden;
  int64_t gates = shape.gates(), features = shape.features;
  const TensorView &input = *operands[LSTMOperands::Input];
  const TensorView &wIh = *operands[LSTMOperands::WIh];
  int inputType = types.operand[LSTMOperands::Input];
  int wIhType = types.operand[LSTMOperands::WIh];
  Matrix x{input.data, inputType, features}, w{wIh.data, wIhType, features};
  if (inputType != wIhType) {
    const float *wide;
    if (std::string error = asF32(ctx, input, inputType, state.input, &wide);
        !error.empty())
      return error;
    x = {wide, kF32, features};
    if (std::string error = asF32(ctx, wIh, wIhType, state.wIh, &wide);
        !error.empty())
      return error;
    w = {wide, kF32, features};
  }
  // gates^T (4H x rows) = w_ih (4H x I) x^T (I x rows).
  if (std::string error =
          gemm(ctx, CUBLAS_OP_T, CUBLAS_OP_N, gates, shape.rows(), features, w,
               x, state.gates, gates);
      !error.empty())
    return error;
  const float *wHh;
  if (std::string error =
          asF32(ctx, *operands[LSTMOperands::WHh],
                types.operand[LSTMOperands::WHh], state.wHh, &wHh);
      !error.empty())
    return error;
  Typed bIh, bHh;
  if (const TensorView *bias = operands[LSTMOperands::BIh])
    bIh = {bias->data, types.operand[LSTMOperands::BIh]};
  if (const TensorView *bias = operands[LSTMOperands::BHh])
    bHh = {bias->data, types.operand[LSTMOperands::BHh]};
  for (int64_t t = 0; t < steps; ++t) {
    if (t > 0) {
      // recurrent^T (4H x B) = w_hh (4H x H) h_{t-1}^T (H x B); the rows of
      // h_{t-1} lie T * H apart.
      if (std::string error =
              gemm(ctx, CUBLAS_OP_T, CUBLAS_OP_N, gates, batch, hidden,
                   {wHh, kF32, hidden},
                   {state.hiddens + (t - 1) * hidden, kF32, steps * hidden},
                   state.recurrent, gates);
          !error.empty())
        return error;
    }
    forwardStepKernel<<<blocksFor(batch * hidden), kThreads, 0, ctx.stream>>>(
        state.gates, t ? state.recurrent : nullptr, bIh, bHh, state.cells,
        state.hiddens, sequence ? sequence->data : nullptr, seqType,
        last ? last->data : nullptr, lastType, t, steps, batch, hidden);
    VAR_CUDA_LAUNCHED();
  }
  return {};
}

std::string zeroResults(CudaContext &ctx, OpCall &call) {
  for (TensorView &result : call.results)
    if (result.numel() > 0)
      VAR_CUDA_TRY(cudaMemsetAsync(
          result.data, 0, static_cast<size_t>(result.bytes()), ctx.stream));
  return {};
}

/// var.lstm: the hidden state of every step and of the last one.
std::string lstmOp(CudaContext &ctx, OpCall &call) {
  LSTMOperands operands;
  LSTMShape shape;
  LSTMTypes types;
  if (std::string error = cpu::checkLSTMCall(call, operands, shape);
      !error.empty())
    return error;
  if (std::string error = getTypes(call, operands, types); !error.empty())
    return error;
  if (shape.rows() == 0 || shape.hidden == 0)
    return zeroResults(ctx, call); // no steps: the last state is the first
  Carver carver;
  ForwardState state;
  carveForward(carver, shape, state);
  void *memory;
  if (std::string error = ctx.getWorkspace(carver.used, &memory);
      !error.empty())
    return error;
  carver = {static_cast<char *>(memory), 0};
  carveForward(carver, shape, state);
  return runForward(ctx, shape, operands, types, state, &call.results[0],
                    &call.results[1], types.result[0], types.result[1]);
}

/// The backward's f32 buffers beyond the forward state.
struct BackwardState {
  float *cellGrad, *hiddenGrad, *previous, *inputGrad, *wIhGrad, *wHhGrad;
};

void carveBackward(Carver &carver, const LSTMShape &shape, BackwardState &s) {
  s.cellGrad = carver.take(shape.batch * shape.hidden);
  s.hiddenGrad = carver.take(shape.batch * shape.hidden);
  s.previous = carver.take(shape.rows() * shape.hidden);
  s.inputGrad = carver.take(shape.rows() * shape.features);
  s.wIhGrad = carver.take(shape.gates() * shape.features);
  s.wHhGrad = carver.take(shape.gates() * shape.hidden);
}

/// var.lstm_grad: recomputes the forward, walks the steps backwards to the
/// gradient of every gate pre-activation, then forms the input and weight
/// gradients as whole products over all (batch, step) rows.
std::string lstmGradOp(CudaContext &ctx, OpCall &call) {
  LSTMOperands operands;
  LSTMShape shape;
  LSTMTypes types;
  if (std::string error = cpu::checkLSTMGradCall(call, operands, shape);
      !error.empty())
    return error;
  if (std::string error = getTypes(call, operands, types); !error.empty())
    return error;
  if (shape.rows() == 0 || shape.hidden == 0)
    return zeroResults(ctx, call);
  int64_t batch = shape.batch, steps = shape.steps, hidden = shape.hidden;
  int64_t gates = shape.gates(), features = shape.features;
  int64_t rows = shape.rows();
  Carver carver;
  ForwardState state;
  BackwardState grads;
  carveForward(carver, shape, state);
  carveBackward(carver, shape, grads);
  void *memory;
  if (std::string error = ctx.getWorkspace(carver.used, &memory);
      !error.empty())
    return error;
  carver = {static_cast<char *>(memory), 0};
  carveForward(carver, shape, state);
  carveBackward(carver, shape, grads);
  if (std::string error = runForward(ctx, shape, operands, types, state,
                                     nullptr, nullptr, kF32, kF32);
      !error.empty())
    return error;

  // runForward left w_hh as f32 in state.wHh unless it was f32 already.
  const float *wHh =
      types.operand[LSTMOperands::WHh] == kF32
          ? static_cast<const float *>(operands[LSTMOperands::WHh]->data)
          : state.wHh;
  Typed sequenceGrad{operands[LSTMOperands::SequenceGrad]->data,
                     types.operand[LSTMOperands::SequenceGrad]};
  Typed lastGrad{operands[LSTMOperands::LastGrad]->data,
                 types.operand[LSTMOperands::LastGrad]};
  for (int64_t t = steps - 1; t >= 0; --t) {
    Typed hiddenGrad =
        t == steps - 1 ? lastGrad : Typed{grads.hiddenGrad, kF32};
    backwardStepKernel<<<blocksFor(batch * hidden), kThreads, 0, ctx.stream>>>(
        state.gates, state.cells, state.hiddens, grads.previous, sequenceGrad,
        hiddenGrad, grads.cellGrad, t, steps, batch, hidden);
    VAR_CUDA_LAUNCHED();
    if (t > 0) {
      // dh_{t-1}^T (H x B) = w_hh^T (H x 4H) dgates_t^T (4H x B).
      if (std::string error =
              gemm(ctx, CUBLAS_OP_N, CUBLAS_OP_N, hidden, batch, gates,
                   {wHh, kF32, hidden},
                   {state.gates + t * gates, kF32, steps * gates},
                   grads.hiddenGrad, hidden);
          !error.empty())
        return error;
    }
  }

  // The gate gradients are f32; the products with them take f32 weights
  // and input, so that bf16 tensors give the CPU's f32 arithmetic.
  const float *wIh, *input;
  if (std::string error =
          asF32(ctx, *operands[LSTMOperands::WIh],
                types.operand[LSTMOperands::WIh], state.wIh, &wIh);
      !error.empty())
    return error;
  if (std::string error =
          asF32(ctx, *operands[LSTMOperands::Input],
                types.operand[LSTMOperands::Input], state.input, &input);
      !error.empty())
    return error;
  Matrix gateGrad{state.gates, kF32, gates};
  auto target = [&](int r, float *scratch) {
    return types.result[r] == kF32 ? static_cast<float *>(call.results[r].data)
                                   : scratch;
  };
  float *inputGrad = target(0, grads.inputGrad);
  float *wIhGrad = target(1, grads.wIhGrad);
  float *wHhGrad = target(2, grads.wHhGrad);
  // input_grad^T (I x rows) = w_ih^T (I x 4H) dgates^T (4H x rows).
  if (std::string error =
          gemm(ctx, CUBLAS_OP_N, CUBLAS_OP_N, features, rows, gates,
               {wIh, kF32, features}, gateGrad, inputGrad, features);
      !error.empty())
    return error;
  // w_ih_grad^T (I x 4H) = input^T (I x rows) dgates (rows x 4H).
  if (std::string error =
          gemm(ctx, CUBLAS_OP_N, CUBLAS_OP_T, features, gates, rows,
               {input, kF32, features}, gateGrad, wIhGrad, features);
      !error.empty())
    return error;
  // w_hh_grad^T (H x 4H) = previous^T (H x rows) dgates (rows x 4H).
  if (std::string error =
          gemm(ctx, CUBLAS_OP_N, CUBLAS_OP_T, hidden, gates, rows,
               {grads.previous, kF32, hidden}, gateGrad, wHhGrad, hidden);
      !error.empty())
    return error;
  for (int r = 0; r < 3; ++r) {
    const float *values[] = {inputGrad, wIhGrad, wHhGrad};
    if (std::string error =
            store(ctx, values[r], call.results[r], types.result[r]);
        !error.empty())
      return error;
  }
  if (call.results.size() == 5) {
    biasGradKernel<<<blocksFor(gates), kThreads, 0, ctx.stream>>>(
        state.gates, rows, gates, call.results[3].data, types.result[3],
        call.results[4].data, types.result[4]);
    VAR_CUDA_LAUNCHED();
  }
  return {};
}

} // namespace

void registerLstmOps(CudaOpTable &table) {
  table["var.lstm"] = lstmOp;
  table["var.lstm_grad"] = lstmGradOp;
}

} // namespace var::cuda
