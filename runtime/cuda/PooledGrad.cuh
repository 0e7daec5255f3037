// dy of a channels-last batch norm backward read from the gradient and i8
// indices of the max pool after it (var.batch_norm_grad_max_pool), instead
// of the full-size gradient var.max_pool_grad_indices would write: the
// norm passes (NormPassKernels.cu, NormApplyKernels.cu) load dy through it
// where they would load the dense tensor, and compute everything else as
// before.
#ifndef VAR_RUNTIME_CUDA_POOLEDGRAD_CUH
#define VAR_RUNTIME_CUDA_POOLEDGRAD_CUH

#include "runtime/cuda/DeviceTensor.cuh"

#include <cstdint>

namespace var::cuda::norm {

/// A max pool's gradient and indices, (N, out..., C), over windows that
/// tile its channels-last input (N, in..., C): stride == kernel, no
/// padding, dimensions padded to three with leading 1s. Input row r
/// (spatial position, rows < 2^32) lies in at most one window; its dy is
/// what var.max_pool_grad_indices gives it on the GPU: 0 + grad (-0
/// becomes +0) where the window's index names its place, else +0, and +0
/// past the last whole window.
struct PooledGrad {
  const void *grad = nullptr;
  const int8_t *indices = nullptr;
  int gradType = 0;
  uint32_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, kernel[3] = {1, 1, 1};
  int64_t channels = 0;

  /// Input row `row`'s pooled row and its place in that window, or -1
  /// where no window covers it.
  __device__ int locate(uint32_t row, int64_t &pooledRow) const {
    uint32_t w = row % in[2], t = row / in[2];
    uint32_t h = t % in[1];
    t /= in[1];
    uint32_t d = t % in[0], n = t / in[0];
    uint32_t od = d / kernel[0], oh = h / kernel[1], ow = w / kernel[2];
    if (od >= out[0] || oh >= out[1] || ow >= out[2])
      return -1;
    pooledRow =
        ((static_cast<int64_t>(n) * out[0] + od) * out[1] + oh) * out[2] + ow;
    return static_cast<int>(
        ((d - od * kernel[0]) * kernel[1] + (h - oh * kernel[1])) * kernel[2] +
        (w - ow * kernel[2]));
  }

  /// dy of element i of the (rows, C) input.
  __device__ float element(int64_t i) const {
    int64_t row = i / channels, pooledRow = 0;
    int position = locate(static_cast<uint32_t>(row), pooledRow);
    if (position < 0)
      return 0.0f;
    int64_t j = pooledRow * channels + (i - row * channels);
    return indices[j] == position
               ? __fadd_rn(0.0f, loadFloat(grad, gradType, j))
               : 0.0f;
  }
};

} // namespace var::cuda::norm

#endif
