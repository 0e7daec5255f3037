// Round trip of var.fused_elementwise through the custom form, twice, and
// through the generic form.
// RUN: var-opt %s | var-opt | FileCheck %s
// RUN: var-opt %s --mlir-print-op-generic | var-opt | FileCheck %s

// CHECK-LABEL: func.func @chain
// CHECK: var.fused_elementwise %{{.*}}, %{{.*}}, %{{.*}} steps ["add", "relu", "relu_grad"] args [0, 1, 3, 4, 2] returns [1, 2] : tensor<4x8xf32>, tensor<8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>, tensor<4x8xf32>
func.func @chain(%x: tensor<4x8xf32>, %b: tensor<8xf32>, %dy: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %r:2 = var.fused_elementwise %x, %b, %dy steps ["add", "relu", "relu_grad"] args [0, 1, 3, 4, 2] returns [1, 2] : tensor<4x8xf32>, tensor<8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>, tensor<4x8xf32>
  return %r#0, %r#1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// CHECK-LABEL: func.func @dropout_cast
// CHECK: var.fused_elementwise %{{.*}} steps ["cast_bf16", "dropout_train", "silu"] args [0, 1, 2] returns [2] p [5.000000e-01] key [7] : tensor<2x3xf32> -> tensor<2x3xbf16>
func.func @dropout_cast(%x: tensor<2x3xf32>) -> tensor<2x3xbf16> {
  %r = var.fused_elementwise %x steps ["cast_bf16", "dropout_train", "silu"] args [0, 1, 2] returns [2] p [0.5] key [7] : tensor<2x3xf32> -> tensor<2x3xbf16>
  return %r : tensor<2x3xbf16>
}
