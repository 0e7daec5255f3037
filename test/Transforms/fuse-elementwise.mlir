// --var-fuse-elementwise: which chains of elementwise ops become one
// var.fused_elementwise, and which values stay results.
// RUN: var-opt %s --var-fuse-elementwise | FileCheck %s

// A chain whose intermediates feed only the next op: one fused op, one
// result, operands in first-use order, a broadcast operand kept as it is.
// CHECK-LABEL: func.func @chain(
// CHECK-SAME: %[[X:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<8xf32>, %[[DY:.*]]: tensor<4x8xf32>
// CHECK-NEXT: %[[F:.*]] = var.fused_elementwise %[[X]], %[[B]], %[[DY]] steps ["add", "relu", "relu_grad"] args [0, 1, 3, 4, 2] returns [2] : tensor<4x8xf32>, tensor<8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT: return %[[F]]
func.func @chain(%x: tensor<4x8xf32>, %b: tensor<8xf32>, %dy: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = var.add %x, %b : tensor<4x8xf32>, tensor<8xf32>
  %1 = var.relu %0 : tensor<4x8xf32>
  %2 = var.relu_grad %1, %dy : tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}

// An intermediate with a user after the chain stays a result of the fused op.
// CHECK-LABEL: func.func @extra_result(
// CHECK-NEXT: %[[F:.*]]:2 = var.fused_elementwise %{{.*}}, %{{.*}} steps ["relu", "mul"] args [0, 2, 1] returns [0, 1]
// CHECK-NEXT: %[[L:.*]] = var.linear %[[F]]#0, %{{.*}}
// CHECK-NEXT: return %[[F]]#1, %[[L]]
func.func @extra_result(%x: tensor<4x8xf32>, %s: tensor<4x8xf32>, %w: tensor<3x8xf32>) -> (tensor<4x8xf32>, tensor<4x3xf32>) {
  %0 = var.relu %x : tensor<4x8xf32>
  %1 = var.mul %0, %s : tensor<4x8xf32>, tensor<4x8xf32>
  %2 = var.linear %0, %w : tensor<4x8xf32>, tensor<3x8xf32>
  return %1, %2 : tensor<4x8xf32>, tensor<4x3xf32>
}

// A value used by a non-elementwise op that comes before the next
// elementwise op: the fused op could not take the place of the last one, so
// the chain breaks there.
// CHECK-LABEL: func.func @user_in_between(
// CHECK-NEXT: var.relu
// CHECK-NEXT: var.linear
// CHECK-NEXT: var.sigmoid
// CHECK-NOT: var.fused_elementwise
func.func @user_in_between(%x: tensor<4x8xf32>, %w: tensor<3x8xf32>) -> (tensor<4x8xf32>, tensor<4x3xf32>) {
  %0 = var.relu %x : tensor<4x8xf32>
  %1 = var.linear %0, %w : tensor<4x8xf32>, tensor<3x8xf32>
  %2 = var.sigmoid %0 : tensor<4x8xf32>
  return %2, %1 : tensor<4x8xf32>, tensor<4x3xf32>
}

// A non-elementwise op in the chain splits it.
// CHECK-LABEL: func.func @reshape_in_between(
// CHECK-NEXT: var.relu
// CHECK-NEXT: var.reshape
// CHECK-NEXT: var.relu
// CHECK-NEXT: return
func.func @reshape_in_between(%x: tensor<4x8xf32>) -> tensor<32xf32> {
  %0 = var.relu %x : tensor<4x8xf32>
  %1 = var.reshape %0 [32] : tensor<4x8xf32>
  %2 = var.relu %1 : tensor<32xf32>
  return %2 : tensor<32xf32>
}

// A shape change: the squeeze-excitation scale is computed on (N, C, 1, 1)
// and broadcast by the multiply, so the sigmoid does not join it; the
// multiply and the add after it do.
// CHECK-LABEL: func.func @shape_change(
// CHECK-NEXT: %[[S:.*]] = var.sigmoid %{{.*}} : tensor<2x4x1x1xf32>
// CHECK-NEXT: var.fused_elementwise %{{.*}}, %[[S]], %{{.*}} steps ["mul", "add"] args [0, 1, 3, 2] returns [1] : tensor<2x4x3x3xf32>, tensor<2x4x1x1xf32>, tensor<2x4x3x3xf32> -> tensor<2x4x3x3xf32>
func.func @shape_change(%x: tensor<2x4x3x3xf32>, %z: tensor<2x4x1x1xf32>, %r: tensor<2x4x3x3xf32>) -> tensor<2x4x3x3xf32> {
  %0 = var.sigmoid %z : tensor<2x4x1x1xf32>
  %1 = var.mul %x, %0 : tensor<2x4x3x3xf32>, tensor<2x4x1x1xf32>
  %2 = var.add %1, %r : tensor<2x4x3x3xf32>, tensor<2x4x3x3xf32>
  return %2 : tensor<2x4x3x3xf32>
}

// Casts and dropout fuse; each dropout step keeps its p and key.
// CHECK-LABEL: func.func @dropout_cast(
// CHECK-NEXT: var.fused_elementwise %{{.*}} steps ["cast_bf16", "dropout_train", "relu", "dropout_grad", "cast_f32"] args [0, 1, 2, 3, 4] returns [4] p [2.000000e-01, 5.000000e-01] key [3, 4] : tensor<2x3xf32> -> tensor<2x3xf32>
func.func @dropout_cast(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = var.cast %x : tensor<2x3xf32> to tensor<2x3xbf16>
  %1 = var.dropout_train %0 p 2.000000e-01 key 3 : tensor<2x3xbf16>
  %2 = var.relu %1 : tensor<2x3xbf16>
  %3 = var.dropout_grad %2 p 5.000000e-01 key 4 : tensor<2x3xbf16>
  %4 = var.cast %3 : tensor<2x3xbf16> to tensor<2x3xf32>
  return %4 : tensor<2x3xf32>
}

// Two chains meeting at an add merge into one group.
// CHECK-LABEL: func.func @merge(
// CHECK-NEXT: var.fused_elementwise %{{.*}}, %{{.*}} steps ["relu", "sigmoid", "add"] args [0, 1, 2, 3] returns [2]
// CHECK-NEXT: return
func.func @merge(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %0 = var.relu %a : tensor<4xf32>
  %1 = var.sigmoid %b : tensor<4xf32>
  %2 = var.add %0, %1 : tensor<4xf32>, tensor<4xf32>
  return %2 : tensor<4xf32>
}

// A single elementwise op stays as it is.
// CHECK-LABEL: func.func @single(
// CHECK-NEXT: var.relu
// CHECK-NEXT: return
func.func @single(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = var.relu %a : tensor<4xf32>
  return %0 : tensor<4xf32>
}
