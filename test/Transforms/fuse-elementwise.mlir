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

// A chain longer than 32 steps: the first 32 fuse, the rest start a group of
// their own (here one op, left as it is).
// CHECK-LABEL: func.func @step_limit(
// CHECK-NEXT: %[[F:.*]] = var.fused_elementwise %{{.*}} steps ["relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu", "relu"] args [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31] returns [31]
// CHECK-NEXT: var.relu %[[F]]
// CHECK-NEXT: return
func.func @step_limit(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = var.relu %x : tensor<4xf32>
  %1 = var.relu %0 : tensor<4xf32>
  %2 = var.relu %1 : tensor<4xf32>
  %3 = var.relu %2 : tensor<4xf32>
  %4 = var.relu %3 : tensor<4xf32>
  %5 = var.relu %4 : tensor<4xf32>
  %6 = var.relu %5 : tensor<4xf32>
  %7 = var.relu %6 : tensor<4xf32>
  %8 = var.relu %7 : tensor<4xf32>
  %9 = var.relu %8 : tensor<4xf32>
  %10 = var.relu %9 : tensor<4xf32>
  %11 = var.relu %10 : tensor<4xf32>
  %12 = var.relu %11 : tensor<4xf32>
  %13 = var.relu %12 : tensor<4xf32>
  %14 = var.relu %13 : tensor<4xf32>
  %15 = var.relu %14 : tensor<4xf32>
  %16 = var.relu %15 : tensor<4xf32>
  %17 = var.relu %16 : tensor<4xf32>
  %18 = var.relu %17 : tensor<4xf32>
  %19 = var.relu %18 : tensor<4xf32>
  %20 = var.relu %19 : tensor<4xf32>
  %21 = var.relu %20 : tensor<4xf32>
  %22 = var.relu %21 : tensor<4xf32>
  %23 = var.relu %22 : tensor<4xf32>
  %24 = var.relu %23 : tensor<4xf32>
  %25 = var.relu %24 : tensor<4xf32>
  %26 = var.relu %25 : tensor<4xf32>
  %27 = var.relu %26 : tensor<4xf32>
  %28 = var.relu %27 : tensor<4xf32>
  %29 = var.relu %28 : tensor<4xf32>
  %30 = var.relu %29 : tensor<4xf32>
  %31 = var.relu %30 : tensor<4xf32>
  %32 = var.relu %31 : tensor<4xf32>
  return %32 : tensor<4xf32>
}

// Sixteen operands at most: the add that would read a seventeenth starts a
// new group.
// CHECK-LABEL: func.func @operand_limit(
// CHECK-NEXT: %[[F:.*]] = var.fused_elementwise %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} steps ["add", "add", "add", "add", "add", "add", "add", "add", "add", "add", "add", "add", "add", "add", "add"]
// CHECK-NEXT: var.add %[[F]], %{{.*}}
// CHECK-NEXT: return
func.func @operand_limit(%a0: tensor<4xf32>, %a1: tensor<4xf32>, %a2: tensor<4xf32>, %a3: tensor<4xf32>, %a4: tensor<4xf32>, %a5: tensor<4xf32>, %a6: tensor<4xf32>, %a7: tensor<4xf32>, %a8: tensor<4xf32>, %a9: tensor<4xf32>, %a10: tensor<4xf32>, %a11: tensor<4xf32>, %a12: tensor<4xf32>, %a13: tensor<4xf32>, %a14: tensor<4xf32>, %a15: tensor<4xf32>, %a16: tensor<4xf32>) -> tensor<4xf32> {
  %1 = var.add %a0, %a1 : tensor<4xf32>, tensor<4xf32>
  %2 = var.add %1, %a2 : tensor<4xf32>, tensor<4xf32>
  %3 = var.add %2, %a3 : tensor<4xf32>, tensor<4xf32>
  %4 = var.add %3, %a4 : tensor<4xf32>, tensor<4xf32>
  %5 = var.add %4, %a5 : tensor<4xf32>, tensor<4xf32>
  %6 = var.add %5, %a6 : tensor<4xf32>, tensor<4xf32>
  %7 = var.add %6, %a7 : tensor<4xf32>, tensor<4xf32>
  %8 = var.add %7, %a8 : tensor<4xf32>, tensor<4xf32>
  %9 = var.add %8, %a9 : tensor<4xf32>, tensor<4xf32>
  %10 = var.add %9, %a10 : tensor<4xf32>, tensor<4xf32>
  %11 = var.add %10, %a11 : tensor<4xf32>, tensor<4xf32>
  %12 = var.add %11, %a12 : tensor<4xf32>, tensor<4xf32>
  %13 = var.add %12, %a13 : tensor<4xf32>, tensor<4xf32>
  %14 = var.add %13, %a14 : tensor<4xf32>, tensor<4xf32>
  %15 = var.add %14, %a15 : tensor<4xf32>, tensor<4xf32>
  %16 = var.add %15, %a16 : tensor<4xf32>, tensor<4xf32>
  return %16 : tensor<4xf32>
}
