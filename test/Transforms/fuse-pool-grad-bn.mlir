// --var-fuse-pool-grad-bn: which max pool gradients fold into the batch
// norm backward that reads them.
// RUN: var-opt %s --var-fuse-pool-grad-bn | FileCheck %s

// Tiled channels-last windows, the routed gradient read only as the batch
// norm's grad: one op of the pooled gradient and the indices, with the
// window and the fused activation.
// CHECK-LABEL: func.func @pair(
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x9x9x16xbf16>, %[[I:[^:]*]]: tensor<2x4x4x16xi8>, %[[G:[^:]*]]: tensor<2x4x4x16xbf16>, %[[W:[^:]*]]: tensor<16xf32>, %[[B:[^:]*]]: tensor<16xf32>
// CHECK-NEXT: %[[D:[^,]*]], %[[WG:[^,]*]], %[[BG:[^ ]*]] = var.batch_norm_grad_max_pool %[[X]], %[[I]], %[[G]], %[[W]], %[[W]], %[[W]] kernel [2, 2] channels_last activation "relu"(%[[B]]) {keep = 1 : i64} : tensor<2x9x9x16xbf16>, tensor<2x4x4x16xi8>, tensor<2x4x4x16xbf16>, tensor<16xf32>, tensor<16xf32>
// CHECK-NEXT: return %[[D]], %[[WG]], %[[BG]]
// CHECK-NOT: var.max_pool_grad_indices
func.func @pair(%x: tensor<2x9x9x16xbf16>, %i: tensor<2x4x4x16xi8>, %g: tensor<2x4x4x16xbf16>, %w: tensor<16xf32>, %b: tensor<16xf32>) -> (tensor<2x9x9x16xbf16>, tensor<16xf32>, tensor<16xf32>) {
  %dy = var.max_pool_grad_indices %i, %g kernel [2, 2] channels_last : tensor<2x4x4x16xi8>, tensor<2x4x4x16xbf16> -> tensor<2x9x9x16xbf16>
  %dx:3 = var.batch_norm_grad %x, %dy, %w, %w, %w channels_last activation "relu"(%b) {keep = 1} : tensor<2x9x9x16xbf16>, tensor<16xf32>, tensor<16xf32>
  return %dx#0, %dx#1, %dx#2 : tensor<2x9x9x16xbf16>, tensor<16xf32>, tensor<16xf32>
}

// Without an activation, and with the tiling stride and zero padding
// written out: the window's attributes carry over as written.
// CHECK-LABEL: func.func @explicit_window(
// CHECK-NEXT: var.batch_norm_grad_max_pool %{{.*}} kernel [2, 2] stride [2, 2] padding [0, 0] channels_last : tensor<2x8x8x3xf32>, tensor<2x4x4x3xi8>, tensor<2x4x4x3xf32>, tensor<3xf32>{{$}}
// CHECK-NOT: var.batch_norm_grad %
func.func @explicit_window(%x: tensor<2x8x8x3xf32>, %i: tensor<2x4x4x3xi8>, %g: tensor<2x4x4x3xf32>, %w: tensor<3xf32>) -> tensor<2x8x8x3xf32> {
  %dy = var.max_pool_grad_indices %i, %g kernel [2, 2] stride [2, 2] padding [0, 0] channels_last : tensor<2x4x4x3xi8>, tensor<2x4x4x3xf32> -> tensor<2x8x8x3xf32>
  %dx:3 = var.batch_norm_grad %x, %dy, %w, %w, %w channels_last : tensor<2x8x8x3xf32>, tensor<3xf32>
  return %dx#0 : tensor<2x8x8x3xf32>
}

// The routed gradient has another user: both ops stay.
// CHECK-LABEL: func.func @other_user(
// CHECK-NEXT: var.max_pool_grad_indices
// CHECK-NEXT: var.batch_norm_grad %
// CHECK-NOT: var.batch_norm_grad_max_pool
func.func @other_user(%x: tensor<2x8x8x8xf32>, %i: tensor<2x4x4x8xi8>, %g: tensor<2x4x4x8xf32>, %w: tensor<8xf32>) -> (tensor<2x8x8x8xf32>, tensor<2x8x8x8xf32>) {
  %dy = var.max_pool_grad_indices %i, %g kernel [2, 2] channels_last : tensor<2x4x4x8xi8>, tensor<2x4x4x8xf32> -> tensor<2x8x8x8xf32>
  %dx:3 = var.batch_norm_grad %x, %dy, %w, %w, %w channels_last : tensor<2x8x8x8xf32>, tensor<8xf32>
  return %dx#0, %dy : tensor<2x8x8x8xf32>, tensor<2x8x8x8xf32>
}

// The routed gradient is the batch norm's input, not its grad: it stays.
// CHECK-LABEL: func.func @not_grad(
// CHECK-NEXT: var.max_pool_grad_indices
// CHECK-NEXT: var.batch_norm_grad %
func.func @not_grad(%dy0: tensor<2x8x8x8xf32>, %i: tensor<2x4x4x8xi8>, %g: tensor<2x4x4x8xf32>, %w: tensor<8xf32>) -> tensor<2x8x8x8xf32> {
  %x = var.max_pool_grad_indices %i, %g kernel [2, 2] channels_last : tensor<2x4x4x8xi8>, tensor<2x4x4x8xf32> -> tensor<2x8x8x8xf32>
  %dx:3 = var.batch_norm_grad %x, %dy0, %w, %w, %w channels_last : tensor<2x8x8x8xf32>, tensor<8xf32>
  return %dx#0 : tensor<2x8x8x8xf32>
}

// Overlapping windows (stride below the kernel): an input may take two
// terms, so the pair stays.
// CHECK-LABEL: func.func @overlap(
// CHECK-NEXT: var.max_pool_grad_indices
// CHECK-NEXT: var.batch_norm_grad %
func.func @overlap(%x: tensor<2x9x9x8xf32>, %i: tensor<2x4x4x8xi8>, %g: tensor<2x4x4x8xf32>, %w: tensor<8xf32>) -> tensor<2x9x9x8xf32> {
  %dy = var.max_pool_grad_indices %i, %g kernel [3, 3] stride [2, 2] channels_last : tensor<2x4x4x8xi8>, tensor<2x4x4x8xf32> -> tensor<2x9x9x8xf32>
  %dx:3 = var.batch_norm_grad %x, %dy, %w, %w, %w channels_last : tensor<2x9x9x8xf32>, tensor<8xf32>
  return %dx#0 : tensor<2x9x9x8xf32>
}

// Padded windows: the pair stays.
// CHECK-LABEL: func.func @padded(
// CHECK-NEXT: var.max_pool_grad_indices
// CHECK-NEXT: var.batch_norm_grad %
func.func @padded(%x: tensor<2x8x8x8xf32>, %i: tensor<2x5x5x8xi8>, %g: tensor<2x5x5x8xf32>, %w: tensor<8xf32>) -> tensor<2x8x8x8xf32> {
  %dy = var.max_pool_grad_indices %i, %g kernel [2, 2] padding [1, 1] channels_last : tensor<2x5x5x8xi8>, tensor<2x5x5x8xf32> -> tensor<2x8x8x8xf32>
  %dx:3 = var.batch_norm_grad %x, %dy, %w, %w, %w channels_last : tensor<2x8x8x8xf32>, tensor<8xf32>
  return %dx#0 : tensor<2x8x8x8xf32>
}

// Channels-first pairs stay (the fused op is channels-last only).
// CHECK-LABEL: func.func @channels_first(
// CHECK-NEXT: var.max_pool_grad_indices
// CHECK-NEXT: var.batch_norm_grad %
func.func @channels_first(%x: tensor<2x8x8x8xf32>, %i: tensor<2x8x4x4xi8>, %g: tensor<2x8x4x4xf32>, %w: tensor<8xf32>) -> tensor<2x8x8x8xf32> {
  %dy = var.max_pool_grad_indices %i, %g kernel [2, 2] : tensor<2x8x4x4xi8>, tensor<2x8x4x4xf32> -> tensor<2x8x8x8xf32>
  %dx:3 = var.batch_norm_grad %x, %dy, %w, %w, %w : tensor<2x8x8x8xf32>, tensor<8xf32>
  return %dx#0 : tensor<2x8x8x8xf32>
}

// Layouts that differ (a channels-last pool, a channels-first batch norm
// of a rank-4 tensor read as (N, C, H, W)): the pair stays.
// CHECK-LABEL: func.func @layouts_differ(
// CHECK-NEXT: var.max_pool_grad_indices
// CHECK-NEXT: var.batch_norm_grad %
func.func @layouts_differ(%x: tensor<2x8x8x8xf32>, %i: tensor<2x4x4x8xi8>, %g: tensor<2x4x4x8xf32>, %w: tensor<8xf32>) -> tensor<2x8x8x8xf32> {
  %dy = var.max_pool_grad_indices %i, %g kernel [2, 2] channels_last : tensor<2x4x4x8xi8>, tensor<2x4x4x8xf32> -> tensor<2x8x8x8xf32>
  %dx:3 = var.batch_norm_grad %x, %dy, %w, %w, %w : tensor<2x8x8x8xf32>, tensor<8xf32>
  return %dx#0 : tensor<2x8x8x8xf32>
}
