// Diagnostics of the activations, var.add, var.mul (ElementwiseOps.cpp and
// ODS) and var.dropout.
// RUN: var-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// Activations: the element type is checked by ODS after inference
//===----------------------------------------------------------------------===//

func.func @relu_i32(%x: tensor<4x8xi32>) {
  // expected-error @+1 {{'var.relu' op operand #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<4x8xi32>'}}
  %0 = var.relu %x : tensor<4x8xi32>
  return
}

// -----

func.func @relu6_f64(%x: tensor<4x8xf64>) {
  // expected-error @+1 {{'var.relu6' op operand #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<4x8xf64>'}}
  %0 = var.relu6 %x : tensor<4x8xf64>
  return
}

// -----

func.func @sigmoid_i1(%x: tensor<4xi1>) {
  // expected-error @+1 {{'var.sigmoid' op operand #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<4xi1>'}}
  %0 = var.sigmoid %x : tensor<4xi1>
  return
}

// -----

// The custom form only parses a ranked tensor type.
func.func @silu_unranked(%x: tensor<*xf32>) {
  // expected-error @+1 {{custom op 'var.silu' invalid kind of type specified}}
  %0 = var.silu %x : tensor<*xf32>
  return
}

// -----

// The generic form: ODS rejects the unranked operand before inference.
func.func @silu_unranked_generic(%x: tensor<*xf32>) {
  // expected-error @+1 {{'var.silu' op operand #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<*xf32>'}}
  %0 = "var.silu"(%x) : (tensor<*xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @hardswish_wrong_result(%x: tensor<4x8xf32>) {
  // expected-error @+2 {{'var.hardswish' op inferred type(s) 'tensor<4x8xf32>' are incompatible with return type(s) of operation 'tensor<4x8xbf16>'}}
  // expected-error @+1 {{'var.hardswish' op failed to infer returned types}}
  %0 = "var.hardswish"(%x) : (tensor<4x8xf32>) -> tensor<4x8xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.add, var.mul
//===----------------------------------------------------------------------===//

func.func @add_unranked_lhs(%x: tensor<*xf32>, %y: tensor<4xf32>) {
  // expected-error @+1 {{'var.add' op lhs must be a ranked tensor, got 'tensor<*xf32>'}}
  %0 = var.add %x, %y : tensor<*xf32>, tensor<4xf32>
  return
}

// -----

func.func @mul_vector_rhs(%x: tensor<4xf32>, %y: vector<4xf32>) {
  // expected-error @+1 {{'var.mul' op rhs must be a ranked tensor, got 'vector<4xf32>'}}
  %0 = var.mul %x, %y : tensor<4xf32>, vector<4xf32>
  return
}

// -----

// Both operands are checked before failing: two diagnostics.
func.func @add_both_unranked(%x: tensor<*xf32>, %y: tensor<*xf16>) {
  // expected-error @+2 {{'var.add' op lhs must be a ranked tensor, got 'tensor<*xf32>'}}
  // expected-error @+1 {{'var.add' op rhs must be a ranked tensor, got 'tensor<*xf16>'}}
  %0 = var.add %x, %y : tensor<*xf32>, tensor<*xf16>
  return
}

// -----

func.func @add_element_types(%x: tensor<4xf32>, %y: tensor<4xbf16>) {
  // expected-error @+1 {{'var.add' op operands have different element types 'f32' and 'bf16'}}
  %0 = var.add %x, %y : tensor<4xf32>, tensor<4xbf16>
  return
}

// -----

func.func @mul_element_types(%x: tensor<4xf16>, %y: tensor<4xi32>) {
  // expected-error @+1 {{'var.mul' op operands have different element types 'f16' and 'i32'}}
  %0 = var.mul %x, %y : tensor<4xf16>, tensor<4xi32>
  return
}

// -----

func.func @add_no_broadcast(%x: tensor<?x8x4x4xf32>, %y: tensor<3x4xf32>) {
  // expected-error @+1 {{'var.add' op shapes (?x8x4x4) and (3x4) do not broadcast}}
  %0 = var.add %x, %y : tensor<?x8x4x4xf32>, tensor<3x4xf32>
  return
}

// -----

func.func @mul_no_broadcast(%x: tensor<2x3xf32>, %y: tensor<3x2xf32>) {
  // expected-error @+1 {{'var.mul' op shapes (2x3) and (3x2) do not broadcast}}
  %0 = var.mul %x, %y : tensor<2x3xf32>, tensor<3x2xf32>
  return
}

// -----

// Same element type, but not one ODS accepts.
func.func @add_i32(%x: tensor<4xi32>, %y: tensor<4xi32>) {
  // expected-error @+1 {{'var.add' op operand #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<4xi32>'}}
  %0 = var.add %x, %y : tensor<4xi32>, tensor<4xi32>
  return
}

// -----

func.func @mul_generic_wrong_result(%x: tensor<4x1xf32>, %y: tensor<3xf32>) {
  // expected-error @+2 {{'var.mul' op inferred type(s) 'tensor<4x3xf32>' are incompatible with return type(s) of operation 'tensor<4x1xf32>'}}
  // expected-error @+1 {{'var.mul' op failed to infer returned types}}
  %0 = "var.mul"(%x, %y) : (tensor<4x1xf32>, tensor<3xf32>) -> tensor<4x1xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// var.dropout
//===----------------------------------------------------------------------===//

func.func @dropout_p_one(%x: tensor<?x128xf32>) {
  // expected-error @+1 {{'var.dropout' op drop probability p must be in [0, 1), got 1.000000e+00}}
  %0 = var.dropout %x p 1.0 : tensor<?x128xf32>
  return
}

// -----

func.func @dropout_p_negative(%x: tensor<?x128xf32>) {
  // expected-error @+1 {{'var.dropout' op drop probability p must be in [0, 1), got -1.000000e-01}}
  %0 = var.dropout %x p -0.1 : tensor<?x128xf32>
  return
}

// -----

func.func @dropout_p_nan(%x: tensor<?x128xf32>) {
  // expected-error @+1 {{'var.dropout' op drop probability p must be in [0, 1), got nan}}
  %0 = var.dropout %x p 0x7FF8000000000000 : tensor<?x128xf32>
  return
}

// -----

// ODS: p is required (the generic form can leave it out).
func.func @dropout_no_p(%x: tensor<?x128xf32>) {
  // expected-error @+1 {{'var.dropout' op requires attribute 'p'}}
  %0 = "var.dropout"(%x) : (tensor<?x128xf32>) -> tensor<?x128xf32>
  return
}

// -----

func.func @dropout_f64(%x: tensor<?x128xf64>) {
  // expected-error @+1 {{'var.dropout' op operand #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<?x128xf64>'}}
  %0 = var.dropout %x p 0.5 : tensor<?x128xf64>
  return
}
