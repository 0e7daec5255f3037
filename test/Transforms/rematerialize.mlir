// --var-rematerialize: which multiplies get a copy at their late reads.
// RUN: var-opt %s --var-rematerialize="min-bytes=0" | FileCheck %s
// RUN: var-opt %s --var-rematerialize | FileCheck %s --check-prefix=SMALL

// A squeeze-excitation scale: read by the forward, then by the backward after
// a long stretch, and both factors read again later. The late read gets a
// copy of the multiply right before it; the forward read keeps the original.
// CHECK-LABEL: func.func @scale(
// CHECK-SAME: %[[S:[^:]*]]: tensor<4x8xf32>, %[[G:[^:]*]]: tensor<1x8xf32>
// CHECK-NEXT: %[[M:.*]] = var.mul %[[S]], %[[G]]
// CHECK-NEXT: %[[Y:.*]] = var.linear %[[M]], %{{.*}}
// CHECK-NEXT: var.relu
// CHECK-NEXT: var.relu
// CHECK-NEXT: %[[R:.*]] = var.relu
// CHECK-NEXT: %[[C:.*]] = var.mul %[[S]], %[[G]]
// CHECK-NEXT: var.linear %[[C]], %[[R]]
// CHECK-NEXT: var.mul %{{.*}}, %[[S]]
// CHECK-NEXT: var.mul %{{.*}}, %[[G]]
// Below the default min-bytes (1 MiB) the result is kept, not copied.
// SMALL-LABEL: func.func @scale(
// SMALL-NEXT: var.mul %arg0, %arg1
// SMALL-NOT: var.mul %arg0, %arg1
// SMALL-LABEL: func.func @factor_dies(
func.func @scale(%s: tensor<4x8xf32>, %g: tensor<1x8xf32>, %w: tensor<8x8xf32>, %dy: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x4xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %m = var.mul %s, %g : tensor<4x8xf32>, tensor<1x8xf32>
  %y = var.linear %m, %w : tensor<4x8xf32>, tensor<8x8xf32>
  %0 = var.relu %y : tensor<4x8xf32>
  %1 = var.relu %0 : tensor<4x8xf32>
  %2 = var.relu %1 : tensor<4x8xf32>
  %dw = var.linear %m, %2 : tensor<4x8xf32>, tensor<4x8xf32>
  %ds = var.mul %dy, %s : tensor<4x8xf32>, tensor<4x8xf32>
  %dg = var.mul %dy, %g : tensor<4x8xf32>, tensor<1x8xf32>
  return %y, %dw, %ds, %dg : tensor<4x8xf32>, tensor<4x4xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// A factor that is not read at or after the late read would live longer for
// the copy: the result is kept instead.
// CHECK-LABEL: func.func @factor_dies(
// CHECK-COUNT-1: var.mul
// CHECK-NOT: var.mul
func.func @factor_dies(%s: tensor<4x8xf32>, %g: tensor<1x8xf32>, %w: tensor<8x8xf32>) -> (tensor<4x8xf32>, tensor<4x4xf32>, tensor<4x8xf32>) {
  %m = var.mul %s, %g : tensor<4x8xf32>, tensor<1x8xf32>
  %y = var.linear %m, %w : tensor<4x8xf32>, tensor<8x8xf32>
  %0 = var.relu %y : tensor<4x8xf32>
  %1 = var.relu %0 : tensor<4x8xf32>
  %2 = var.relu %1 : tensor<4x8xf32>
  %dw = var.linear %m, %2 : tensor<4x8xf32>, tensor<4x8xf32>
  %ds = var.add %2, %s : tensor<4x8xf32>, tensor<4x8xf32>
  return %y, %dw, %ds : tensor<4x8xf32>, tensor<4x4xf32>, tensor<4x8xf32>
}

// A result whose reads all follow its widest unread stretch has no early
// read to keep apart from: nothing to copy.
// CHECK-LABEL: func.func @late_only(
// CHECK-COUNT-1: var.mul
// CHECK-NOT: var.mul
func.func @late_only(%s: tensor<4x8xf32>, %g: tensor<1x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %m = var.mul %s, %g : tensor<4x8xf32>, tensor<1x8xf32>
  %0 = var.relu %s : tensor<4x8xf32>
  %1 = var.relu %0 : tensor<4x8xf32>
  %2 = var.relu %1 : tensor<4x8xf32>
  %3 = var.add %m, %2 : tensor<4x8xf32>, tensor<4x8xf32>
  %4 = var.add %3, %s : tensor<4x8xf32>, tensor<4x8xf32>
  %5 = var.add %4, %g : tensor<4x8xf32>, tensor<1x8xf32>
  return %3, %5 : tensor<4x8xf32>, tensor<4x8xf32>
}
