// Diagnostics of the training-step ops (TrainOps.cpp, and the forward rules
// in ShapeRules.h that the backward ops re-run). Ops that infer their types
// fail while parsing; backward ops with a written result type, var.fill and
// the symbol users fail in the verifier.
// RUN: var-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// var.param_grad, var.update_buffer
//===----------------------------------------------------------------------===//

func.func @param_grad_undefined(%g: tensor<4xf32>) {
  // expected-error @+1 {{'var.param_grad' op references undefined parameter @nope}}
  var.param_grad @nope, %g : tensor<4xf32>
  return
}

// -----

var.param @bn.running_mean : tensor<4xf32> init zeros buffer
func.func @param_grad_of_buffer(%g: tensor<4xf32>) {
  // expected-error @+1 {{'var.param_grad' op parameter @bn.running_mean is a buffer, which has no gradient (its new value goes to var.update_buffer)}}
  var.param_grad @bn.running_mean, %g : tensor<4xf32>
  return
}

// -----

var.param @fc.weight : tensor<4x2xf32> init xavier_uniform
func.func @param_grad_shape(%g: tensor<2x4xf32>) {
  // expected-error @+1 {{'var.param_grad' op grad type 'tensor<2x4xf32>' differs from parameter @fc.weight of type 'tensor<4x2xf32>'}}
  var.param_grad @fc.weight, %g : tensor<2x4xf32>
  return
}

// -----

func.func @update_buffer_undefined(%v: tensor<4xf32>) {
  // expected-error @+1 {{'var.update_buffer' op references undefined parameter @nope}}
  var.update_buffer @nope, %v : tensor<4xf32>
  return
}

// -----

var.param @bn.weight : tensor<4xf32> init ones
func.func @update_buffer_of_trainable(%v: tensor<4xf32>) {
  // expected-error @+1 {{'var.update_buffer' op parameter @bn.weight is trainable, not a buffer (its gradient goes to var.param_grad)}}
  var.update_buffer @bn.weight, %v : tensor<4xf32>
  return
}

// -----

var.param @bn.running_var : tensor<4xf32> init ones buffer
func.func @update_buffer_type(%v: tensor<5xf32>) {
  // expected-error @+1 {{'var.update_buffer' op value type 'tensor<5xf32>' differs from buffer @bn.running_var of type 'tensor<4xf32>'}}
  var.update_buffer @bn.running_var, %v : tensor<5xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.fill
//===----------------------------------------------------------------------===//

func.func @fill_dynamic() -> tensor<?x4xf32> {
  // expected-error @+1 {{'var.fill' op result shape must be static, got 'tensor<?x4xf32>'}}
  %0 = var.fill 0.0 : tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

func.func @fill_nan() -> tensor<2xf32> {
  // expected-error @+1 {{'var.fill' op value must be finite, got nan}}
  %0 = var.fill 0x7FF8000000000000 : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @fill_inf() -> tensor<2xf32> {
  // expected-error @+1 {{'var.fill' op value must be finite, got INF}}
  %0 = var.fill 0x7FF0000000000000 : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// Finite as an f64, but not as an f16 (whose largest value is 65504).
func.func @fill_overflow() -> tensor<2xf16> {
  // expected-error @+1 {{'var.fill' op value 1.000000e+05 overflows 'f16'}}
  %0 = var.fill 1.0e5 : tensor<2xf16>
  return %0 : tensor<2xf16>
}

// -----

//===----------------------------------------------------------------------===//
// var.batch_norm_train: var.batch_norm's rule
//===----------------------------------------------------------------------===//

func.func @bn_train_input_rank(%x: tensor<8xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm_train' op input must be (N, C, ...), got rank 1}}
  %0:5 = var.batch_norm_train %x, %p, %p, %p, %p : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_train_weight_size(%x: tensor<?x8x4x4xf32>, %p: tensor<8xf32>, %q: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_train' op weight must be (8), got (4)}}
  %0:5 = var.batch_norm_train %x, %q, %p, %p, %p : tensor<?x8x4x4xf32>, tensor<4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_train_running_var_element_type(%x: tensor<?x8x4x4xbf16>, %p: tensor<8xbf16>, %q: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm_train' op running_var element type 'f32' differs from input's 'bf16'}}
  %0:5 = var.batch_norm_train %x, %p, %p, %p, %q : tensor<?x8x4x4xbf16>, tensor<8xbf16>, tensor<8xbf16>, tensor<8xbf16>, tensor<8xf32>
  return
}

// -----

func.func @bn_train_eps(%x: tensor<?x8x4x4xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm_train' op eps must be positive, got 0.000000e+00}}
  %0:5 = var.batch_norm_train %x, %p, %p, %p, %p eps 0.0 : tensor<?x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_train_momentum(%x: tensor<?x8x4x4xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm_train' op momentum must be in [0, 1], got 1.500000e+00}}
  %0:5 = var.batch_norm_train %x, %p, %p, %p, %p momentum 1.5 : tensor<?x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.dropout_train, var.dropout_grad: var.dropout's p, and the mask key
//===----------------------------------------------------------------------===//

func.func @dropout_train_p_one(%x: tensor<4xf32>) {
  // expected-error @+1 {{'var.dropout_train' op drop probability p must be in [0, 1), got 1.000000e+00}}
  %0 = var.dropout_train %x p 1.0 key 0 : tensor<4xf32>
  return
}

// -----

func.func @dropout_train_p_negative(%x: tensor<4xf32>) {
  // expected-error @+1 {{'var.dropout_train' op drop probability p must be in [0, 1), got -1.000000e-01}}
  %0 = var.dropout_train %x p -0.1 key 0 : tensor<4xf32>
  return
}

// -----

func.func @dropout_train_key(%x: tensor<4xf32>) {
  // expected-error @+1 {{'var.dropout_train' op mask key must be non-negative, got -1}}
  %0 = var.dropout_train %x p 0.5 key -1 : tensor<4xf32>
  return
}

// -----

func.func @dropout_grad_p(%g: tensor<4xf32>) {
  // expected-error @+1 {{'var.dropout_grad' op drop probability p must be in [0, 1), got 2.000000e+00}}
  %0 = var.dropout_grad %g p 2.0 key 0 : tensor<4xf32>
  return
}

// -----

func.func @dropout_grad_key(%g: tensor<4xf32>) {
  // expected-error @+1 {{'var.dropout_grad' op mask key must be non-negative, got -7}}
  %0 = var.dropout_grad %g p 0.5 key -7 : tensor<4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.conv_grad_input: var.conv's rule on (result, weight); its messages
// call the result `input`
//===----------------------------------------------------------------------===//

func.func @conv_grad_input_size(%g: tensor<1x16x6x6xf32>, %w: tensor<16x8x3x3xf32>) {
  // expected-error @+1 {{'var.conv_grad_input' op result type 'tensor<1x8x9x8xf32>' does not convolve to grad type 'tensor<1x16x6x6xf32>': the convolution with weight 'tensor<16x8x3x3xf32>' gives 'tensor<1x16x7x6xf32>'}}
  %0 = var.conv_grad_input %g, %w : tensor<1x16x6x6xf32>, tensor<16x8x3x3xf32> -> tensor<1x8x9x8xf32>
  return
}

// -----

// A dynamic batch in the result but not in grad: not exactly grad's type.
func.func @conv_grad_input_dynamic_batch(%g: tensor<1x16x6x6xf32>, %w: tensor<16x8x3x3xf32>) {
  // expected-error @+1 {{'var.conv_grad_input' op result type 'tensor<?x8x8x8xf32>' does not convolve to grad type 'tensor<1x16x6x6xf32>': the convolution with weight 'tensor<16x8x3x3xf32>' gives 'tensor<?x16x6x6xf32>'}}
  %0 = var.conv_grad_input %g, %w : tensor<1x16x6x6xf32>, tensor<16x8x3x3xf32> -> tensor<?x8x8x8xf32>
  return
}

// -----

func.func @conv_grad_input_grad_element_type(%g: tensor<1x16x6x6xbf16>, %w: tensor<16x8x3x3xf32>) {
  // expected-error @+1 {{'var.conv_grad_input' op result type 'tensor<1x8x8x8xf32>' does not convolve to grad type 'tensor<1x16x6x6xbf16>': the convolution with weight 'tensor<16x8x3x3xf32>' gives 'tensor<1x16x6x6xf32>'}}
  %0 = var.conv_grad_input %g, %w : tensor<1x16x6x6xbf16>, tensor<16x8x3x3xf32> -> tensor<1x8x8x8xf32>
  return
}

// -----

func.func @conv_grad_input_channels(%g: tensor<1x16x6x6xf32>, %w: tensor<16x8x3x3xf32>) {
  // expected-error @+1 {{'var.conv_grad_input' op input has 4 channels but the weight expects 8 per group x 1 groups}}
  %0 = var.conv_grad_input %g, %w : tensor<1x16x6x6xf32>, tensor<16x8x3x3xf32> -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @conv_grad_input_result_rank(%g: tensor<1x16xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{'var.conv_grad_input' op input must be (N, C, spatial...) with 1 to 3 spatial dimensions, got rank 2}}
  %0 = var.conv_grad_input %g, %w : tensor<1x16xf32>, tensor<16x8xf32> -> tensor<1x8xf32>
  return
}

// -----

func.func @conv_grad_input_weight_element_type(%g: tensor<1x16x6x6xf32>, %w: tensor<16x8x3x3xbf16>) {
  // expected-error @+1 {{'var.conv_grad_input' op weight element type 'bf16' differs from input's 'f32'}}
  %0 = var.conv_grad_input %g, %w : tensor<1x16x6x6xf32>, tensor<16x8x3x3xbf16> -> tensor<1x8x8x8xf32>
  return
}

// -----

func.func @conv_grad_input_stride_entries(%g: tensor<1x16x6x6xf32>, %w: tensor<16x8x3x3xf32>) {
  // expected-error @+1 {{'var.conv_grad_input' op 'stride' has 3 entries but the input has 2 spatial dimensions}}
  %0 = var.conv_grad_input %g, %w stride [1, 1, 1] : tensor<1x16x6x6xf32>, tensor<16x8x3x3xf32> -> tensor<1x8x8x8xf32>
  return
}

// -----

func.func @conv_grad_input_kernel_fit(%g: tensor<1x16x1x1xf32>, %w: tensor<16x8x3x3xf32>) {
  // expected-error @+1 {{'var.conv_grad_input' op kernel 3 (dilation 1) does not fit spatial dimension 0 of size 2 with padding 0}}
  %0 = var.conv_grad_input %g, %w : tensor<1x16x1x1xf32>, tensor<16x8x3x3xf32> -> tensor<1x8x2x3xf32>
  return
}

// -----

func.func @conv_grad_input_groups(%g: tensor<1x6x8x8xf32>, %w: tensor<6x2x1x1xf32>) {
  // expected-error @+1 {{'var.conv_grad_input' op output channels 6 are not divisible by groups 4}}
  %0 = var.conv_grad_input %g, %w groups 4 : tensor<1x6x8x8xf32>, tensor<6x2x1x1xf32> -> tensor<1x8x8x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.conv_grad_weight: var.conv's rule on (input, result); its messages
// call the result `weight`
//===----------------------------------------------------------------------===//

func.func @conv_grad_weight_channels(%x: tensor<1x8x8x8xf32>, %g: tensor<1x16x6x6xf32>) {
  // expected-error @+1 {{'var.conv_grad_weight' op result type 'tensor<12x8x3x3xf32>' does not convolve input 'tensor<1x8x8x8xf32>' to grad type 'tensor<1x16x6x6xf32>': the convolution gives 'tensor<1x12x6x6xf32>'}}
  %0 = var.conv_grad_weight %x, %g : tensor<1x8x8x8xf32>, tensor<1x16x6x6xf32> -> tensor<12x8x3x3xf32>
  return
}

// -----

func.func @conv_grad_weight_kernel(%x: tensor<1x8x8x8xf32>, %g: tensor<1x16x6x6xf32>) {
  // expected-error @+1 {{'var.conv_grad_weight' op result type 'tensor<16x8x5x5xf32>' does not convolve input 'tensor<1x8x8x8xf32>' to grad type 'tensor<1x16x6x6xf32>': the convolution gives 'tensor<1x16x4x4xf32>'}}
  %0 = var.conv_grad_weight %x, %g : tensor<1x8x8x8xf32>, tensor<1x16x6x6xf32> -> tensor<16x8x5x5xf32>
  return
}

// -----

func.func @conv_grad_weight_dynamic(%x: tensor<1x8x8x8xf32>, %g: tensor<1x16x6x6xf32>) {
  // expected-error @+1 {{'var.conv_grad_weight' op weight must have a static, non-empty shape, got 'tensor<?x8x3x3xf32>'}}
  %0 = var.conv_grad_weight %x, %g : tensor<1x8x8x8xf32>, tensor<1x16x6x6xf32> -> tensor<?x8x3x3xf32>
  return
}

// -----

func.func @conv_grad_weight_rank(%x: tensor<1x8x8x8xf32>, %g: tensor<1x16x6x6xf32>) {
  // expected-error @+1 {{'var.conv_grad_weight' op weight rank 3 does not match input rank 4 (weight is (C_out, C_in / groups, kernel...))}}
  %0 = var.conv_grad_weight %x, %g : tensor<1x8x8x8xf32>, tensor<1x16x6x6xf32> -> tensor<16x8x3xf32>
  return
}

// -----

func.func @conv_grad_weight_groups(%x: tensor<1x8x8x8xf32>, %g: tensor<1x16x6x6xf32>) {
  // expected-error @+1 {{'var.conv_grad_weight' op groups must be at least 1, got 0}}
  %0 = var.conv_grad_weight %x, %g groups 0 : tensor<1x8x8x8xf32>, tensor<1x16x6x6xf32> -> tensor<16x8x3x3xf32>
  return
}

// -----

func.func @conv_grad_weight_dilation(%x: tensor<1x8x8x8xf32>, %g: tensor<1x16x6x6xf32>) {
  // expected-error @+1 {{'var.conv_grad_weight' op 'dilation' entries must be at least 1, got 0}}
  %0 = var.conv_grad_weight %x, %g dilation [0, 1] : tensor<1x8x8x8xf32>, tensor<1x16x6x6xf32> -> tensor<16x8x3x3xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.max_pool_grad: var.max_pool's rule on input, checked against output
//===----------------------------------------------------------------------===//

func.func @max_pool_grad_output(%x: tensor<1x4x8x8xf32>, %y: tensor<1x4x3x3xf32>) {
  // expected-error @+1 {{'var.max_pool_grad' op output type 'tensor<1x4x3x3xf32>' is not the max pool of input type 'tensor<1x4x8x8xf32>': the pool gives 'tensor<1x4x4x4xf32>'}}
  %0 = var.max_pool_grad %x, %y, %y kernel [2, 2] : tensor<1x4x8x8xf32>, tensor<1x4x3x3xf32>
  return
}

// -----

func.func @max_pool_grad_input_rank(%x: tensor<4x8xf32>, %y: tensor<4x4xf32>) {
  // expected-error @+1 {{'var.max_pool_grad' op input must be (N, C, spatial...) with 1 to 3 spatial dimensions, got rank 2}}
  %0 = var.max_pool_grad %x, %y, %y kernel [2] : tensor<4x8xf32>, tensor<4x4xf32>
  return
}

// -----

func.func @max_pool_grad_padding(%x: tensor<1x4x8x8xf32>, %y: tensor<1x4x5x5xf32>) {
  // expected-error @+1 {{'var.max_pool_grad' op padding 2 must be at most half the kernel 2}}
  %0 = var.max_pool_grad %x, %y, %y kernel [2, 2] padding [2, 2] : tensor<1x4x8x8xf32>, tensor<1x4x5x5xf32>
  return
}

// -----

func.func @max_pool_grad_kernel_entries(%x: tensor<1x4x8x8xf32>, %y: tensor<1x4x4x4xf32>) {
  // expected-error @+1 {{'var.max_pool_grad' op 'kernel' has 1 entries but the input has 2 spatial dimensions}}
  %0 = var.max_pool_grad %x, %y, %y kernel [2] : tensor<1x4x8x8xf32>, tensor<1x4x4x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.max_pool_with_indices, var.max_pool_grad_indices: the pool's rule, i8
// indices of the output's (grad's) shape, windows of at most 127 positions
//===----------------------------------------------------------------------===//

func.func @max_pool_with_indices_window(%x: tensor<1x4x16x16xf32>) {
  // expected-error @+1 {{'var.max_pool_with_indices' op window [16, 8] has more than 127 positions, which i8 indices cannot name}}
  %0:2 = var.max_pool_with_indices %x kernel [16, 8] : tensor<1x4x16x16xf32>
  return
}

// -----

func.func @max_pool_with_indices_padding(%x: tensor<1x4x8x8xf32>) {
  // expected-error @+1 {{'var.max_pool_with_indices' op padding 2 must be at most half the kernel 2}}
  %0:2 = var.max_pool_with_indices %x kernel [2, 2] padding [2, 2] : tensor<1x4x8x8xf32>
  return
}

// -----

func.func @max_pool_with_indices_index_type(%x: tensor<1x4x8x8xf32>) {
  // expected-error @+1 {{'var.max_pool_with_indices' op result #1 must be ranked tensor of 8-bit signless integer values, but got 'tensor<1x4x4x4xi32>'}}
  %0:2 = "var.max_pool_with_indices"(%x) <{kernel = array<i64: 2, 2>}> : (tensor<1x4x8x8xf32>) -> (tensor<1x4x4x4xf32>, tensor<1x4x4x4xi32>)
  return
}

// -----

func.func @max_pool_with_indices_index_shape(%x: tensor<1x4x8x8xf32>) {
  // expected-error @+2 {{'var.max_pool_with_indices' op inferred type(s) 'tensor<1x4x4x4xf32>', 'tensor<1x4x4x4xi8>' are incompatible with return type(s) of operation 'tensor<1x4x4x4xf32>', 'tensor<1x4x4x2xi8>'}}
  // expected-error @+1 {{'var.max_pool_with_indices' op failed to infer returned types}}
  %0:2 = "var.max_pool_with_indices"(%x) <{kernel = array<i64: 2, 2>}> : (tensor<1x4x8x8xf32>) -> (tensor<1x4x4x4xf32>, tensor<1x4x4x2xi8>)
  return
}

// -----

func.func @max_pool_grad_indices_index_type(%i: tensor<1x4x4x4xi32>, %g: tensor<1x4x4x4xf32>) {
  // expected-error @+1 {{'var.max_pool_grad_indices' op operand #0 must be ranked tensor of 8-bit signless integer values, but got 'tensor<1x4x4x4xi32>'}}
  %0 = var.max_pool_grad_indices %i, %g kernel [2, 2] : tensor<1x4x4x4xi32>, tensor<1x4x4x4xf32> -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @max_pool_grad_indices_index_shape(%i: tensor<1x4x4x2xi8>, %g: tensor<1x4x4x4xf32>) {
  // expected-error @+1 {{'var.max_pool_grad_indices' op indices type 'tensor<1x4x4x2xi8>' does not have the shape of grad type 'tensor<1x4x4x4xf32>'}}
  %0 = var.max_pool_grad_indices %i, %g kernel [2, 2] : tensor<1x4x4x2xi8>, tensor<1x4x4x4xf32> -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @max_pool_grad_indices_window(%i: tensor<1x4x1x1xi8>, %g: tensor<1x4x1x1xf32>) {
  // expected-error @+1 {{'var.max_pool_grad_indices' op window [8, 16] has more than 127 positions, which i8 indices cannot name}}
  %0 = var.max_pool_grad_indices %i, %g kernel [8, 16] : tensor<1x4x1x1xi8>, tensor<1x4x1x1xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @max_pool_grad_indices_size(%i: tensor<1x4x4x4xi8>, %g: tensor<1x4x4x4xf32>) {
  // expected-error @+1 {{'var.max_pool_grad_indices' op result type 'tensor<1x4x10x8xf32>' does not pool to grad type 'tensor<1x4x4x4xf32>': the max pool gives 'tensor<1x4x5x4xf32>'}}
  %0 = var.max_pool_grad_indices %i, %g kernel [2, 2] : tensor<1x4x4x4xi8>, tensor<1x4x4x4xf32> -> tensor<1x4x10x8xf32>
  return
}

// -----

func.func @max_pool_grad_indices_element_type(%i: tensor<1x4x4x4xi8>, %g: tensor<1x4x4x4xbf16>) {
  // expected-error @+1 {{'var.max_pool_grad_indices' op result type 'tensor<1x4x8x8xf32>' does not pool to grad type 'tensor<1x4x4x4xbf16>': the max pool gives 'tensor<1x4x4x4xf32>'}}
  %0 = var.max_pool_grad_indices %i, %g kernel [2, 2] : tensor<1x4x4x4xi8>, tensor<1x4x4x4xbf16> -> tensor<1x4x8x8xf32>
  return
}

// -----

// A channels-first result read channels-last: 8 channels of 16x8.
func.func @max_pool_grad_indices_channels_last(%i: tensor<2x4x4x16xi8>, %g: tensor<2x4x4x16xf32>) {
  // expected-error @+1 {{'var.max_pool_grad_indices' op result type 'tensor<2x16x8x8xf32>' does not pool to grad type 'tensor<2x4x4x16xf32>': the max pool gives 'tensor<2x8x4x8xf32>'}}
  %0 = var.max_pool_grad_indices %i, %g kernel [2, 2] channels_last : tensor<2x4x4x16xi8>, tensor<2x4x4x16xf32> -> tensor<2x16x8x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.avg_pool_grad, var.global_avg_pool_grad: the pools' rules on the result
//===----------------------------------------------------------------------===//

func.func @avg_pool_grad_size(%g: tensor<1x4x4x4xf32>) {
  // expected-error @+1 {{'var.avg_pool_grad' op result type 'tensor<1x4x10x8xf32>' does not pool to grad type 'tensor<1x4x4x4xf32>': the average pool gives 'tensor<1x4x5x4xf32>'}}
  %0 = var.avg_pool_grad %g kernel [2, 2] : tensor<1x4x4x4xf32> -> tensor<1x4x10x8xf32>
  return
}

// -----

func.func @avg_pool_grad_element_type(%g: tensor<1x4x4x4xbf16>) {
  // expected-error @+1 {{'var.avg_pool_grad' op result type 'tensor<1x4x8x8xf32>' does not pool to grad type 'tensor<1x4x4x4xbf16>': the average pool gives 'tensor<1x4x4x4xf32>'}}
  %0 = var.avg_pool_grad %g kernel [2, 2] : tensor<1x4x4x4xbf16> -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @avg_pool_grad_result_rank(%g: tensor<1x4x4x4xf32>) {
  // expected-error @+1 {{'var.avg_pool_grad' op input must be (N, C, spatial...) with 1 to 3 spatial dimensions, got rank 6}}
  %0 = var.avg_pool_grad %g kernel [2, 2] : tensor<1x4x4x4xf32> -> tensor<1x4x8x8x1x1xf32>
  return
}

// -----

func.func @avg_pool_grad_kernel_fit(%g: tensor<1x4x1x1xf32>) {
  // expected-error @+1 {{'var.avg_pool_grad' op kernel 3 does not fit spatial dimension 1 of size 2}}
  %0 = var.avg_pool_grad %g kernel [3, 3] : tensor<1x4x1x1xf32> -> tensor<1x4x3x2xf32>
  return
}

// -----

func.func @avg_pool_grad_stride(%g: tensor<1x4x4x4xf32>) {
  // expected-error @+1 {{'var.avg_pool_grad' op 'stride' entries must be at least 1, got 0}}
  %0 = var.avg_pool_grad %g kernel [2, 2] stride [0, 2] : tensor<1x4x4x4xf32> -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @global_avg_pool_grad_channels(%g: tensor<2x8xf32>) {
  // expected-error @+1 {{'var.global_avg_pool_grad' op result type 'tensor<2x4x7x7xf32>' does not pool to grad type 'tensor<2x8xf32>': the global average pool gives 'tensor<2x4xf32>'}}
  %0 = var.global_avg_pool_grad %g : tensor<2x8xf32> -> tensor<2x4x7x7xf32>
  return
}

// -----

// With kept dimensions, grad's spatial sizes are 1.
func.func @global_avg_pool_grad_kept_size(%g: tensor<2x8x7x7xf32>) {
  // expected-error @+1 {{'var.global_avg_pool_grad' op result type 'tensor<2x8x7x7xf32>' does not pool to grad type 'tensor<2x8x7x7xf32>': the global average pool gives 'tensor<2x8x1x1xf32>'}}
  %0 = var.global_avg_pool_grad %g : tensor<2x8x7x7xf32> -> tensor<2x8x7x7xf32>
  return
}

// -----

// grad is (N, C) or keeps every spatial dimension, not some of them.
func.func @global_avg_pool_grad_kept_rank(%g: tensor<2x8x1xf32>) {
  // expected-error @+1 {{'var.global_avg_pool_grad' op result type 'tensor<2x8x7x7xf32>' does not pool to grad type 'tensor<2x8x1xf32>': the global average pool gives 'tensor<2x8x1x1xf32>'}}
  %0 = var.global_avg_pool_grad %g : tensor<2x8x1xf32> -> tensor<2x8x7x7xf32>
  return
}

// -----

func.func @global_avg_pool_grad_result_rank(%g: tensor<2x8xf32>) {
  // expected-error @+1 {{'var.global_avg_pool_grad' op input must be (N, C, spatial...) with 1 to 3 spatial dimensions, got rank 2}}
  %0 = var.global_avg_pool_grad %g : tensor<2x8xf32> -> tensor<2x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.batch_norm_grad
//===----------------------------------------------------------------------===//

func.func @bn_grad_input_rank(%x: tensor<8xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm_grad' op input must be (N, C, ...), got rank 1}}
  %0:3 = var.batch_norm_grad %x, %x, %p, %p, %p : tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_grad_channels(%x: tensor<?x8x4x4xf32>, %p: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_grad' op weight must be (8), got (4)}}
  %0:3 = var.batch_norm_grad %x, %x, %p, %p, %p : tensor<?x8x4x4xf32>, tensor<4xf32>
  return
}

// -----

// An f32 weight under a bf16 input is mixed precision (ops-cast.mlir); an f16
// one is not.
func.func @bn_grad_weight_element_type(%x: tensor<?x8x4x4xbf16>, %p: tensor<8xf16>) {
  // expected-error @+1 {{'var.batch_norm_grad' op weight element type 'f16' differs from input's 'bf16'}}
  %0:3 = var.batch_norm_grad %x, %x, %p, %p, %p : tensor<?x8x4x4xbf16>, tensor<8xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.batch_norm_frozen_grad
//===----------------------------------------------------------------------===//

func.func @bn_frozen_grad_input_rank(%x: tensor<8xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm_frozen_grad' op input must be (N, C, ...), got rank 1}}
  %0:3 = var.batch_norm_frozen_grad %x, %x, %p, %p, %p : tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_frozen_grad_channels(%x: tensor<?x8x4x4xf32>, %p: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_frozen_grad' op weight must be (8), got (4)}}
  %0:3 = var.batch_norm_frozen_grad %x, %x, %p, %p, %p : tensor<?x8x4x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @bn_frozen_grad_weight_element_type(%x: tensor<?x8x4x4xbf16>, %p: tensor<8xf16>) {
  // expected-error @+1 {{'var.batch_norm_frozen_grad' op weight element type 'f16' differs from input's 'bf16'}}
  %0:3 = var.batch_norm_frozen_grad %x, %x, %p, %p, %p : tensor<?x8x4x4xbf16>, tensor<8xf16>
  return
}

// -----

// An f32 weight under an f32 input is fine; a bf16 one is not.
func.func @bn_frozen_grad_bf16_weight(%x: tensor<?x8x4x4xf32>, %p: tensor<8xbf16>) {
  // expected-error @+1 {{'var.batch_norm_frozen_grad' op weight element type 'bf16' differs from input's 'f32'}}
  %0:3 = var.batch_norm_frozen_grad %x, %x, %p, %p, %p : tensor<?x8x4x4xf32>, tensor<8xbf16>
  return
}

// -----

func.func @bn_frozen_grad_eps(%x: tensor<?x8x4x4xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm_frozen_grad' op eps must be positive, got -1.000000e-05}}
  %0:3 = var.batch_norm_frozen_grad %x, %x, %p, %p, %p eps -1.0e-5 : tensor<?x8x4x4xf32>, tensor<8xf32>
  return
}

// -----

// The running statistics have the weight's type (generic form: the custom
// one takes them from the weight's).
func.func @bn_frozen_grad_stat_type(%x: tensor<2x8xbf16>, %w: tensor<8xf32>, %v: tensor<8xbf16>) {
  // expected-error @+1 {{'var.batch_norm_frozen_grad' op failed to verify that all of {weight, running_mean, running_var} have same type}}
  %0:3 = "var.batch_norm_frozen_grad"(%x, %x, %w, %w, %v) : (tensor<2x8xbf16>, tensor<2x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xbf16>) -> (tensor<2x8xbf16>, tensor<8xf32>, tensor<8xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.linear_grad_input, var.linear_grad_weight
//===----------------------------------------------------------------------===//

func.func @linear_grad_input_scalar(%g: tensor<f32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{'var.linear_grad_input' op grad must have at least one dimension}}
  %0 = var.linear_grad_input %g, %w : tensor<f32>, tensor<4x8xf32>
  return
}

// -----

func.func @linear_grad_input_weight_rank(%g: tensor<2x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'var.linear_grad_input' op weight must be a static, non-empty matrix, got 'tensor<4xf32>'}}
  %0 = var.linear_grad_input %g, %w : tensor<2x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @linear_grad_input_weight_dynamic(%g: tensor<2x4xf32>, %w: tensor<4x?xf32>) {
  // expected-error @+1 {{'var.linear_grad_input' op weight must be a static, non-empty matrix, got 'tensor<4x?xf32>'}}
  %0 = var.linear_grad_input %g, %w : tensor<2x4xf32>, tensor<4x?xf32>
  return
}

// -----

func.func @linear_grad_input_element_type(%g: tensor<2x4xf32>, %w: tensor<4x8xbf16>) {
  // expected-error @+1 {{'var.linear_grad_input' op weight element type 'bf16' differs from grad's 'f32'}}
  %0 = var.linear_grad_input %g, %w : tensor<2x4xf32>, tensor<4x8xbf16>
  return
}

// -----

func.func @linear_grad_input_features(%g: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{'var.linear_grad_input' op grad has 8 features but the weight (out, in) = (4, 8) produces 4}}
  %0 = var.linear_grad_input %g, %w : tensor<2x8xf32>, tensor<4x8xf32>
  return
}

// -----

func.func @linear_grad_weight_scalar(%x: tensor<f32>, %g: tensor<f32>) {
  // expected-error @+1 {{'var.linear_grad_weight' op input must have at least one dimension}}
  %0 = var.linear_grad_weight %x, %g : tensor<f32>, tensor<f32>
  return
}

// -----

func.func @linear_grad_weight_rank(%x: tensor<2x3x8xf32>, %g: tensor<6x4xf32>) {
  // expected-error @+1 {{'var.linear_grad_weight' op grad rank 2 differs from input rank 3 (both are (..., features) over the same rows)}}
  %0 = var.linear_grad_weight %x, %g : tensor<2x3x8xf32>, tensor<6x4xf32>
  return
}

// -----

func.func @linear_grad_weight_rows(%x: tensor<2x3x8xf32>, %g: tensor<?x5x4xf32>) {
  // expected-error @+1 {{'var.linear_grad_weight' op grad has size 5 in dimension 1 where input has 3}}
  %0 = var.linear_grad_weight %x, %g : tensor<2x3x8xf32>, tensor<?x5x4xf32>
  return
}

// -----

func.func @linear_grad_weight_element_type(%x: tensor<2x8xf32>, %g: tensor<2x4xbf16>) {
  // expected-error @+1 {{'var.linear_grad_weight' op grad element type 'bf16' differs from input's 'f32'}}
  %0 = var.linear_grad_weight %x, %g : tensor<2x8xf32>, tensor<2x4xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.lstm_grad: var.lstm's rule, and result gradients of its result types
//===----------------------------------------------------------------------===//

func.func @lstm_grad_w_hh(%x: tensor<2x6x8xf32>, %wi: tensor<64x8xf32>, %wh: tensor<64x8xf32>,
                          %b: tensor<64xf32>, %ds: tensor<2x6x16xf32>, %dl: tensor<2x16xf32>) {
  // expected-error @+1 {{'var.lstm_grad' op w_hh must be (64, 16) for hidden size 16, got (64x8)}}
  %0:5 = var.lstm_grad %x, %wi, %wh, %b, %b, %ds, %dl : tensor<2x6x8xf32>, tensor<64x8xf32>, tensor<64x8xf32>, tensor<64xf32>, tensor<64xf32>, tensor<2x6x16xf32>, tensor<2x16xf32>
  return
}

// -----

func.func @lstm_grad_sequence(%x: tensor<2x6x8xf32>, %wi: tensor<64x8xf32>, %wh: tensor<64x16xf32>,
                              %b: tensor<64xf32>, %ds: tensor<2x5x16xf32>, %dl: tensor<2x16xf32>) {
  // expected-error @+1 {{'var.lstm_grad' op sequence_grad type 'tensor<2x5x16xf32>' does not match the LSTM's sequence type 'tensor<2x6x16xf32>'}}
  %0:5 = var.lstm_grad %x, %wi, %wh, %b, %b, %ds, %dl : tensor<2x6x8xf32>, tensor<64x8xf32>, tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>, tensor<2x5x16xf32>, tensor<2x16xf32>
  return
}

// -----

func.func @lstm_grad_sequence_element_type(%x: tensor<?x6x8xf32>, %wi: tensor<64x8xf32>, %wh: tensor<64x16xf32>,
                                           %b: tensor<64xf32>, %ds: tensor<?x6x16xbf16>, %dl: tensor<?x16xf32>) {
  // expected-error @+1 {{'var.lstm_grad' op sequence_grad type 'tensor<?x6x16xbf16>' does not match the LSTM's sequence type 'tensor<?x6x16xf32>'}}
  %0:5 = var.lstm_grad %x, %wi, %wh, %b, %b, %ds, %dl : tensor<?x6x8xf32>, tensor<64x8xf32>, tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>, tensor<?x6x16xbf16>, tensor<?x16xf32>
  return
}

// -----

func.func @lstm_grad_last(%x: tensor<?x6x8xf32>, %wi: tensor<64x8xf32>, %wh: tensor<64x16xf32>,
                          %b: tensor<64xf32>, %ds: tensor<?x6x16xf32>, %dl: tensor<?x6x16xf32>) {
  // expected-error @+1 {{'var.lstm_grad' op last_grad type 'tensor<?x6x16xf32>' does not match the LSTM's last-step type 'tensor<?x16xf32>'}}
  %0:5 = var.lstm_grad %x, %wi, %wh, %b, %b, %ds, %dl : tensor<?x6x8xf32>, tensor<64x8xf32>, tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>, tensor<?x6x16xf32>, tensor<?x6x16xf32>
  return
}

// -----

func.func @lstm_grad_unranked_last(%x: tensor<?x6x8xf32>, %wi: tensor<64x8xf32>, %wh: tensor<64x16xf32>,
                                   %b: tensor<64xf32>, %ds: tensor<?x6x16xf32>, %dl: tensor<*xf32>) {
  // expected-error @+1 {{'var.lstm_grad' op last_grad must be a ranked tensor, got 'tensor<*xf32>'}}
  %0:5 = var.lstm_grad %x, %wi, %wh, %b, %b, %ds, %dl : tensor<?x6x8xf32>, tensor<64x8xf32>, tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>, tensor<?x6x16xf32>, tensor<*xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Activation gradients
//===----------------------------------------------------------------------===//

// The generic form can state a result type; it must be the value's.
func.func @silu_grad_result(%v: tensor<4xf32>) {
  // expected-error @+2 {{'var.silu_grad' op inferred type(s) 'tensor<4xf32>' are incompatible with return type(s) of operation 'tensor<4xbf16>'}}
  // expected-error @+1 {{'var.silu_grad' op failed to infer returned types}}
  %0 = "var.silu_grad"(%v, %v) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.reduce_sum
//===----------------------------------------------------------------------===//

func.func @reduce_sum_no_dims(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{'var.reduce_sum' op dims must name at least one dimension}}
  %0 = var.reduce_sum %x dims [] : tensor<2x4xf32>
  return
}

// -----

func.func @reduce_sum_dim_range(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{'var.reduce_sum' op dimension 2 is out of range for rank 2}}
  %0 = var.reduce_sum %x dims [0, 2] : tensor<2x4xf32>
  return
}

// -----

func.func @reduce_sum_dim_negative(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{'var.reduce_sum' op dimension -1 is out of range for rank 2}}
  %0 = var.reduce_sum %x dims [-1] : tensor<2x4xf32>
  return
}

// -----

func.func @reduce_sum_repeated(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{'var.reduce_sum' op dims must be strictly increasing, got [1, 1]}}
  %0 = var.reduce_sum %x dims [1, 1] : tensor<2x4xf32>
  return
}

// -----

func.func @reduce_sum_decreasing(%x: tensor<2x4x3xf32>) {
  // expected-error @+1 {{'var.reduce_sum' op dims must be strictly increasing, got [2, 0]}}
  %0 = var.reduce_sum %x dims [2, 0] keep_dims : tensor<2x4x3xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.slice
//===----------------------------------------------------------------------===//

func.func @slice_axis(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{'var.slice' op axis 2 is out of range for rank 2}}
  %0 = var.slice %x axis 2 offset 0 size 1 : tensor<2x4xf32>
  return
}

// -----

func.func @slice_axis_negative(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{'var.slice' op axis -3 is out of range for rank 2}}
  %0 = var.slice %x axis -3 offset 0 size 1 : tensor<2x4xf32>
  return
}

// -----

func.func @slice_offset(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{'var.slice' op offset must be non-negative, got -1}}
  %0 = var.slice %x axis 1 offset -1 size 1 : tensor<2x4xf32>
  return
}

// -----

func.func @slice_size(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{'var.slice' op size must be at least 1, got 0}}
  %0 = var.slice %x axis 1 offset 0 size 0 : tensor<2x4xf32>
  return
}

// -----

func.func @slice_past_end(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{'var.slice' op offset 2 + size 3 exceeds dimension 1 of size 4}}
  %0 = var.slice %x axis -1 offset 2 size 3 : tensor<2x4xf32>
  return
}

// -----

// offset + size overflows int64: rejected, not wrapped around.
func.func @slice_overflow(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{'var.slice' op offset 9223372036854775807 + size 1 exceeds dimension 1 of size 4}}
  %0 = var.slice %x axis 1 offset 9223372036854775807 size 1 : tensor<2x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.mean_time_grad
//===----------------------------------------------------------------------===//

func.func @mean_time_grad_scalar(%g: tensor<f32>) {
  // expected-error @+1 {{'var.mean_time_grad' op grad must be (B, ...), got rank 0}}
  %0 = var.mean_time_grad %g frames 4 : tensor<f32>
  return
}

// -----

func.func @mean_time_grad_frames(%g: tensor<2x8xf32>) {
  // expected-error @+1 {{'var.mean_time_grad' op frames must be at least 1, got 0}}
  %0 = var.mean_time_grad %g frames 0 : tensor<2x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.softmax_cross_entropy_grad: var.softmax_cross_entropy's rule
//===----------------------------------------------------------------------===//

func.func @sce_grad_logits_rank(%x: tensor<2x3x4xf32>, %l: tensor<2xi64>, %d: tensor<f32>) {
  // expected-error @+1 {{'var.softmax_cross_entropy_grad' op logits must be (N, classes), got rank 3}}
  %0 = var.softmax_cross_entropy_grad %x, %l, %d : tensor<2x3x4xf32>, tensor<2xi64>
  return
}

// -----

func.func @sce_grad_batch(%x: tensor<2x10xf32>, %l: tensor<3xi64>, %d: tensor<f32>) {
  // expected-error @+1 {{'var.softmax_cross_entropy_grad' op batch of logits (2) and labels (3) differ}}
  %0 = var.softmax_cross_entropy_grad %x, %l, %d : tensor<2x10xf32>, tensor<3xi64>
  return
}

// -----

func.func @sce_grad_float_labels(%x: tensor<2x10xf32>, %l: tensor<2xf32>, %d: tensor<f32>) {
  // expected-error @+1 {{'var.softmax_cross_entropy_grad' op labels must be integer class indices, got 'f32'}}
  %0 = var.softmax_cross_entropy_grad %x, %l, %d : tensor<2x10xf32>, tensor<2xf32>
  return
}

// -----

func.func @sce_grad_smoothing(%x: tensor<2x10xf32>, %l: tensor<2xi64>, %d: tensor<f32>) {
  // expected-error @+1 {{'var.softmax_cross_entropy_grad' op label_smoothing must be in [0, 1), got 1.000000e+00}}
  %0 = var.softmax_cross_entropy_grad %x, %l, %d label_smoothing 1.0 : tensor<2x10xf32>, tensor<2xi64>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.batch_norm_train_max_pool: var.batch_norm_train's rule, then
// var.max_pool_with_indices' on the normalized result
//===----------------------------------------------------------------------===//

func.func @bn_pool_weight_size(%x: tensor<2x8x4x4xf32>, %p: tensor<8xf32>, %q: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_train_max_pool' op weight must be (8), got (4)}}
  %0:6 = var.batch_norm_train_max_pool %x, %q, %p, %p, %p kernel [2, 2] : tensor<2x8x4x4xf32>, tensor<4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_pool_channels_last_weight(%x: tensor<2x4x4x8xf32>, %p: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_train_max_pool' op weight must be (8), got (4)}}
  %0:6 = var.batch_norm_train_max_pool %x, %p, %p, %p, %p kernel [2, 2] channels_last : tensor<2x4x4x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @bn_pool_momentum(%x: tensor<2x8x4x4xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm_train_max_pool' op momentum must be in [0, 1], got 1.500000e+00}}
  %0:6 = var.batch_norm_train_max_pool %x, %p, %p, %p, %p momentum 1.5 kernel [2, 2] : tensor<2x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_pool_activation(%x: tensor<2x8x4x4xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm_train_max_pool' op activation must be "relu", "relu6" or "silu", got "tanh"}}
  %0:6 = var.batch_norm_train_max_pool %x, %p, %p, %p, %p activation "tanh" kernel [2, 2] : tensor<2x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

// A batch norm takes (N, C); a pool needs spatial dimensions.
func.func @bn_pool_no_spatial(%x: tensor<4x8xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm_train_max_pool' op}}
  %0:6 = var.batch_norm_train_max_pool %x, %p, %p, %p, %p kernel [2] : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_pool_window(%x: tensor<1x4x16x16xf32>, %p: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_train_max_pool' op window [16, 8] has more than 127 positions, which i8 indices cannot name}}
  %0:6 = var.batch_norm_train_max_pool %x, %p, %p, %p, %p kernel [16, 8] : tensor<1x4x16x16xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @bn_pool_kernel_rank(%x: tensor<1x4x8x8xf32>, %p: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_train_max_pool' op 'kernel' has 3 entries but the input has 2 spatial dimensions}}
  %0:6 = var.batch_norm_train_max_pool %x, %p, %p, %p, %p kernel [2, 2, 2] : tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @bn_pool_padding(%x: tensor<1x4x8x8xf32>, %p: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_train_max_pool' op padding 2 must be at most half the kernel 2}}
  %0:6 = var.batch_norm_train_max_pool %x, %p, %p, %p, %p kernel [2, 2] padding [2, 2] : tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @bn_pool_index_type(%x: tensor<1x4x8x8xf32>, %p: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_train_max_pool' op result #1 must be ranked tensor of 8-bit signless integer values, but got 'tensor<1x4x4x4xi32>'}}
  %0:6 = "var.batch_norm_train_max_pool"(%x, %p, %p, %p, %p) <{kernel = array<i64: 2, 2>}> : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<1x4x4x4xf32>, tensor<1x4x4x4xi32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @bn_pool_output_shape(%x: tensor<1x4x8x8xf32>, %p: tensor<4xf32>) {
  // expected-error @+2 {{'var.batch_norm_train_max_pool' op inferred type(s) 'tensor<1x4x4x4xf32>', 'tensor<1x4x4x4xi8>', 'tensor<4xf32>', 'tensor<4xf32>', 'tensor<4xf32>', 'tensor<4xf32>' are incompatible with return type(s) of operation 'tensor<1x4x8x8xf32>', 'tensor<1x4x4x4xi8>', 'tensor<4xf32>', 'tensor<4xf32>', 'tensor<4xf32>', 'tensor<4xf32>'}}
  // expected-error @+1 {{'var.batch_norm_train_max_pool' op failed to infer returned types}}
  %0:6 = "var.batch_norm_train_max_pool"(%x, %p, %p, %p, %p) <{kernel = array<i64: 2, 2>}> : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<1x4x8x8xf32>, tensor<1x4x4x4xi8>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.batch_norm_grad_max_pool: var.batch_norm_grad's rules, the indexed
// pool backward's, windows that tile the input, channels-last
//===----------------------------------------------------------------------===//

func.func @batch_norm_grad_max_pool_layout(%x: tensor<2x4x8x8xf32>, %i: tensor<2x4x4x4xi8>, %g: tensor<2x4x4x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_grad_max_pool' op computes channels-last tensors only}}
  %0:3 = var.batch_norm_grad_max_pool %x, %i, %g, %w, %w, %w kernel [2, 2] : tensor<2x4x8x8xf32>, tensor<2x4x4x4xi8>, tensor<2x4x4x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @batch_norm_grad_max_pool_overlap(%x: tensor<2x8x8x4xf32>, %i: tensor<2x3x3x4xi8>, %g: tensor<2x3x3x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_grad_max_pool' op windows must tile the input (stride equal to the kernel [3, 3], no padding)}}
  %0:3 = var.batch_norm_grad_max_pool %x, %i, %g, %w, %w, %w kernel [3, 3] stride [2, 2] channels_last : tensor<2x8x8x4xf32>, tensor<2x3x3x4xi8>, tensor<2x3x3x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @batch_norm_grad_max_pool_padding(%x: tensor<2x8x8x4xf32>, %i: tensor<2x5x5x4xi8>, %g: tensor<2x5x5x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_grad_max_pool' op windows must tile the input (stride equal to the kernel [2, 2], no padding)}}
  %0:3 = var.batch_norm_grad_max_pool %x, %i, %g, %w, %w, %w kernel [2, 2] padding [1, 1] channels_last : tensor<2x8x8x4xf32>, tensor<2x5x5x4xi8>, tensor<2x5x5x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @batch_norm_grad_max_pool_index_shape(%x: tensor<2x8x8x4xf32>, %i: tensor<2x4x4x2xi8>, %g: tensor<2x4x4x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_grad_max_pool' op indices type 'tensor<2x4x4x2xi8>' does not have the shape of grad type 'tensor<2x4x4x4xf32>'}}
  %0:3 = var.batch_norm_grad_max_pool %x, %i, %g, %w, %w, %w kernel [2, 2] channels_last : tensor<2x8x8x4xf32>, tensor<2x4x4x2xi8>, tensor<2x4x4x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @batch_norm_grad_max_pool_window(%x: tensor<1x8x16x4xf32>, %i: tensor<1x1x1x4xi8>, %g: tensor<1x1x1x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_grad_max_pool' op window [8, 16] has more than 127 positions, which i8 indices cannot name}}
  %0:3 = var.batch_norm_grad_max_pool %x, %i, %g, %w, %w, %w kernel [8, 16] channels_last : tensor<1x8x16x4xf32>, tensor<1x1x1x4xi8>, tensor<1x1x1x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @batch_norm_grad_max_pool_size(%x: tensor<2x8x8x4xf32>, %i: tensor<2x3x4x4xi8>, %g: tensor<2x3x4x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_grad_max_pool' op input type 'tensor<2x8x8x4xf32>' does not pool to grad type 'tensor<2x3x4x4xf32>': the max pool gives 'tensor<2x4x4x4xf32>'}}
  %0:3 = var.batch_norm_grad_max_pool %x, %i, %g, %w, %w, %w kernel [2, 2] channels_last : tensor<2x8x8x4xf32>, tensor<2x3x4x4xi8>, tensor<2x3x4x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @batch_norm_grad_max_pool_grad_type(%x: tensor<2x8x8x4xbf16>, %i: tensor<2x4x4x4xi8>, %g: tensor<2x4x4x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_grad_max_pool' op input type 'tensor<2x8x8x4xbf16>' does not pool to grad type 'tensor<2x4x4x4xf32>': the max pool gives 'tensor<2x4x4x4xbf16>'}}
  %0:3 = var.batch_norm_grad_max_pool %x, %i, %g, %w, %w, %w kernel [2, 2] channels_last : tensor<2x8x8x4xbf16>, tensor<2x4x4x4xi8>, tensor<2x4x4x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @batch_norm_grad_max_pool_activation(%x: tensor<2x8x8x4xf32>, %i: tensor<2x4x4x4xi8>, %g: tensor<2x4x4x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_grad_max_pool' op activation must be "relu", "relu6" or "silu", got "gelu"}}
  %0:3 = var.batch_norm_grad_max_pool %x, %i, %g, %w, %w, %w kernel [2, 2] channels_last activation "gelu"(%w) : tensor<2x8x8x4xf32>, tensor<2x4x4x4xi8>, tensor<2x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.batch_norm_apply: var.batch_norm_train's rule, the saved statistics
// in place of the running ones
//===----------------------------------------------------------------------===//

func.func @bn_apply_input_rank(%x: tensor<8xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm_apply' op input must be (N, C, ...), got rank 1}}
  %0 = var.batch_norm_apply %x, %p, %p, %p, %p : tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_apply_weight_size(%x: tensor<2x8x4x4xf32>, %q: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_apply' op weight must be (8), got (4)}}
  %0 = var.batch_norm_apply %x, %q, %q, %q, %q : tensor<2x8x4x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @bn_apply_channels_last(%x: tensor<2x4x4x8xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm_apply' op weight must be (4), got (8)}}
  %0 = var.batch_norm_apply %x, %p, %p, %p, %p : tensor<2x4x4x8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_apply_element_type(%x: tensor<2x8x4x4xf32>, %p: tensor<8xbf16>) {
  // expected-error @+1 {{'var.batch_norm_apply' op weight element type 'bf16' differs from input's 'f32'}}
  %0 = var.batch_norm_apply %x, %p, %p, %p, %p : tensor<2x8x4x4xf32>, tensor<8xbf16>
  return
}

// -----

func.func @bn_apply_saved_mean_type(%x: tensor<2x8x4x4xbf16>, %p: tensor<8xf32>, %q: tensor<8xbf16>) {
  // expected-error @+1 {{'var.batch_norm_apply' op failed to verify that all of {weight, bias, saved_mean, saved_invstd} have same type}}
  %0 = "var.batch_norm_apply"(%x, %p, %p, %q, %p) : (tensor<2x8x4x4xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xbf16>, tensor<8xf32>) -> tensor<2x8x4x4xbf16>
  return
}

// -----

func.func @bn_apply_activation(%x: tensor<2x8x4x4xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm_apply' op activation must be "relu", "relu6" or "silu", got "gelu"}}
  %0 = var.batch_norm_apply %x, %p, %p, %p, %p activation "gelu" : tensor<2x8x4x4xf32>, tensor<8xf32>
  return
}
