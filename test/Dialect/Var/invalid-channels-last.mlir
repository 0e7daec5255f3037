// Diagnostics of `channels_last` layout ops: the channels are read from the
// last dimension, so an NCHW tensor or a weight in another layout is refused.
// RUN: var-opt %s -split-input-file -verify-diagnostics

// An NCHW input under channels_last: its last dimension (8) is not the
// weight's 3 input channels.
func.func @conv_nchw_input(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op input has 8 channels (in its last dimension: channels_last) but the weight expects 3 per group x 1 groups}}
  %0 = var.conv %x, %w channels_last : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

// Weights keep (O, I / groups, kH, kW) under channels_last: an OHWI weight
// does not fit.
func.func @conv_ohwi_weight(%x: tensor<1x8x8x4xf32>, %w: tensor<16x3x3x4xf32>) {
  // expected-error @+1 {{'var.conv' op input has 4 channels (in its last dimension: channels_last) but the weight expects 3 per group x 1 groups}}
  %0 = var.conv %x, %w channels_last : tensor<1x8x8x4xf32>, tensor<16x3x3x4xf32>
  return
}

// -----

func.func @conv_rank(%x: tensor<1x3xf32>, %w: tensor<4x3xf32>) {
  // expected-error @+1 {{'var.conv' op input must be (N, spatial..., C) (channels_last) with 1 to 3 spatial dimensions, got rank 2}}
  %0 = var.conv %x, %w channels_last : tensor<1x3xf32>, tensor<4x3xf32>
  return
}

// -----

// The bias stays (C_out).
func.func @conv_bias(%x: tensor<1x8x8x3xf32>, %w: tensor<4x3x3x3xf32>,
                     %b: tensor<6xf32>) {
  // expected-error @+1 {{'var.conv' op bias must be (4), got (6)}}
  %0 = var.conv %x, %w, %b channels_last : tensor<1x8x8x3xf32>, tensor<4x3x3x3xf32>, tensor<6xf32>
  return
}

// -----

func.func @batch_norm_nchw(%x: tensor<2x16x8x8xf32>, %p: tensor<16xf32>) {
  // expected-error @+1 {{'var.batch_norm' op weight must be (8), got (16)}}
  %0 = var.batch_norm %x, %p, %p, %p, %p channels_last : tensor<2x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  return
}

// -----

func.func @pool_rank(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'var.max_pool' op input must be (N, spatial..., C) (channels_last) with 1 to 3 spatial dimensions, got rank 2}}
  %0 = var.max_pool %x kernel [2] channels_last : tensor<2x8xf32>
  return
}

// -----

// The spatial dimensions of an NHWC (2, 8, 8, 3) input are 8 and 8: a 9x9
// window does not fit, whatever dimension 3 holds.
func.func @pool_window(%x: tensor<2x8x8x32xf32>) {
  // expected-error @+1 {{'var.avg_pool' op kernel 9 does not fit spatial dimension 0 of size 8}}
  %0 = var.avg_pool %x kernel [9, 9] channels_last : tensor<2x8x8x32xf32>
  return
}

// -----

// The input gradient of an NHWC convolution is NHWC.
func.func @conv_grad_input_nchw(%g: tensor<2x8x8x16xf32>, %w: tensor<16x3x3x3xf32>) {
  // expected-error @+1 {{'var.conv_grad_input' op input has 8 channels (in its last dimension: channels_last) but the weight expects 3 per group x 1 groups}}
  %0 = var.conv_grad_input %g, %w padding [1, 1] channels_last : tensor<2x8x8x16xf32>, tensor<16x3x3x3xf32> -> tensor<2x3x8x8xf32>
  return
}

// -----

func.func @conv_grad_weight_nchw_grad(%x: tensor<2x8x8x3xf32>, %g: tensor<2x16x8x8xf32>) {
  // expected-error @+1 {{'var.conv_grad_weight' op result type 'tensor<16x3x3x3xf32>' does not convolve input 'tensor<2x8x8x3xf32>' to grad type 'tensor<2x16x8x8xf32>': the convolution gives 'tensor<2x8x8x16xf32>'}}
  %0 = var.conv_grad_weight %x, %g padding [1, 1] channels_last : tensor<2x8x8x3xf32>, tensor<2x16x8x8xf32> -> tensor<16x3x3x3xf32>
  return
}

// -----

func.func @max_pool_grad_nchw_output(%x: tensor<2x8x8x16xf32>, %y: tensor<2x16x4x4xf32>) {
  // expected-error @+1 {{'var.max_pool_grad' op output type 'tensor<2x16x4x4xf32>' is not the max pool of input type 'tensor<2x8x8x16xf32>': the pool gives 'tensor<2x4x4x16xf32>'}}
  %0 = var.max_pool_grad %x, %y, %y kernel [2, 2] channels_last : tensor<2x8x8x16xf32>, tensor<2x16x4x4xf32>
  return
}

// -----

func.func @global_avg_pool_grad_nchw(%g: tensor<2x16x1x1xf32>) {
  // expected-error @+1 {{'var.global_avg_pool_grad' op result type 'tensor<2x4x4x16xf32>' does not pool to grad type 'tensor<2x16x1x1xf32>': the global average pool gives 'tensor<2x1x1x16xf32>'}}
  %0 = var.global_avg_pool_grad %g channels_last : tensor<2x16x1x1xf32> -> tensor<2x4x4x16xf32>
  return
}

// -----

func.func @batch_norm_grad_nchw(%x: tensor<2x16x8x8xf32>, %p: tensor<16xf32>) {
  // expected-error @+1 {{'var.batch_norm_grad' op weight must be (8), got (16)}}
  %0:3 = var.batch_norm_grad %x, %x, %p, %p, %p channels_last : tensor<2x16x8x8xf32>, tensor<16xf32>
  return
}
