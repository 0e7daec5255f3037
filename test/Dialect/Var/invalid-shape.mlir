// Diagnostics of var.reshape, var.flatten, var.concat, var.transpose,
// var.fold_time, var.unfold_time and var.mean_time (ShapeOps.cpp).
// RUN: var-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// var.reshape
//===----------------------------------------------------------------------===//

func.func @reshape_two_inferred(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'var.reshape' op shape may have only one -1 entry}}
  %0 = var.reshape %x [-1, 2, -1] : tensor<2x3x4xf32>
  return
}

// -----

func.func @reshape_zero_entry(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'var.reshape' op shape entries must be positive or -1, got 0}}
  %0 = var.reshape %x [0, 24] : tensor<2x3x4xf32>
  return
}

// -----

func.func @reshape_negative_entry(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'var.reshape' op shape entries must be positive or -1, got -2}}
  %0 = var.reshape %x [-2, 12] : tensor<2x3x4xf32>
  return
}

// -----

func.func @reshape_shape_overflow(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'var.reshape' op shape has too many elements}}
  %0 = var.reshape %x [4294967296, 4294967296, -1] : tensor<2x3xf32>
  return
}

// -----

func.func @reshape_input_overflow(%x: tensor<4294967296x4294967296xf32>) {
  // expected-error @+1 {{'var.reshape' op input has too many elements}}
  %0 = var.reshape %x [-1] : tensor<4294967296x4294967296xf32>
  return
}

// -----

func.func @reshape_dynamic_without_inferred(%x: tensor<?x96xf32>) {
  // expected-error @+1 {{'var.reshape' op reshaping a tensor with a dynamic dimension needs a -1 entry}}
  %0 = var.reshape %x [4, 96] : tensor<?x96xf32>
  return
}

// -----

func.func @reshape_not_divisible(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'var.reshape' op cannot reshape 24 elements (2x3x4) into (5x-1)}}
  %0 = var.reshape %x [5, -1] : tensor<2x3x4xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'var.reshape' op cannot reshape 24 elements (2x3x4) into 25 (5x5)}}
  %0 = var.reshape %x [5, 5] : tensor<2x3x4xf32>
  return
}

// -----

// An empty shape is a scalar: one element.
func.func @reshape_to_scalar(%x: tensor<2xf32>) {
  // expected-error @+1 {{'var.reshape' op cannot reshape 2 elements (2) into 1 ()}}
  %0 = var.reshape %x [] : tensor<2xf32>
  return
}

// -----

// ODS: the shape is required (the generic form can leave it out).
func.func @reshape_no_shape(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'var.reshape' op requires attribute 'shape'}}
  %0 = "var.reshape"(%x) : (tensor<2x3xf32>) -> tensor<6xf32>
  return
}

// -----

func.func @reshape_i32(%x: tensor<2x3xi32>) {
  // expected-error @+1 {{'var.reshape' op operand #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<2x3xi32>'}}
  %0 = var.reshape %x [6] : tensor<2x3xi32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.flatten
//===----------------------------------------------------------------------===//

func.func @flatten_start_out_of_range(%x: tensor<?x8x4xf32>) {
  // expected-error @+1 {{'var.flatten' op cannot flatten dimensions 3 to -1 of a rank-3 tensor}}
  %0 = var.flatten %x from 3 : tensor<?x8x4xf32>
  return
}

// -----

func.func @flatten_end_out_of_range(%x: tensor<?x8x4xf32>) {
  // expected-error @+1 {{'var.flatten' op cannot flatten dimensions 1 to 3 of a rank-3 tensor}}
  %0 = var.flatten %x to 3 : tensor<?x8x4xf32>
  return
}

// -----

func.func @flatten_negative_out_of_range(%x: tensor<?x8x4xf32>) {
  // expected-error @+1 {{'var.flatten' op cannot flatten dimensions -4 to -1 of a rank-3 tensor}}
  %0 = var.flatten %x from -4 : tensor<?x8x4xf32>
  return
}

// -----

func.func @flatten_reversed(%x: tensor<?x8x4xf32>) {
  // expected-error @+1 {{'var.flatten' op cannot flatten dimensions 2 to 1 of a rank-3 tensor}}
  %0 = var.flatten %x from 2 to 1 : tensor<?x8x4xf32>
  return
}

// -----

// The default start_dim 1 does not exist in a rank-1 tensor.
func.func @flatten_rank1_default(%x: tensor<8xf32>) {
  // expected-error @+1 {{'var.flatten' op cannot flatten dimensions 1 to -1 of a rank-1 tensor}}
  %0 = var.flatten %x : tensor<8xf32>
  return
}

// -----

func.func @flatten_scalar(%x: tensor<f32>) {
  // expected-error @+1 {{'var.flatten' op cannot flatten dimensions 0 to -1 of a rank-0 tensor}}
  %0 = var.flatten %x from 0 : tensor<f32>
  return
}

// -----

func.func @flatten_overflow(%x: tensor<2x4294967296x4294967296xf32>) {
  // expected-error @+1 {{'var.flatten' op flattened dimension has too many elements}}
  %0 = var.flatten %x : tensor<2x4294967296x4294967296xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.concat
//===----------------------------------------------------------------------===//

// The custom form needs at least one type; the generic form can have none.
func.func @concat_no_inputs() {
  // expected-error @+2 {{'var.concat' op needs at least one input}}
  // expected-error @+1 {{'var.concat' op failed to infer returned types}}
  %0 = "var.concat"() <{axis = 0 : i64}> : () -> tensor<2xf32>
  return
}

// -----

// ODS: the axis is required (the generic form can leave it out).
func.func @concat_no_axis(%x: tensor<2xf32>) {
  // expected-error @+1 {{'var.concat' op requires attribute 'axis'}}
  %0 = "var.concat"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @concat_unranked_first(%x: tensor<*xf32>, %y: tensor<2x3xf32>) {
  // expected-error @+1 {{'var.concat' op input must be a ranked tensor, got 'tensor<*xf32>'}}
  %0 = var.concat %x, %y axis 0 : tensor<*xf32>, tensor<2x3xf32>
  return
}

// -----

func.func @concat_unranked_later(%x: tensor<2x3xf32>, %y: tensor<*xf32>) {
  // expected-error @+1 {{'var.concat' op input must be a ranked tensor, got 'tensor<*xf32>'}}
  %0 = var.concat %x, %x, %y axis 0 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<*xf32>
  return
}

// -----

func.func @concat_axis_too_big(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'var.concat' op axis 2 is out of range for rank 2}}
  %0 = var.concat %x, %x axis 2 : tensor<2x3xf32>, tensor<2x3xf32>
  return
}

// -----

func.func @concat_axis_too_negative(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'var.concat' op axis -3 is out of range for rank 2}}
  %0 = var.concat %x, %x axis -3 : tensor<2x3xf32>, tensor<2x3xf32>
  return
}

// -----

func.func @concat_scalar(%x: tensor<f32>) {
  // expected-error @+1 {{'var.concat' op axis 0 is out of range for rank 0}}
  %0 = var.concat %x, %x axis 0 : tensor<f32>, tensor<f32>
  return
}

// -----

func.func @concat_rank(%x: tensor<2x3xf32>, %y: tensor<2x3x1xf32>) {
  // expected-error @+1 {{'var.concat' op input 1 is 'tensor<2x3x1xf32>' but input 0 is 'tensor<2x3xf32>'}}
  %0 = var.concat %x, %y axis 0 : tensor<2x3xf32>, tensor<2x3x1xf32>
  return
}

// -----

func.func @concat_element_type(%x: tensor<2x3xf32>, %y: tensor<2x3xbf16>) {
  // expected-error @+1 {{'var.concat' op input 2 is 'tensor<2x3xbf16>' but input 0 is 'tensor<2x3xf32>'}}
  %0 = var.concat %x, %x, %y axis 1 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xbf16>
  return
}

// -----

func.func @concat_size(%x: tensor<?x8x4x4xf32>, %y: tensor<?x8x5x4xf32>) {
  // expected-error @+1 {{'var.concat' op input 1 has size 5 in dimension 2 where input 0 has 4}}
  %0 = var.concat %x, %y axis -3 : tensor<?x8x4x4xf32>, tensor<?x8x5x4xf32>
  return
}

// -----

// A dynamic size refined by input 1 is then checked against input 2.
func.func @concat_size_refined(%x: tensor<?x2xf32>, %y: tensor<3x2xf32>, %z: tensor<4x2xf32>) {
  // expected-error @+1 {{'var.concat' op input 2 has size 4 in dimension 0 where input 0 has 3}}
  %0 = var.concat %x, %y, %z axis 1 : tensor<?x2xf32>, tensor<3x2xf32>, tensor<4x2xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.transpose
//===----------------------------------------------------------------------===//

func.func @transpose_too_few(%x: tensor<?x8x3xf32>) {
  // expected-error @+1 {{'var.transpose' op permutation [0, 2] has 2 entries for a rank-3 tensor}}
  %0 = var.transpose %x [0, 2] : tensor<?x8x3xf32>
  return
}

// -----

func.func @transpose_too_many(%x: tensor<8x3xf32>) {
  // expected-error @+1 {{'var.transpose' op permutation [1, 0, 2] has 3 entries for a rank-2 tensor}}
  %0 = var.transpose %x [1, 0, 2] : tensor<8x3xf32>
  return
}

// -----

func.func @transpose_repeated(%x: tensor<?x8x3xf32>) {
  // expected-error @+1 {{'var.transpose' op permutation [0, 2, 2] is not a permutation of 0..2}}
  %0 = var.transpose %x [0, 2, 2] : tensor<?x8x3xf32>
  return
}

// -----

func.func @transpose_out_of_range(%x: tensor<?x8x3xf32>) {
  // expected-error @+1 {{'var.transpose' op permutation [0, 3, 1] is not a permutation of 0..2}}
  %0 = var.transpose %x [0, 3, 1] : tensor<?x8x3xf32>
  return
}

// -----

// Unlike axis attributes, entries do not count from the end.
func.func @transpose_negative(%x: tensor<?x8x3xf32>) {
  // expected-error @+1 {{'var.transpose' op permutation [0, -1, 1] is not a permutation of 0..2}}
  %0 = var.transpose %x [0, -1, 1] : tensor<?x8x3xf32>
  return
}

// -----

// ODS: the permutation is required (the generic form can leave it out).
func.func @transpose_no_permutation(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'var.transpose' op requires attribute 'permutation'}}
  %0 = "var.transpose"(%x) : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return
}

// -----

func.func @transpose_generic_wrong_result(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{'var.transpose' op inferred type(s) 'tensor<4x2x3xf32>' are incompatible with return type(s) of operation 'tensor<3x4x2xf32>'}}
  // expected-error @+1 {{'var.transpose' op failed to infer returned types}}
  %0 = "var.transpose"(%x) <{permutation = array<i64: 2, 0, 1>}> : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
  return
}

// -----

func.func @transpose_i32(%x: tensor<2x3xi32>) {
  // expected-error @+1 {{'var.transpose' op operand #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<2x3xi32>'}}
  %0 = var.transpose %x [1, 0] : tensor<2x3xi32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.fold_time, var.unfold_time, var.mean_time
//===----------------------------------------------------------------------===//

func.func @fold_time_rank(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{'var.fold_time' op input must be (B, T, ...) with rank at least 3, got rank 2}}
  %0 = var.fold_time %x : tensor<?x8xf32>
  return
}

// -----

func.func @fold_time_overflow(%x: tensor<4294967296x4294967296x3xf32>) {
  // expected-error @+1 {{'var.fold_time' op batch x time overflows}}
  %0 = var.fold_time %x : tensor<4294967296x4294967296x3xf32>
  return
}

// -----

func.func @unfold_time_rank(%x: tensor<16xf32>) {
  // expected-error @+1 {{'var.unfold_time' op input must be (B*T, ...) with rank at least 2, got rank 1}}
  %0 = var.unfold_time %x frames 8 : tensor<16xf32>
  return
}

// -----

func.func @unfold_time_frames_zero(%x: tensor<16x4xf32>) {
  // expected-error @+1 {{'var.unfold_time' op frames must be at least 1, got 0}}
  %0 = var.unfold_time %x frames 0 : tensor<16x4xf32>
  return
}

// -----

func.func @unfold_time_frames_negative(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'var.unfold_time' op frames must be at least 1, got -8}}
  %0 = var.unfold_time %x frames -8 : tensor<?x4xf32>
  return
}

// -----

func.func @unfold_time_not_multiple(%x: tensor<12x4xf32>) {
  // expected-error @+1 {{'var.unfold_time' op leading dimension 12 is not a multiple of frames 8}}
  %0 = var.unfold_time %x frames 8 : tensor<12x4xf32>
  return
}

// -----

// ODS: frames is required (the generic form can leave it out).
func.func @unfold_time_no_frames(%x: tensor<16x4xf32>) {
  // expected-error @+1 {{'var.unfold_time' op requires attribute 'frames'}}
  %0 = "var.unfold_time"(%x) : (tensor<16x4xf32>) -> tensor<2x8x4xf32>
  return
}

// -----

func.func @unfold_time_generic_wrong_result(%x: tensor<16x4xf32>) {
  // expected-error @+2 {{'var.unfold_time' op inferred type(s) 'tensor<2x8x4xf32>' are incompatible with return type(s) of operation 'tensor<8x2x4xf32>'}}
  // expected-error @+1 {{'var.unfold_time' op failed to infer returned types}}
  %0 = "var.unfold_time"(%x) <{frames = 8 : i64}> : (tensor<16x4xf32>) -> tensor<8x2x4xf32>
  return
}

// -----

func.func @mean_time_rank(%x: tensor<8xf32>) {
  // expected-error @+1 {{'var.mean_time' op input must be (B, T, ...) with rank at least 2, got rank 1}}
  %0 = var.mean_time %x : tensor<8xf32>
  return
}
