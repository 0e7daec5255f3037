// Diagnostics of what mixed precision relies on: var.cast (its verifier and
// ODS constraints), var.get_param of a compute copy, and batch norm with f32
// parameters under a bf16 input.
// RUN: var-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// var.cast
//===----------------------------------------------------------------------===//

func.func @cast_shape(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'var.cast' op result shape (2x4) differs from input shape (2x3)}}
  %0 = var.cast %x : tensor<2x3xf32> to tensor<2x4xbf16>
  return
}

// -----

// A dynamic dimension stays dynamic: a cast does not specialize shapes.
func.func @cast_dynamic_to_static(%x: tensor<?x3xf32>) {
  // expected-error @+1 {{'var.cast' op result shape (2x3) differs from input shape (?x3)}}
  %0 = var.cast %x : tensor<?x3xf32> to tensor<2x3xbf16>
  return
}

// -----

func.func @cast_static_to_dynamic(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'var.cast' op result shape (?x3) differs from input shape (2x3)}}
  %0 = var.cast %x : tensor<2x3xf32> to tensor<?x3xbf16>
  return
}

// -----

func.func @cast_rank(%x: tensor<6xf32>) {
  // expected-error @+1 {{'var.cast' op result shape (2x3) differs from input shape (6)}}
  %0 = var.cast %x : tensor<6xf32> to tensor<2x3xbf16>
  return
}

// -----

func.func @cast_same_type(%x: tensor<2x3xbf16>) {
  // expected-error @+1 {{'var.cast' op input already has type 'tensor<2x3xbf16>'; a cast must change the element type}}
  %0 = var.cast %x : tensor<2x3xbf16> to tensor<2x3xbf16>
  return
}

// -----

func.func @cast_to_integer(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'var.cast' op result #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<2x3xi32>'}}
  %0 = var.cast %x : tensor<2x3xf32> to tensor<2x3xi32>
  return
}

// -----

func.func @cast_from_integer(%x: tensor<2x3xi32>) {
  // expected-error @+1 {{'var.cast' op operand #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<2x3xi32>'}}
  %0 = var.cast %x : tensor<2x3xi32> to tensor<2x3xf32>
  return
}

// -----

func.func @cast_to_f64(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'var.cast' op result #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<2x3xf64>'}}
  %0 = var.cast %x : tensor<2x3xf32> to tensor<2x3xf64>
  return
}

// -----

// Only the generic form can disagree with itself.
func.func @cast_to_differs_from_result(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'var.cast' op result element type 'bf16' differs from 'to' 'f16'}}
  %0 = "var.cast"(%x) <{to = f16}> : (tensor<2x3xf32>) -> tensor<2x3xbf16>
  return
}

// -----

func.func @cast_without_to(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'var.cast' op requires attribute 'to'}}
  %0 = "var.cast"(%x) : (tensor<2x3xf32>) -> tensor<2x3xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.get_param of a compute copy
//===----------------------------------------------------------------------===//

// The compute copy has the parameter's shape.
var.param @fc.weight : tensor<4x8xf32> init xavier_uniform

func.func @compute_copy_shape() {
  // expected-error @+1 {{'var.get_param' op type 'tensor<8x4xbf16>' does not match parameter @fc.weight of type 'tensor<4x8xf32>'}}
  %0 = var.get_param @fc.weight : tensor<8x4xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Batch norm under a bf16 input
//===----------------------------------------------------------------------===//

// With an f32 weight, the bias and the running statistics are f32 too.
func.func @bn_f32_weight_bf16_bias(%x: tensor<2x4x8x8xbf16>, %f: tensor<4xf32>, %h: tensor<4xbf16>) {
  // expected-error @+1 {{'var.batch_norm' op bias element type 'bf16' differs from weight's 'f32' (an f32 weight under a 'bf16' input needs f32 bias and statistics)}}
  %0 = var.batch_norm %x, %f, %h, %f, %f : tensor<2x4x8x8xbf16>, tensor<4xf32>, tensor<4xbf16>, tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @bn_f32_weight_bf16_running_var(%x: tensor<2x4x8x8xbf16>, %f: tensor<4xf32>, %h: tensor<4xbf16>) {
  // expected-error @+1 {{'var.batch_norm' op running_var element type 'bf16' differs from weight's 'f32' (an f32 weight under a 'bf16' input needs f32 bias and statistics)}}
  %0 = var.batch_norm %x, %f, %f, %f, %h : tensor<2x4x8x8xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xbf16>
  return
}

// -----

// The f32 statistics still have one entry per channel.
func.func @bn_f32_stats_size(%x: tensor<2x4x8x8xbf16>, %f: tensor<4xf32>, %g: tensor<5xf32>) {
  // expected-error @+1 {{'var.batch_norm' op running_mean must be (4), got (5)}}
  %0 = var.batch_norm %x, %f, %f, %g, %f : tensor<2x4x8x8xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<5xf32>, tensor<4xf32>
  return
}

// -----

// Only f32 parameters may differ from the input: f16 under bf16 may not.
func.func @bn_f16_weight_bf16_input(%x: tensor<2x4x8x8xbf16>, %h: tensor<4xf16>) {
  // expected-error @+1 {{'var.batch_norm' op weight element type 'f16' differs from input's 'bf16'}}
  %0 = var.batch_norm %x, %h, %h, %h, %h : tensor<2x4x8x8xbf16>, tensor<4xf16>, tensor<4xf16>, tensor<4xf16>, tensor<4xf16>
  return
}

// -----

// An f32 input normalizes with f32 parameters only.
func.func @bn_bf16_weight_f32_input(%x: tensor<2x4x8x8xf32>, %h: tensor<4xbf16>) {
  // expected-error @+1 {{'var.batch_norm' op weight element type 'bf16' differs from input's 'f32'}}
  %0 = var.batch_norm %x, %h, %h, %h, %h : tensor<2x4x8x8xf32>, tensor<4xbf16>, tensor<4xbf16>, tensor<4xbf16>, tensor<4xbf16>
  return
}

// -----

func.func @bn_train_f32_weight_bf16_running_mean(%x: tensor<2x4x8x8xbf16>, %f: tensor<4xf32>, %h: tensor<4xbf16>) {
  // expected-error @+1 {{'var.batch_norm_train' op running_mean element type 'bf16' differs from weight's 'f32' (an f32 weight under a 'bf16' input needs f32 bias and statistics)}}
  %0:5 = var.batch_norm_train %x, %f, %f, %h, %f : tensor<2x4x8x8xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xbf16>, tensor<4xf32>
  return
}

// -----

func.func @bn_grad_f16_weight_bf16_input(%x: tensor<2x4x8x8xbf16>, %h: tensor<4xf16>) {
  // expected-error @+1 {{'var.batch_norm_grad' op weight element type 'f16' differs from input's 'bf16'}}
  %0:3 = var.batch_norm_grad %x, %x, %h, %h, %h : tensor<2x4x8x8xbf16>, tensor<4xf16>
  return
}
