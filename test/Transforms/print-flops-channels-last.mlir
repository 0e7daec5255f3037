// A channels_last op counts the FLOPs of its NCHW twin: each pair below is
// the same computation in both layouts, with one expected count.
// RUN: var-opt %s --var-print-flops --verify-diagnostics -o /dev/null

// 2 * |result| * C_in * prod(kernel) + |result| for the bias:
// 2 * (2*16*8*8) * 3 * 9 + 2048.
func.func @conv(%x: tensor<2x3x8x8xf32>, %xl: tensor<2x8x8x3xf32>,
                %w: tensor<16x3x3x3xf32>, %b: tensor<16xf32>) {
  // expected-remark @+1 {{forward FLOPs: 112640}}
  %0 = var.conv %x, %w, %b padding [1, 1] : tensor<2x3x8x8xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>
  // expected-remark @+1 {{forward FLOPs: 112640}}
  %1 = var.conv %xl, %w, %b padding [1, 1] channels_last : tensor<2x8x8x3xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>
  return
}

// The same convolution without bias: 2 * 2048 * 27.
func.func @conv_grads(%x: tensor<2x3x8x8xf32>, %xl: tensor<2x8x8x3xf32>,
                      %w: tensor<16x3x3x3xf32>, %g: tensor<2x16x8x8xf32>,
                      %gl: tensor<2x8x8x16xf32>) {
  // expected-remark @+1 {{forward FLOPs: 110592}}
  %0 = var.conv_grad_input %g, %w padding [1, 1] : tensor<2x16x8x8xf32>, tensor<16x3x3x3xf32> -> tensor<2x3x8x8xf32>
  // expected-remark @+1 {{forward FLOPs: 110592}}
  %1 = var.conv_grad_input %gl, %w padding [1, 1] channels_last : tensor<2x8x8x16xf32>, tensor<16x3x3x3xf32> -> tensor<2x8x8x3xf32>
  // expected-remark @+1 {{forward FLOPs: 110592}}
  %2 = var.conv_grad_weight %x, %g padding [1, 1] : tensor<2x3x8x8xf32>, tensor<2x16x8x8xf32> -> tensor<16x3x3x3xf32>
  // expected-remark @+1 {{forward FLOPs: 110592}}
  %3 = var.conv_grad_weight %xl, %gl padding [1, 1] channels_last : tensor<2x8x8x3xf32>, tensor<2x8x8x16xf32> -> tensor<16x3x3x3xf32>
  return
}

// Pools: |result| * prod(kernel) = (2*16*4*4) * 4; global: |input|; the
// gradients: |input|.
func.func @pools(%x: tensor<2x16x8x8xf32>, %xl: tensor<2x8x8x16xf32>,
                 %y: tensor<2x16x4x4xf32>, %yl: tensor<2x4x4x16xf32>,
                 %g: tensor<2x16xf32>) {
  // expected-remark @+1 {{forward FLOPs: 2048}}
  %0 = var.max_pool %x kernel [2, 2] : tensor<2x16x8x8xf32>
  // expected-remark @+1 {{forward FLOPs: 2048}}
  %1 = var.max_pool %xl kernel [2, 2] channels_last : tensor<2x8x8x16xf32>
  // expected-remark @+1 {{forward FLOPs: 2048}}
  %2 = var.avg_pool %x kernel [2, 2] : tensor<2x16x8x8xf32>
  // expected-remark @+1 {{forward FLOPs: 2048}}
  %3 = var.avg_pool %xl kernel [2, 2] channels_last : tensor<2x8x8x16xf32>
  // expected-remark @+1 {{forward FLOPs: 2048}}
  %4 = var.global_avg_pool %x : tensor<2x16x8x8xf32>
  // expected-remark @+1 {{forward FLOPs: 2048}}
  %5 = var.global_avg_pool %xl channels_last : tensor<2x8x8x16xf32>
  // expected-remark @+1 {{forward FLOPs: 2048}}
  %6 = var.max_pool_grad %x, %y, %y kernel [2, 2] : tensor<2x16x8x8xf32>, tensor<2x16x4x4xf32>
  // expected-remark @+1 {{forward FLOPs: 2048}}
  %7 = var.max_pool_grad %xl, %yl, %yl kernel [2, 2] channels_last : tensor<2x8x8x16xf32>, tensor<2x4x4x16xf32>
  // expected-remark @+1 {{forward FLOPs: 2048}}
  %8 = var.avg_pool_grad %y kernel [2, 2] : tensor<2x16x4x4xf32> -> tensor<2x16x8x8xf32>
  // expected-remark @+1 {{forward FLOPs: 2048}}
  %9 = var.avg_pool_grad %yl kernel [2, 2] channels_last : tensor<2x4x4x16xf32> -> tensor<2x8x8x16xf32>
  // expected-remark @+1 {{forward FLOPs: 2048}}
  %10 = var.global_avg_pool_grad %g : tensor<2x16xf32> -> tensor<2x16x8x8xf32>
  // expected-remark @+1 {{forward FLOPs: 2048}}
  %11 = var.global_avg_pool_grad %g channels_last : tensor<2x16xf32> -> tensor<2x8x8x16xf32>
  return
}

// Batch norm: 2, 7 (+ 8 per channel), 8 and 5 (+ 5 per channel) per
// element of 2048.
func.func @batch_norms(%x: tensor<2x16x8x8xf32>, %xl: tensor<2x8x8x16xf32>,
                       %p: tensor<16xf32>) {
  // expected-remark @+1 {{forward FLOPs: 4096}}
  %0 = var.batch_norm %x, %p, %p, %p, %p : tensor<2x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  // expected-remark @+1 {{forward FLOPs: 4096}}
  %1 = var.batch_norm %xl, %p, %p, %p, %p channels_last : tensor<2x8x8x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  // expected-remark @+1 {{forward FLOPs: 14464}}
  %2:5 = var.batch_norm_train %x, %p, %p, %p, %p : tensor<2x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  // expected-remark @+1 {{forward FLOPs: 14464}}
  %3:5 = var.batch_norm_train %xl, %p, %p, %p, %p channels_last : tensor<2x8x8x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  // expected-remark @+1 {{forward FLOPs: 16384}}
  %4:3 = var.batch_norm_grad %x, %x, %p, %p, %p : tensor<2x16x8x8xf32>, tensor<16xf32>
  // expected-remark @+1 {{forward FLOPs: 16384}}
  %5:3 = var.batch_norm_grad %xl, %xl, %p, %p, %p channels_last : tensor<2x8x8x16xf32>, tensor<16xf32>
  // expected-remark @+1 {{forward FLOPs: 10320}}
  %6:3 = var.batch_norm_frozen_grad %x, %x, %p, %p, %p : tensor<2x16x8x8xf32>, tensor<16xf32>
  // expected-remark @+1 {{forward FLOPs: 10320}}
  %7:3 = var.batch_norm_frozen_grad %xl, %xl, %p, %p, %p channels_last : tensor<2x8x8x16xf32>, tensor<16xf32>
  return
}
