// Diagnostics of var.conv, var.max_pool, var.avg_pool and var.global_avg_pool
// (ConvPoolOps.cpp, ShapeUtils.cpp). Type inference runs while parsing, so
// these errors come from the parser.
// RUN: var-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// var.conv: operands
//===----------------------------------------------------------------------===//

func.func @conv_unranked_input(%x: tensor<*xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op input must be a ranked tensor, got 'tensor<*xf32>'}}
  %0 = var.conv %x, %w : tensor<*xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

func.func @conv_unranked_weight(%x: tensor<1x3x8x8xf32>, %w: tensor<*xf32>) {
  // expected-error @+1 {{'var.conv' op weight must be a ranked tensor, got 'tensor<*xf32>'}}
  %0 = var.conv %x, %w : tensor<1x3x8x8xf32>, tensor<*xf32>
  return
}

// -----

func.func @conv_input_rank_low(%x: tensor<1x3xf32>, %w: tensor<4x3xf32>) {
  // expected-error @+1 {{'var.conv' op input must be (N, C, spatial...) with 1 to 3 spatial dimensions, got rank 2}}
  %0 = var.conv %x, %w : tensor<1x3xf32>, tensor<4x3xf32>
  return
}

// -----

func.func @conv_input_rank_high(%x: tensor<1x3x2x2x2x2xf32>, %w: tensor<4x3x1x1x1x1xf32>) {
  // expected-error @+1 {{'var.conv' op input must be (N, C, spatial...) with 1 to 3 spatial dimensions, got rank 6}}
  %0 = var.conv %x, %w : tensor<1x3x2x2x2x2xf32>, tensor<4x3x1x1x1x1xf32>
  return
}

// -----

// Input and weight are both checked before failing: two diagnostics.
func.func @conv_input_and_weight(%x: tensor<1x3xf32>, %w: vector<4xf32>) {
  // expected-error @+2 {{'var.conv' op input must be (N, C, spatial...) with 1 to 3 spatial dimensions, got rank 2}}
  // expected-error @+1 {{'var.conv' op weight must be a ranked tensor, got 'vector<4xf32>'}}
  %0 = var.conv %x, %w : tensor<1x3xf32>, vector<4xf32>
  return
}

// -----

func.func @conv_weight_rank(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op weight rank 3 does not match input rank 4 (weight is (C_out, C_in / groups, kernel...))}}
  %0 = var.conv %x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3xf32>
  return
}

// -----

func.func @conv_weight_dynamic(%x: tensor<1x3x8x8xf32>, %w: tensor<?x3x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op weight must have a static, non-empty shape, got 'tensor<?x3x3x3xf32>'}}
  %0 = var.conv %x, %w : tensor<1x3x8x8xf32>, tensor<?x3x3x3xf32>
  return
}

// -----

func.func @conv_weight_empty(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x0x3xf32>) {
  // expected-error @+1 {{'var.conv' op weight must have a static, non-empty shape, got 'tensor<4x3x0x3xf32>'}}
  %0 = var.conv %x, %w : tensor<1x3x8x8xf32>, tensor<4x3x0x3xf32>
  return
}

// -----

func.func @conv_weight_element_type(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xbf16>) {
  // expected-error @+1 {{'var.conv' op weight element type 'bf16' differs from input's 'f32'}}
  %0 = var.conv %x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.conv: groups and channels
//===----------------------------------------------------------------------===//

func.func @conv_groups_zero(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op groups must be at least 1, got 0}}
  %0 = var.conv %x, %w groups 0 : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

func.func @conv_groups_negative(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op groups must be at least 1, got -3}}
  %0 = var.conv %x, %w groups -3 : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

func.func @conv_groups_out_channels(%x: tensor<1x6x8x8xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op output channels 4 are not divisible by groups 3}}
  %0 = var.conv %x, %w groups 3 : tensor<1x6x8x8xf32>, tensor<4x2x3x3xf32>
  return
}

// -----

func.func @conv_in_channels(%x: tensor<1x4x8x8xf32>, %w: tensor<8x3x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op input has 4 channels but the weight expects 3 per group x 1 groups}}
  %0 = var.conv %x, %w : tensor<1x4x8x8xf32>, tensor<8x3x3x3xf32>
  return
}

// -----

// A depthwise weight (C, 1, k, k) without `groups`.
func.func @conv_depthwise_without_groups(%x: tensor<1x8x8x8xf32>, %w: tensor<8x1x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op input has 8 channels but the weight expects 1 per group x 1 groups}}
  %0 = var.conv %x, %w : tensor<1x8x8x8xf32>, tensor<8x1x3x3xf32>
  return
}

// -----

func.func @conv_in_channels_grouped(%x: tensor<1x6x8x8xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op input has 6 channels but the weight expects 2 per group x 2 groups}}
  %0 = var.conv %x, %w groups 2 : tensor<1x6x8x8xf32>, tensor<4x2x3x3xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.conv: bias
//===----------------------------------------------------------------------===//

func.func @conv_bias_unranked(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<*xf32>) {
  // expected-error @+1 {{'var.conv' op bias must be a ranked tensor, got 'tensor<*xf32>'}}
  %0 = var.conv %x, %w, %b : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<*xf32>
  return
}

// -----

func.func @conv_bias_size(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{'var.conv' op bias must be (4), got (3)}}
  %0 = var.conv %x, %w, %b : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<3xf32>
  return
}

// -----

func.func @conv_bias_rank(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<1x4xf32>) {
  // expected-error @+1 {{'var.conv' op bias must be (4), got (1x4)}}
  %0 = var.conv %x, %w, %b : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<1x4xf32>
  return
}

// -----

func.func @conv_bias_scalar(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<f32>) {
  // expected-error @+1 {{'var.conv' op bias must be (4), got ()}}
  %0 = var.conv %x, %w, %b : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<f32>
  return
}

// -----

func.func @conv_bias_element_type(%x: tensor<1x3x8x8xf16>, %w: tensor<4x3x3x3xf16>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'var.conv' op bias element type 'f32' differs from input's 'f16'}}
  %0 = var.conv %x, %w, %b : tensor<1x3x8x8xf16>, tensor<4x3x3x3xf16>, tensor<4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.conv: stride, padding, dilation, output size
//===----------------------------------------------------------------------===//

func.func @conv_stride_entries(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op 'stride' has 1 entries but the input has 2 spatial dimensions}}
  %0 = var.conv %x, %w stride [2] : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

func.func @conv_stride_zero(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op 'stride' entries must be at least 1, got 0}}
  %0 = var.conv %x, %w stride [1, 0] : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

func.func @conv_padding_entries(%x: tensor<1x3x8x8x8xf32>, %w: tensor<4x3x3x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op 'padding' has 2 entries but the input has 3 spatial dimensions}}
  %0 = var.conv %x, %w padding [1, 1] : tensor<1x3x8x8x8xf32>, tensor<4x3x3x3x3xf32>
  return
}

// -----

func.func @conv_padding_negative(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op 'padding' entries must be at least 0, got -1}}
  %0 = var.conv %x, %w padding [-1, 1] : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

func.func @conv_dilation_entries(%x: tensor<1x3x8xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op 'dilation' has 2 entries but the input has 1 spatial dimensions}}
  %0 = var.conv %x, %w dilation [1, 1] : tensor<1x3x8xf32>, tensor<4x3x3xf32>
  return
}

// -----

func.func @conv_dilation_zero(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op 'dilation' entries must be at least 1, got 0}}
  %0 = var.conv %x, %w dilation [0, 1] : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

// Stride, padding and dilation are all read before failing: one diagnostic
// per bad attribute.
func.func @conv_several_attrs(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+3 {{'var.conv' op 'stride' has 3 entries but the input has 2 spatial dimensions}}
  // expected-error @+2 {{'var.conv' op 'padding' entries must be at least 0, got -2}}
  // expected-error @+1 {{'var.conv' op 'dilation' entries must be at least 1, got -1}}
  %0 = var.conv %x, %w stride [1, 1, 1] padding [0, -2] dilation [-1, 1] : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

func.func @conv_kernel_too_big(%x: tensor<1x3x8x2xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op kernel 3 (dilation 1) does not fit spatial dimension 1 of size 2 with padding 0}}
  %0 = var.conv %x, %w : tensor<1x3x8x2xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

// With dilation 4 a 3-wide kernel spans 9 > 5 + 2 * 1.
func.func @conv_dilated_kernel_too_big(%x: tensor<1x3x5x5xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'var.conv' op kernel 3 (dilation 4) does not fit spatial dimension 0 of size 5 with padding 1}}
  %0 = var.conv %x, %w padding [1, 1] dilation [4, 1] : tensor<1x3x5x5xf32>, tensor<4x3x3x3xf32>
  return
}

// -----

// 1 + 2 * INT64_MAX overflows: the window is rejected, not sized wrong.
func.func @conv_padding_overflow(%x: tensor<1x1x1xf32>, %w: tensor<1x1x1xf32>) {
  // expected-error @+1 {{'var.conv' op kernel 1 (dilation 1) does not fit spatial dimension 0 of size 1 with padding 9223372036854775807}}
  %0 = var.conv %x, %w padding [9223372036854775807] : tensor<1x1x1xf32>, tensor<1x1x1xf32>
  return
}

// -----

// A dilation so large that the kernel's span overflows.
func.func @conv_dilation_overflow(%x: tensor<1x1x8xf32>, %w: tensor<1x1x3xf32>) {
  // expected-error @+1 {{'var.conv' op kernel 3 (dilation 9223372036854775807) does not fit spatial dimension 0 of size 8 with padding 0}}
  %0 = var.conv %x, %w dilation [9223372036854775807] : tensor<1x1x8xf32>, tensor<1x1x3xf32>
  return
}
// -----

// ODS: an element type that is not f32, bf16 or f16 (inference accepts it).
func.func @conv_f64(%x: tensor<1x3x8x8xf64>, %w: tensor<4x3x3x3xf64>) {
  // expected-error @+1 {{'var.conv' op operand #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<1x3x8x8xf64>'}}
  %0 = var.conv %x, %w : tensor<1x3x8x8xf64>, tensor<4x3x3x3xf64>
  return
}

// -----

// ODS: the generic form with too few operands.
func.func @conv_one_operand(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'var.conv' op expected 2 or more operands, but found 1}}
  %0 = "var.conv"(%x) : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32>
  return
}

// -----

// The generic form carries a result type; it must be the inferred one.
func.func @conv_generic_wrong_result(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{'var.conv' op inferred type(s) 'tensor<1x4x6x6xf32>' are incompatible with return type(s) of operation 'tensor<1x4x8x8xf32>'}}
  // expected-error @+1 {{'var.conv' op failed to infer returned types}}
  %0 = "var.conv"(%x, %w) : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.max_pool, var.avg_pool
//===----------------------------------------------------------------------===//

func.func @max_pool_rank_low(%x: tensor<1x3xf32>) {
  // expected-error @+1 {{'var.max_pool' op input must be (N, C, spatial...) with 1 to 3 spatial dimensions, got rank 2}}
  %0 = var.max_pool %x kernel [2] : tensor<1x3xf32>
  return
}

// -----

func.func @avg_pool_rank_high(%x: tensor<1x3x2x2x2x2xf32>) {
  // expected-error @+1 {{'var.avg_pool' op input must be (N, C, spatial...) with 1 to 3 spatial dimensions, got rank 6}}
  %0 = var.avg_pool %x kernel [2, 2, 2, 2] : tensor<1x3x2x2x2x2xf32>
  return
}

// -----

func.func @max_pool_kernel_entries(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'var.max_pool' op 'kernel' has 1 entries but the input has 2 spatial dimensions}}
  %0 = var.max_pool %x kernel [2] : tensor<1x3x8x8xf32>
  return
}

// -----

func.func @avg_pool_kernel_empty(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'var.avg_pool' op 'kernel' has 0 entries but the input has 2 spatial dimensions}}
  %0 = var.avg_pool %x kernel [] : tensor<1x3x8x8xf32>
  return
}

// -----

func.func @max_pool_kernel_zero(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'var.max_pool' op 'kernel' entries must be at least 1, got 0}}
  %0 = var.max_pool %x kernel [2, 0] : tensor<1x3x8x8xf32>
  return
}

// -----

func.func @avg_pool_stride_entries(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'var.avg_pool' op 'stride' has 3 entries but the input has 2 spatial dimensions}}
  %0 = var.avg_pool %x kernel [2, 2] stride [1, 1, 1] : tensor<1x3x8x8xf32>
  return
}

// -----

func.func @max_pool_stride_zero(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'var.max_pool' op 'stride' entries must be at least 1, got 0}}
  %0 = var.max_pool %x kernel [2, 2] stride [0, 2] : tensor<1x3x8x8xf32>
  return
}

// -----

func.func @avg_pool_padding_entries(%x: tensor<1x3x8xf32>) {
  // expected-error @+1 {{'var.avg_pool' op 'padding' has 2 entries but the input has 1 spatial dimensions}}
  %0 = var.avg_pool %x kernel [2] padding [1, 1] : tensor<1x3x8xf32>
  return
}

// -----

func.func @max_pool_padding_negative(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'var.max_pool' op 'padding' entries must be at least 0, got -1}}
  %0 = var.max_pool %x kernel [2, 2] padding [0, -1] : tensor<1x3x8x8xf32>
  return
}

// -----

// Stride and padding are both read before failing: two diagnostics.
func.func @avg_pool_stride_and_padding(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+2 {{'var.avg_pool' op 'stride' entries must be at least 1, got -1}}
  // expected-error @+1 {{'var.avg_pool' op 'padding' has 1 entries but the input has 2 spatial dimensions}}
  %0 = var.avg_pool %x kernel [2, 2] stride [-1, 1] padding [0] : tensor<1x3x8x8xf32>
  return
}

// -----

func.func @max_pool_padding_over_half(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'var.max_pool' op padding 2 must be at most half the kernel 3}}
  %0 = var.max_pool %x kernel [3, 3] padding [1, 2] : tensor<1x3x8x8xf32>
  return
}

// -----

func.func @avg_pool_padding_over_half(%x: tensor<1x3x8x8x8xf32>) {
  // expected-error @+1 {{'var.avg_pool' op padding 1 must be at most half the kernel 1}}
  %0 = var.avg_pool %x kernel [1, 1, 1] padding [1, 0, 0] : tensor<1x3x8x8x8xf32>
  return
}

// -----

func.func @max_pool_kernel_too_big(%x: tensor<1x3x8x2xf32>) {
  // expected-error @+1 {{'var.max_pool' op kernel 3 does not fit spatial dimension 1 of size 2}}
  %0 = var.max_pool %x kernel [3, 3] : tensor<1x3x8x2xf32>
  return
}

// -----

func.func @avg_pool_kernel_too_big(%x: tensor<?x3x4xf32>) {
  // expected-error @+1 {{'var.avg_pool' op kernel 5 does not fit spatial dimension 0 of size 4}}
  %0 = var.avg_pool %x kernel [5] : tensor<?x3x4xf32>
  return
}

// -----

func.func @max_pool_i32(%x: tensor<1x3x8x8xi32>) {
  // expected-error @+1 {{'var.max_pool' op operand #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<1x3x8x8xi32>'}}
  %0 = var.max_pool %x kernel [2, 2] : tensor<1x3x8x8xi32>
  return
}

// -----

// ODS: the kernel is required (the generic form can leave it out).
func.func @max_pool_no_kernel(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'var.max_pool' op requires attribute 'kernel'}}
  %0 = "var.max_pool"(%x) : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  return
}

// -----

func.func @avg_pool_generic_wrong_result(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+2 {{'var.avg_pool' op inferred type(s) 'tensor<1x3x4x4xf32>' are incompatible with return type(s) of operation 'tensor<1x3x8x8xf32>'}}
  // expected-error @+1 {{'var.avg_pool' op failed to infer returned types}}
  %0 = "var.avg_pool"(%x) <{kernel = array<i64: 2, 2>}> : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.global_avg_pool
//===----------------------------------------------------------------------===//

func.func @global_avg_pool_rank_low(%x: tensor<4x128xf32>) {
  // expected-error @+1 {{'var.global_avg_pool' op input must be (N, C, spatial...) with 1 to 3 spatial dimensions, got rank 2}}
  %0 = var.global_avg_pool %x : tensor<4x128xf32>
  return
}

// -----

func.func @global_avg_pool_rank_high(%x: tensor<1x2x3x4x5x6xf32>) {
  // expected-error @+1 {{'var.global_avg_pool' op input must be (N, C, spatial...) with 1 to 3 spatial dimensions, got rank 6}}
  %0 = var.global_avg_pool %x keep_dims : tensor<1x2x3x4x5x6xf32>
  return
}

// -----

// keep_dims changes the inferred type.
func.func @global_avg_pool_keep_dims_result(%x: tensor<4x8x7x7xf32>) {
  // expected-error @+2 {{'var.global_avg_pool' op inferred type(s) 'tensor<4x8x1x1xf32>' are incompatible with return type(s) of operation 'tensor<4x8xf32>'}}
  // expected-error @+1 {{'var.global_avg_pool' op failed to infer returned types}}
  %0 = "var.global_avg_pool"(%x) <{keep_dims}> : (tensor<4x8x7x7xf32>) -> tensor<4x8xf32>
  return
}
