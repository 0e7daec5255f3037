// Diagnostics of var.batch_norm, var.linear and var.lstm (NormLinearOps.cpp).
// RUN: var-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// var.batch_norm
//===----------------------------------------------------------------------===//

func.func @bn_unranked_input(%x: tensor<*xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm' op input must be a ranked tensor, got 'tensor<*xf32>'}}
  %0 = var.batch_norm %x, %p, %p, %p, %p : tensor<*xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_input_rank(%x: tensor<8xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm' op input must be (N, C, ...), got rank 1}}
  %0 = var.batch_norm %x, %p, %p, %p, %p : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_weight_size(%x: tensor<?x8x4x4xf32>, %p: tensor<8xf32>, %q: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm' op weight must be (8), got (4)}}
  %0 = var.batch_norm %x, %q, %p, %p, %p : tensor<?x8x4x4xf32>, tensor<4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_bias_rank(%x: tensor<?x8x4x4xf32>, %p: tensor<8xf32>, %q: tensor<1x8xf32>) {
  // expected-error @+1 {{'var.batch_norm' op bias must be (8), got (1x8)}}
  %0 = var.batch_norm %x, %p, %q, %p, %p : tensor<?x8x4x4xf32>, tensor<8xf32>, tensor<1x8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_running_mean_element_type(%x: tensor<?x8x4x4xbf16>, %p: tensor<8xbf16>, %q: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm' op running_mean element type 'f32' differs from input's 'bf16'}}
  %0 = var.batch_norm %x, %p, %p, %q, %p : tensor<?x8x4x4xbf16>, tensor<8xbf16>, tensor<8xbf16>, tensor<8xf32>, tensor<8xbf16>
  return
}

// -----

func.func @bn_running_var_unranked(%x: tensor<?x8x4x4xf32>, %p: tensor<8xf32>, %q: tensor<*xf32>) {
  // expected-error @+1 {{'var.batch_norm' op running_var must be a ranked tensor, got 'tensor<*xf32>'}}
  %0 = var.batch_norm %x, %p, %p, %p, %q : tensor<?x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<*xf32>
  return
}

// -----

// A dynamic parameter length is accepted, a scalar is not.
func.func @bn_running_var_scalar(%x: tensor<?x8x4x4xf32>, %p: tensor<?xf32>, %q: tensor<f32>) {
  // expected-error @+1 {{'var.batch_norm' op running_var must be (8), got ()}}
  %0 = var.batch_norm %x, %p, %p, %p, %q : tensor<?x8x4x4xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<f32>
  return
}

// -----

// With a dynamic channel count the expected length prints as '?'.
func.func @bn_dynamic_channels(%x: tensor<2x?x4xf32>, %p: tensor<8x1xf32>) {
  // expected-error @+1 {{'var.batch_norm' op weight must be (?), got (8x1)}}
  %0 = var.batch_norm %x, %p, %p, %p, %p : tensor<2x?x4xf32>, tensor<8x1xf32>, tensor<8x1xf32>, tensor<8x1xf32>, tensor<8x1xf32>
  return
}

// -----

func.func @bn_eps_zero(%x: tensor<?x8xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm' op eps must be positive, got 0.000000e+00}}
  %0 = var.batch_norm %x, %p, %p, %p, %p eps 0.0 : tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_eps_negative(%x: tensor<?x8xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm' op eps must be positive, got -1.000000e-05}}
  %0 = var.batch_norm %x, %p, %p, %p, %p eps -1.0e-5 : tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_eps_nan(%x: tensor<?x8xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm' op eps must be positive, got nan}}
  %0 = var.batch_norm %x, %p, %p, %p, %p eps 0x7FF8000000000000 : tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_momentum_above_one(%x: tensor<?x8xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm' op momentum must be in [0, 1], got 1.500000e+00}}
  %0 = var.batch_norm %x, %p, %p, %p, %p momentum 1.5 : tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_momentum_negative(%x: tensor<?x8xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'var.batch_norm' op momentum must be in [0, 1], got -1.000000e-01}}
  %0 = var.batch_norm %x, %p, %p, %p, %p eps 1.0e-3 momentum -0.1 : tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_i32(%x: tensor<?x8xi32>, %p: tensor<8xi32>) {
  // expected-error @+1 {{'var.batch_norm' op operand #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<?x8xi32>'}}
  %0 = var.batch_norm %x, %p, %p, %p, %p : tensor<?x8xi32>, tensor<8xi32>, tensor<8xi32>, tensor<8xi32>, tensor<8xi32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.linear
//===----------------------------------------------------------------------===//

func.func @linear_unranked_input(%x: tensor<*xf32>, %w: tensor<10x128xf32>) {
  // expected-error @+1 {{'var.linear' op input must be a ranked tensor, got 'tensor<*xf32>'}}
  %0 = var.linear %x, %w : tensor<*xf32>, tensor<10x128xf32>
  return
}

// -----

func.func @linear_scalar_input(%x: tensor<f32>, %w: tensor<10x128xf32>) {
  // expected-error @+1 {{'var.linear' op input must have at least one dimension}}
  %0 = var.linear %x, %w : tensor<f32>, tensor<10x128xf32>
  return
}

// -----

func.func @linear_unranked_weight(%x: tensor<?x128xf32>, %w: tensor<*xf32>) {
  // expected-error @+1 {{'var.linear' op weight must be a ranked tensor, got 'tensor<*xf32>'}}
  %0 = var.linear %x, %w : tensor<?x128xf32>, tensor<*xf32>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<?x128xf32>, %w: tensor<10x128x1xf32>) {
  // expected-error @+1 {{'var.linear' op weight must be a static, non-empty matrix, got 'tensor<10x128x1xf32>'}}
  %0 = var.linear %x, %w : tensor<?x128xf32>, tensor<10x128x1xf32>
  return
}

// -----

func.func @linear_weight_dynamic(%x: tensor<?x128xf32>, %w: tensor<?x128xf32>) {
  // expected-error @+1 {{'var.linear' op weight must be a static, non-empty matrix, got 'tensor<?x128xf32>'}}
  %0 = var.linear %x, %w : tensor<?x128xf32>, tensor<?x128xf32>
  return
}

// -----

func.func @linear_weight_empty(%x: tensor<?x0xf32>, %w: tensor<10x0xf32>) {
  // expected-error @+1 {{'var.linear' op weight must be a static, non-empty matrix, got 'tensor<10x0xf32>'}}
  %0 = var.linear %x, %w : tensor<?x0xf32>, tensor<10x0xf32>
  return
}

// -----

func.func @linear_weight_element_type(%x: tensor<?x128xf32>, %w: tensor<10x128xf16>) {
  // expected-error @+1 {{'var.linear' op weight element type 'f16' differs from input's 'f32'}}
  %0 = var.linear %x, %w : tensor<?x128xf32>, tensor<10x128xf16>
  return
}

// -----

func.func @linear_features(%x: tensor<?x64xf32>, %w: tensor<10x128xf32>) {
  // expected-error @+1 {{'var.linear' op input has 64 features but the weight (out, in) = (10, 128) expects 128}}
  %0 = var.linear %x, %w : tensor<?x64xf32>, tensor<10x128xf32>
  return
}

// -----

// A weight stored as (in, out) instead of PyTorch's (out, in).
func.func @linear_transposed_weight(%x: tensor<?x128xf32>, %w: tensor<128x10xf32>) {
  // expected-error @+1 {{'var.linear' op input has 128 features but the weight (out, in) = (128, 10) expects 10}}
  %0 = var.linear %x, %w : tensor<?x128xf32>, tensor<128x10xf32>
  return
}

// -----

func.func @linear_bias_size(%x: tensor<?x128xf32>, %w: tensor<10x128xf32>, %b: tensor<128xf32>) {
  // expected-error @+1 {{'var.linear' op bias must be (10), got (128)}}
  %0 = var.linear %x, %w, %b : tensor<?x128xf32>, tensor<10x128xf32>, tensor<128xf32>
  return
}

// -----

func.func @linear_bias_unranked(%x: tensor<?x128xf32>, %w: tensor<10x128xf32>, %b: tensor<*xf32>) {
  // expected-error @+1 {{'var.linear' op bias must be a ranked tensor, got 'tensor<*xf32>'}}
  %0 = var.linear %x, %w, %b : tensor<?x128xf32>, tensor<10x128xf32>, tensor<*xf32>
  return
}

// -----

func.func @linear_bias_element_type(%x: tensor<?x128xbf16>, %w: tensor<10x128xbf16>, %b: tensor<10xf16>) {
  // expected-error @+1 {{'var.linear' op bias element type 'f16' differs from input's 'bf16'}}
  %0 = var.linear %x, %w, %b : tensor<?x128xbf16>, tensor<10x128xbf16>, tensor<10xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.lstm
//===----------------------------------------------------------------------===//

func.func @lstm_unranked_input(%x: tensor<*xf32>, %wih: tensor<16x3xf32>, %whh: tensor<16x4xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{'var.lstm' op input must be a ranked tensor, got 'tensor<*xf32>'}}
  %0:2 = var.lstm %x, %wih, %whh, %b, %b : tensor<*xf32>, tensor<16x3xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf32>
  return
}

// -----

func.func @lstm_input_rank(%x: tensor<2x3xf32>, %wih: tensor<16x3xf32>, %whh: tensor<16x4xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{'var.lstm' op input must be (B, T, I), got rank 2}}
  %0:2 = var.lstm %x, %wih, %whh, %b, %b : tensor<2x3xf32>, tensor<16x3xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf32>
  return
}

// -----

func.func @lstm_w_ih_dynamic(%x: tensor<2x5x3xf32>, %wih: tensor<16x?xf32>, %whh: tensor<16x4xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{'var.lstm' op w_ih must be a static, non-empty matrix, got 'tensor<16x?xf32>'}}
  %0:2 = var.lstm %x, %wih, %whh, %b, %b : tensor<2x5x3xf32>, tensor<16x?xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf32>
  return
}

// -----

func.func @lstm_w_hh_element_type(%x: tensor<2x5x3xf32>, %wih: tensor<16x3xf32>, %whh: tensor<16x4xbf16>, %b: tensor<16xf32>) {
  // expected-error @+1 {{'var.lstm' op w_hh element type 'bf16' differs from input's 'f32'}}
  %0:2 = var.lstm %x, %wih, %whh, %b, %b : tensor<2x5x3xf32>, tensor<16x3xf32>, tensor<16x4xbf16>, tensor<16xf32>, tensor<16xf32>
  return
}

// -----

// Both weights are checked before failing: two diagnostics.
func.func @lstm_both_weights(%x: tensor<2x5x3xf32>, %wih: tensor<16xf32>, %whh: tensor<*xf32>, %b: tensor<16xf32>) {
  // expected-error @+2 {{'var.lstm' op w_ih must be a static, non-empty matrix, got 'tensor<16xf32>'}}
  // expected-error @+1 {{'var.lstm' op w_hh must be a ranked tensor, got 'tensor<*xf32>'}}
  %0:2 = var.lstm %x, %wih, %whh, %b, %b : tensor<2x5x3xf32>, tensor<16xf32>, tensor<*xf32>, tensor<16xf32>, tensor<16xf32>
  return
}

// -----

func.func @lstm_gates(%x: tensor<2x5x3xf32>, %wih: tensor<18x3xf32>, %whh: tensor<18x4xf32>, %b: tensor<18xf32>) {
  // expected-error @+1 {{'var.lstm' op w_ih must be (4 * hidden, input), but 18 rows are not a multiple of 4}}
  %0:2 = var.lstm %x, %wih, %whh, %b, %b : tensor<2x5x3xf32>, tensor<18x3xf32>, tensor<18x4xf32>, tensor<18xf32>, tensor<18xf32>
  return
}

// -----

func.func @lstm_features(%x: tensor<2x5x6xf32>, %wih: tensor<16x3xf32>, %whh: tensor<16x4xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{'var.lstm' op input has 6 features but w_ih expects 3}}
  %0:2 = var.lstm %x, %wih, %whh, %b, %b : tensor<2x5x6xf32>, tensor<16x3xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf32>
  return
}

// -----

func.func @lstm_w_hh_columns(%x: tensor<2x5x3xf32>, %wih: tensor<16x3xf32>, %whh: tensor<16x16xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{'var.lstm' op w_hh must be (16, 4) for hidden size 4, got (16x16)}}
  %0:2 = var.lstm %x, %wih, %whh, %b, %b : tensor<2x5x3xf32>, tensor<16x3xf32>, tensor<16x16xf32>, tensor<16xf32>, tensor<16xf32>
  return
}

// -----

func.func @lstm_w_hh_rows(%x: tensor<2x5x3xf32>, %wih: tensor<16x3xf32>, %whh: tensor<4x4xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{'var.lstm' op w_hh must be (16, 4) for hidden size 4, got (4x4)}}
  %0:2 = var.lstm %x, %wih, %whh, %b, %b : tensor<2x5x3xf32>, tensor<16x3xf32>, tensor<4x4xf32>, tensor<16xf32>, tensor<16xf32>
  return
}

// -----

func.func @lstm_b_ih_size(%x: tensor<2x5x3xf32>, %wih: tensor<16x3xf32>, %whh: tensor<16x4xf32>, %b: tensor<16xf32>, %c: tensor<4xf32>) {
  // expected-error @+1 {{'var.lstm' op b_ih must be (16), got (4)}}
  %0:2 = var.lstm %x, %wih, %whh, %c, %b : tensor<2x5x3xf32>, tensor<16x3xf32>, tensor<16x4xf32>, tensor<4xf32>, tensor<16xf32>
  return
}

// -----

func.func @lstm_b_hh_element_type(%x: tensor<2x5x3xf32>, %wih: tensor<16x3xf32>, %whh: tensor<16x4xf32>, %b: tensor<16xf32>, %c: tensor<16xf16>) {
  // expected-error @+1 {{'var.lstm' op b_hh element type 'f16' differs from input's 'f32'}}
  %0:2 = var.lstm %x, %wih, %whh, %b, %c : tensor<2x5x3xf32>, tensor<16x3xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf16>
  return
}

// -----

func.func @lstm_b_hh_unranked(%x: tensor<2x5x3xf32>, %wih: tensor<16x3xf32>, %whh: tensor<16x4xf32>, %b: tensor<16xf32>, %c: tensor<*xf32>) {
  // expected-error @+1 {{'var.lstm' op b_hh must be a ranked tensor, got 'tensor<*xf32>'}}
  %0:2 = var.lstm %x, %wih, %whh, %b, %c : tensor<2x5x3xf32>, tensor<16x3xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<*xf32>
  return
}

// -----

// The generic form must state both inferred result types.
func.func @lstm_generic_wrong_result(%x: tensor<2x5x3xf32>, %wih: tensor<16x3xf32>, %whh: tensor<16x4xf32>, %b: tensor<16xf32>) {
  // expected-error @+2 {{'var.lstm' op inferred type(s) 'tensor<2x5x4xf32>', 'tensor<2x4xf32>' are incompatible with return type(s) of operation 'tensor<2x5x4xf32>', 'tensor<2x5x4xf32>'}}
  // expected-error @+1 {{'var.lstm' op failed to infer returned types}}
  %0:2 = "var.lstm"(%x, %wih, %whh, %b, %b) : (tensor<2x5x3xf32>, tensor<16x3xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<2x5x4xf32>, tensor<2x5x4xf32>)
  return
}
