// --var-max-pool-indices: which max pools keep window positions for their
// backward instead of their input.
// RUN: var-opt %s --var-max-pool-indices | FileCheck %s

// A pool and its backward: the pool returns indices too, the forward reads
// its output, and the backward reads the indices instead of the input.
// CHECK-LABEL: func.func @pair(
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x4x8x8xf32>, %[[G:[^:]*]]: tensor<2x4x4x4xf32>
// CHECK-NEXT: %[[O:[^,]*]], %[[I:[^ ]*]] = var.max_pool_with_indices %[[X]] kernel [2, 2] : tensor<2x4x8x8xf32>
// CHECK-NEXT: %[[R:.*]] = var.relu %[[O]]
// CHECK-NEXT: %[[D:.*]] = var.max_pool_grad_indices %[[I]], %[[G]] kernel [2, 2] : tensor<2x4x4x4xi8>, tensor<2x4x4x4xf32> -> tensor<2x4x8x8xf32>
// CHECK-NEXT: return %[[R]], %[[D]]
// CHECK-NOT: var.max_pool_grad %
func.func @pair(%x: tensor<2x4x8x8xf32>, %g: tensor<2x4x4x4xf32>) -> (tensor<2x4x4x4xf32>, tensor<2x4x8x8xf32>) {
  %y = var.max_pool %x kernel [2, 2] : tensor<2x4x8x8xf32>
  %r = var.relu %y : tensor<2x4x4x4xf32>
  %dx = var.max_pool_grad %x, %y, %g kernel [2, 2] : tensor<2x4x8x8xf32>, tensor<2x4x4x4xf32>
  return %r, %dx : tensor<2x4x4x4xf32>, tensor<2x4x8x8xf32>
}

// Channels-last bf16 with overlapping, padded windows: the layout and the
// attributes carry over to both ops.
// CHECK-LABEL: func.func @channels_last(
// CHECK-NEXT: %[[O:[^,]*]], %[[I:[^ ]*]] = var.max_pool_with_indices %{{.*}} kernel [3, 3] stride [2, 2] padding [1, 1] channels_last : tensor<2x9x9x8xbf16>
// CHECK-NEXT: var.max_pool_grad_indices %[[I]], %{{.*}} kernel [3, 3] stride [2, 2] padding [1, 1] channels_last : tensor<2x5x5x8xi8>, tensor<2x5x5x8xbf16> -> tensor<2x9x9x8xbf16>
func.func @channels_last(%x: tensor<2x9x9x8xbf16>, %g: tensor<2x5x5x8xbf16>) -> (tensor<2x5x5x8xbf16>, tensor<2x9x9x8xbf16>) {
  %y = var.max_pool %x kernel [3, 3] stride [2, 2] padding [1, 1] channels_last : tensor<2x9x9x8xbf16>
  %dx = var.max_pool_grad %x, %y, %g kernel [3, 3] stride [2, 2] padding [1, 1] channels_last : tensor<2x9x9x8xbf16>, tensor<2x5x5x8xbf16>
  return %y, %dx : tensor<2x5x5x8xbf16>, tensor<2x9x9x8xbf16>
}

// A 3-D pool whose backward spells the default stride, and two backward
// ops of the same pool (the autodiff of a pool read twice sums one; a
// second gradient path may have its own): both read the indices.
// CHECK-LABEL: func.func @volume_two_backwards(
// CHECK-NEXT: %[[O:[^,]*]], %[[I:[^ ]*]] = var.max_pool_with_indices %{{.*}} kernel [1, 2, 2] : tensor<1x2x4x6x6xf32>
// CHECK-NEXT: var.max_pool_grad_indices %[[I]], %{{.*}} kernel [1, 2, 2] stride [1, 2, 2] : tensor<1x2x4x3x3xi8>, tensor<1x2x4x3x3xf32> -> tensor<1x2x4x6x6xf32>
// CHECK-NEXT: var.max_pool_grad_indices %[[I]], %{{.*}} kernel [1, 2, 2] : tensor<1x2x4x3x3xi8>, tensor<1x2x4x3x3xf32> -> tensor<1x2x4x6x6xf32>
func.func @volume_two_backwards(%x: tensor<1x2x4x6x6xf32>, %g: tensor<1x2x4x3x3xf32>) -> (tensor<1x2x4x6x6xf32>, tensor<1x2x4x6x6xf32>) {
  %y = var.max_pool %x kernel [1, 2, 2] : tensor<1x2x4x6x6xf32>
  %a = var.max_pool_grad %x, %y, %g kernel [1, 2, 2] stride [1, 2, 2] : tensor<1x2x4x6x6xf32>, tensor<1x2x4x3x3xf32>
  %b = var.max_pool_grad %x, %y, %y kernel [1, 2, 2] : tensor<1x2x4x6x6xf32>, tensor<1x2x4x3x3xf32>
  return %a, %b : tensor<1x2x4x6x6xf32>, tensor<1x2x4x6x6xf32>
}

// A 1-D pool: every rank var.max_pool takes.
// CHECK-LABEL: func.func @line(
// CHECK-NEXT: %[[O:[^,]*]], %[[I:[^ ]*]] = var.max_pool_with_indices %{{.*}} kernel [3] stride [1] padding [1] : tensor<2x3x10xf32>
// CHECK-NEXT: var.max_pool_grad_indices %[[I]]
func.func @line(%x: tensor<2x3x10xf32>, %g: tensor<2x3x10xf32>) -> tensor<2x3x10xf32> {
  %y = var.max_pool %x kernel [3] stride [1] padding [1] : tensor<2x3x10xf32>
  %dx = var.max_pool_grad %x, %y, %g kernel [3] stride [1] padding [1] : tensor<2x3x10xf32>, tensor<2x3x10xf32>
  return %dx : tensor<2x3x10xf32>
}

// A pool nothing differentiates stays a var.max_pool.
// CHECK-LABEL: func.func @no_backward(
// CHECK-NEXT: var.max_pool %{{.*}} kernel [2, 2] :
// CHECK-NOT: var.max_pool_with_indices
func.func @no_backward(%x: tensor<2x4x8x8xf32>) -> tensor<2x4x4x4xf32> {
  %y = var.max_pool %x kernel [2, 2] : tensor<2x4x8x8xf32>
  return %y : tensor<2x4x4x4xf32>
}

// A 12x12 window has 144 positions, more than an i8 index names: kept.
// CHECK-LABEL: func.func @window_too_big(
// CHECK-NEXT: %[[Y:.*]] = var.max_pool %{{.*}} kernel [12, 12] :
// CHECK-NEXT: var.max_pool_grad %{{.*}}, %[[Y]], %{{.*}} kernel [12, 12] :
func.func @window_too_big(%x: tensor<1x2x24x24xf32>, %g: tensor<1x2x2x2xf32>) -> tensor<1x2x24x24xf32> {
  %y = var.max_pool %x kernel [12, 12] : tensor<1x2x24x24xf32>
  %dx = var.max_pool_grad %x, %y, %g kernel [12, 12] : tensor<1x2x24x24xf32>, tensor<1x2x2x2xf32>
  return %dx : tensor<1x2x24x24xf32>
}

// A backward of the pool's output over another input, or another window,
// is not the pool's own: the pool and every backward are kept.
// CHECK-LABEL: func.func @other_input(
// CHECK-NEXT: %[[Y:.*]] = var.max_pool
// CHECK-NEXT: var.max_pool_grad %{{.*}}, %[[Y]],
// CHECK-NEXT: var.max_pool_grad %{{.*}}, %[[Y]],
// CHECK-NOT: indices
func.func @other_input(%x: tensor<2x4x8x8xf32>, %z: tensor<2x4x8x8xf32>, %g: tensor<2x4x4x4xf32>) -> (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) {
  %y = var.max_pool %x kernel [2, 2] : tensor<2x4x8x8xf32>
  %a = var.max_pool_grad %x, %y, %g kernel [2, 2] : tensor<2x4x8x8xf32>, tensor<2x4x4x4xf32>
  %b = var.max_pool_grad %z, %y, %g kernel [2, 2] : tensor<2x4x8x8xf32>, tensor<2x4x4x4xf32>
  return %a, %b : tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>
}

// CHECK-LABEL: func.func @other_window(
// CHECK-NEXT: %[[Y:.*]] = var.max_pool %{{.*}} kernel [2, 2] :
// CHECK-NEXT: var.max_pool_grad %{{.*}}, %[[Y]], %{{.*}} kernel [3, 3] stride [2, 2] :
func.func @other_window(%x: tensor<1x2x9x9xf32>, %g: tensor<1x2x4x4xf32>) -> tensor<1x2x9x9xf32> {
  %y = var.max_pool %x kernel [2, 2] : tensor<1x2x9x9xf32>
  // 9 pools to 4 with kernel 3, stride 2 too: the same shapes.
  %dx = var.max_pool_grad %x, %y, %g kernel [3, 3] stride [2, 2] : tensor<1x2x9x9xf32>, tensor<1x2x4x4xf32>
  return %dx : tensor<1x2x9x9xf32>
}
