// Forward FLOPs of the training-step ops (TrainOps.cpp), each counted by
// hand from the formula in its VarTrainOps.td description. A multiply-add
// counts as 2.
// RUN: var-opt %s --var-print-flops --verify-diagnostics -o /dev/null

// 7 per element and 8 per channel: 7 * (2*4*3*3) + 8 * 4 = 504 + 32.
func.func @batch_norm_train(%x: tensor<2x4x3x3xf32>, %p: tensor<4xf32>) {
  // expected-remark @+1 {{forward FLOPs: 536}}
  %0:5 = var.batch_norm_train %x, %p, %p, %p, %p : tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return
}

// 8 per input element: 8 * 72.
func.func @batch_norm_grad(%x: tensor<2x4x3x3xf32>, %p: tensor<4xf32>) {
  // expected-remark @+1 {{forward FLOPs: 576}}
  %0:3 = var.batch_norm_grad %x, %x, %p, %p, %p : tensor<2x4x3x3xf32>, tensor<4xf32>
  return
}

// 5 per input element and 5 per channel: 5 * 72 + 5 * 4.
func.func @batch_norm_frozen_grad(%x: tensor<2x4x3x3xf32>, %p: tensor<4xf32>) {
  // expected-remark @+1 {{forward FLOPs: 380}}
  %0:3 = var.batch_norm_frozen_grad %x, %x, %p, %p, %p : tensor<2x4x3x3xf32>, tensor<4xf32>
  return
}

// 1 per element: 2 * 16.
func.func @dropout(%x: tensor<2x16xf32>) {
  // expected-remark @+1 {{forward FLOPs: 32}}
  %0 = var.dropout_train %x p 0.5 key 1 : tensor<2x16xf32>
  // expected-remark @+1 {{forward FLOPs: 32}}
  %1 = var.dropout_grad %0 p 0.5 key 1 : tensor<2x16xf32>
  return
}

// The forward convolution without bias: 2 * |grad| * (C_in / groups) *
// prod(kernel) = 2 * (2*16*6*6) * 8 * 3*3 = 2 * 1152 * 72.
func.func @conv_grads(%x: tensor<2x8x8x8xf32>, %w: tensor<16x8x3x3xf32>,
                      %g: tensor<2x16x6x6xf32>) {
  // expected-remark @+1 {{forward FLOPs: 165888}}
  %0 = var.conv_grad_input %g, %w : tensor<2x16x6x6xf32>, tensor<16x8x3x3xf32> -> tensor<2x8x8x8xf32>
  // expected-remark @+1 {{forward FLOPs: 165888}}
  %1 = var.conv_grad_weight %x, %g : tensor<2x8x8x8xf32>, tensor<2x16x6x6xf32> -> tensor<16x8x3x3xf32>
  return
}

// Depthwise: one input channel per group, 2 * (8*4*4) * 1 * 3*3; a dynamic
// batch leaves the count unknown.
func.func @conv_grads_depthwise(%x: tensor<1x8x8x8xf32>, %g: tensor<1x8x4x4xf32>,
                                %gd: tensor<?x8x4x4xf32>, %w: tensor<8x1x3x3xf32>) {
  // expected-remark @+1 {{forward FLOPs: 2304}}
  %0 = var.conv_grad_weight %x, %g stride [2, 2] padding [1, 1] groups 8 : tensor<1x8x8x8xf32>, tensor<1x8x4x4xf32> -> tensor<8x1x3x3xf32>
  // expected-remark @+1 {{forward FLOPs: 2304}}
  %1 = var.conv_grad_input %g, %w stride [2, 2] padding [1, 1] groups 8 : tensor<1x8x4x4xf32>, tensor<8x1x3x3xf32> -> tensor<1x8x8x8xf32>
  // expected-remark @+1 {{forward FLOPs unknown: a dimension is dynamic or the count overflows 64 bits}}
  %2 = var.conv_grad_input %gd, %w stride [2, 2] padding [1, 1] groups 8 : tensor<?x8x4x4xf32>, tensor<8x1x3x3xf32> -> tensor<?x8x8x8xf32>
  return
}

// 1 per input element for the window pools (1*4*8*8, 1*4*9*9), 1 per result
// element for the global one (2*8*7*7).
func.func @pool_grads(%x: tensor<1x4x8x8xf32>, %y: tensor<1x4x4x4xf32>,
                      %g: tensor<2x8xf32>) {
  // expected-remark @+1 {{forward FLOPs: 256}}
  %0 = var.max_pool_grad %x, %y, %y kernel [2, 2] : tensor<1x4x8x8xf32>, tensor<1x4x4x4xf32>
  // expected-remark @+1 {{forward FLOPs: 324}}
  %1 = var.avg_pool_grad %y kernel [2, 2] : tensor<1x4x4x4xf32> -> tensor<1x4x9x9xf32>
  // expected-remark @+1 {{forward FLOPs: 784}}
  %2 = var.global_avg_pool_grad %g : tensor<2x8xf32> -> tensor<2x8x7x7xf32>
  return
}

// The pool with indices counts as var.max_pool: 4 comparisons per output
// (1*4*4*4 * 4 = 256); its backward 1 per input element (1*4*8*8).
func.func @max_pool_indices(%x: tensor<1x4x8x8xbf16>, %i: tensor<1x4x4x4xi8>,
                            %g: tensor<1x4x4x4xbf16>) {
  // expected-remark @+1 {{forward FLOPs: 256}}
  %0:2 = var.max_pool_with_indices %x kernel [2, 2] : tensor<1x4x8x8xbf16>
  // expected-remark @+1 {{forward FLOPs: 256}}
  %1 = var.max_pool_grad_indices %i, %g kernel [2, 2] : tensor<1x4x4x4xi8>, tensor<1x4x4x4xbf16> -> tensor<1x4x8x8xbf16>
  return
}

// The batch norm's 8 per element with its activation and 8 per channel,
// plus the pool's 4 comparisons per output: 8 * (1*4*8*8) + 8 * 4 +
// 4 * (1*4*4*4) = 2048 + 32 + 256; without an activation 7 per element.
func.func @batch_norm_train_max_pool(%x: tensor<1x4x8x8xbf16>,
                                     %p: tensor<4xf32>) {
  // expected-remark @+1 {{forward FLOPs: 2336}}
  %0:6 = var.batch_norm_train_max_pool %x, %p, %p, %p, %p activation "relu" kernel [2, 2] : tensor<1x4x8x8xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  // expected-remark @+1 {{forward FLOPs: 2080}}
  %1:6 = var.batch_norm_train_max_pool %x, %p, %p, %p, %p kernel [2, 2] : tensor<1x4x8x8xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return
}

// The batch norm backward of a pool's gradient counts both ops: 1 + 8 per
// input element (1*8*8*4 * 9 = 2304), 1 + 9 with an activation (2560).
func.func @batch_norm_grad_max_pool(%x: tensor<1x8x8x4xbf16>,
                                    %i: tensor<1x4x4x4xi8>,
                                    %g: tensor<1x4x4x4xbf16>,
                                    %w: tensor<4xf32>) {
  // expected-remark @+1 {{forward FLOPs: 2304}}
  %0:3 = var.batch_norm_grad_max_pool %x, %i, %g, %w, %w, %w kernel [2, 2] channels_last : tensor<1x8x8x4xbf16>, tensor<1x4x4x4xi8>, tensor<1x4x4x4xbf16>, tensor<4xf32>
  // expected-remark @+1 {{forward FLOPs: 2560}}
  %1:3 = var.batch_norm_grad_max_pool %x, %i, %g, %w, %w, %w kernel [2, 2] channels_last activation "relu"(%w) : tensor<1x8x8x4xbf16>, tensor<1x4x4x4xi8>, tensor<1x4x4x4xbf16>, tensor<4xf32>, tensor<4xf32>
  return
}

// Scale and shift, 2 per element, and 1 more with an activation:
// 3 * (1*4*8*8) and 2 * (1*4*8*8).
func.func @batch_norm_apply(%x: tensor<1x4x8x8xbf16>, %p: tensor<4xf32>) {
  // expected-remark @+1 {{forward FLOPs: 768}}
  %0 = var.batch_norm_apply %x, %p, %p, %p, %p activation "relu" : tensor<1x4x8x8xbf16>, tensor<4xf32>
  // expected-remark @+1 {{forward FLOPs: 512}}
  %1 = var.batch_norm_apply %x, %p, %p, %p, %p : tensor<1x4x8x8xbf16>, tensor<4xf32>
  return
}

// 2 * rows * in * out = 2 * 6 * 32 * 16 for both.
func.func @linear_grads(%x: tensor<6x32xf32>, %w: tensor<16x32xf32>,
                        %g: tensor<6x16xf32>) {
  // expected-remark @+1 {{forward FLOPs: 6144}}
  %0 = var.linear_grad_input %g, %w : tensor<6x16xf32>, tensor<16x32xf32>
  // expected-remark @+1 {{forward FLOPs: 6144}}
  %1 = var.linear_grad_weight %x, %g : tensor<6x32xf32>, tensor<6x16xf32>
  return
}

// Rows over several leading dimensions: 2 * (2*3) * 8 * 4.
func.func @linear_grads_3d(%x: tensor<2x3x8xf32>, %w: tensor<4x8xf32>,
                           %g: tensor<2x3x4xf32>) {
  // expected-remark @+1 {{forward FLOPs: 384}}
  %0 = var.linear_grad_input %g, %w : tensor<2x3x4xf32>, tensor<4x8xf32>
  // expected-remark @+1 {{forward FLOPs: 384}}
  %1 = var.linear_grad_weight %x, %g : tensor<2x3x8xf32>, tensor<2x3x4xf32>
  return
}

// B = 2, T = 3, I = 8, H = 16 (4H = 64). Forward per step:
// 2*2*64*(8+16) = 6144 (products) + 2*2*64 = 256 + 9*2*16 = 288, so 6688;
// times 3 steps: 20064, of which products 18432. Backward: the forward
// again plus twice its products: 20064 + 2 * 18432.
func.func @lstm_grad(%x: tensor<2x3x8xf32>, %wi: tensor<64x8xf32>,
                     %wh: tensor<64x16xf32>, %b: tensor<64xf32>,
                     %ds: tensor<2x3x16xf32>, %dl: tensor<2x16xf32>,
                     %xd: tensor<?x3x8xf32>, %dsd: tensor<?x3x16xf32>,
                     %dld: tensor<?x16xf32>) {
  // expected-remark @+1 {{forward FLOPs: 56928}}
  %0:5 = var.lstm_grad %x, %wi, %wh, %b, %b, %ds, %dl : tensor<2x3x8xf32>, tensor<64x8xf32>, tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>, tensor<2x3x16xf32>, tensor<2x16xf32>
  // expected-remark @+1 {{forward FLOPs unknown}}
  %1:5 = var.lstm_grad %xd, %wi, %wh, %b, %b, %dsd, %dld : tensor<?x3x8xf32>, tensor<64x8xf32>, tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>, tensor<?x3x16xf32>, tensor<?x16xf32>
  return
}

// Per element: 1 for ReLU and ReLU6, 2 for sigmoid, 4 for SiLU and
// hard-swish; 16 elements.
func.func @activation_grads(%v: tensor<2x8xf32>) {
  // expected-remark @+1 {{forward FLOPs: 16}}
  %0 = var.relu_grad %v, %v : tensor<2x8xf32>
  // expected-remark @+1 {{forward FLOPs: 16}}
  %1 = var.relu6_grad %v, %v : tensor<2x8xf32>
  // expected-remark @+1 {{forward FLOPs: 32}}
  %2 = var.sigmoid_grad %v, %v : tensor<2x8xf32>
  // expected-remark @+1 {{forward FLOPs: 64}}
  %3 = var.silu_grad %v, %v : tensor<2x8xf32>
  // expected-remark @+1 {{forward FLOPs: 64}}
  %4 = var.hardswish_grad %v, %v : tensor<2x8xf32>
  return
}

// 3e18 elements fit in 64 bits; 4 FLOPs each do not.
func.func @activation_grad_overflow(%v: tensor<3000000000x1000000000xf32>) {
  // expected-remark @+1 {{forward FLOPs: 3000000000000000000}}
  %0 = var.relu_grad %v, %v : tensor<3000000000x1000000000xf32>
  // expected-remark @+1 {{forward FLOPs unknown: a dimension is dynamic or the count overflows 64 bits}}
  %1 = var.silu_grad %v, %v : tensor<3000000000x1000000000xf32>
  return
}

// reduce_sum: 1 per input element (2*4*3*3); slice: a copy; mean_time_grad:
// 1 per result element (2*8*16).
func.func @shape_grads(%x: tensor<2x4x3x3xf32>, %g: tensor<2x16xf32>) {
  // expected-remark @+1 {{forward FLOPs: 72}}
  %0 = var.reduce_sum %x dims [0, 2, 3] : tensor<2x4x3x3xf32>
  // expected-remark @+1 {{forward FLOPs: 0}}
  %1 = var.slice %x axis 1 offset 1 size 2 : tensor<2x4x3x3xf32>
  // expected-remark @+1 {{forward FLOPs: 256}}
  %2 = var.mean_time_grad %g frames 8 : tensor<2x16xf32>
  return
}

// 5 per logit: 5 * 4 * 10.
func.func @softmax_cross_entropy_grad(%x: tensor<4x10xf32>, %l: tensor<4xi64>,
                                      %d: tensor<f32>) {
  // expected-remark @+1 {{forward FLOPs: 200}}
  %0 = var.softmax_cross_entropy_grad %x, %l, %d : tensor<4x10xf32>, tensor<4xi64>
  return
}
