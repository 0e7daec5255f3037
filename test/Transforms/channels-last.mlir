// --var-channels-last: layout ops get channels_last between transposes, and
// the transposes that meet cancel, through elementwise ops but not through
// dropout or layout-sensitive ops. Each case is one @forward.
//
// RUN: var-opt %s --var-channels-last -split-input-file | FileCheck %s

// conv -> bn -> relu -> conv: one transpose in, none inside, one back out
// (the forward returns a feature map).
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8x8xf32>
// CHECK-NEXT: %[[IN:.*]] = var.transpose %[[X]] [0, 2, 3, 1] : tensor<2x3x8x8xf32>
// CHECK-NEXT: %[[C1:.*]] = var.conv %[[IN]], %{{.*}} padding [1, 1] channels_last : tensor<2x8x8x3xf32>, tensor<8x3x3x3xf32>
// CHECK-NEXT: %[[BN:.*]] = var.batch_norm %[[C1]], %{{.*}} channels_last : tensor<2x8x8x8xf32>, tensor<8xf32>
// CHECK-NEXT: %[[R:.*]] = var.relu %[[BN]] : tensor<2x8x8x8xf32>
// CHECK-NEXT: %[[C2:.*]] = var.conv %[[R]], %{{.*}} padding [1, 1] channels_last : tensor<2x8x8x8xf32>, tensor<4x8x3x3xf32>
// CHECK-NEXT: %[[OUT:.*]] = var.transpose %[[C2]] [0, 3, 1, 2] : tensor<2x8x8x4xf32>
// CHECK-NEXT: return %[[OUT]] : tensor<2x4x8x8xf32>
func.func @forward(%x: tensor<2x3x8x8xf32>, %w1: tensor<8x3x3x3xf32>,
                   %p: tensor<8xf32>, %w2: tensor<4x8x3x3xf32>)
    -> tensor<2x4x8x8xf32> {
  %0 = var.conv %x, %w1 padding [1, 1] : tensor<2x3x8x8xf32>, tensor<8x3x3x3xf32>
  %1 = var.batch_norm %0, %p, %p, %p, %p : tensor<2x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %2 = var.relu %1 : tensor<2x8x8x8xf32>
  %3 = var.conv %2, %w2 padding [1, 1] : tensor<2x8x8x8xf32>, tensor<4x8x3x3xf32>
  return %3 : tensor<2x4x8x8xf32>
}

// -----

// Pooling between convolutions, then a global pool and a linear head: the
// (N, C) result of the global pool is the same in both layouts, so the
// only transpose is the input's.
// CHECK-LABEL: func.func @forward
// CHECK: var.transpose %{{.*}} [0, 2, 3, 1] : tensor<2x3x16x16xf32>
// CHECK-NOT: var.transpose
// CHECK: var.max_pool %{{.*}} kernel [2, 2] channels_last : tensor<2x16x16x8xf32>
// CHECK-NEXT: var.relu6 %{{.*}} : tensor<2x8x8x8xf32>
// CHECK-NEXT: var.avg_pool %{{.*}} kernel [2, 2] stride [1, 1] padding [1, 1] channels_last : tensor<2x8x8x8xf32>
// CHECK-NEXT: var.hardswish %{{.*}} : tensor<2x9x9x8xf32>
// CHECK-NEXT: var.global_avg_pool %{{.*}} channels_last : tensor<2x9x9x8xf32>
// CHECK-NEXT: var.linear %{{.*}}, %{{.*}} : tensor<2x8xf32>, tensor<10x8xf32>
// CHECK-NEXT: return
func.func @forward(%x: tensor<2x3x16x16xf32>, %w: tensor<8x3x3x3xf32>,
                   %fc: tensor<10x8xf32>) -> tensor<2x10xf32> {
  %0 = var.conv %x, %w padding [1, 1] : tensor<2x3x16x16xf32>, tensor<8x3x3x3xf32>
  %1 = var.max_pool %0 kernel [2, 2] : tensor<2x8x16x16xf32>
  %2 = var.relu6 %1 : tensor<2x8x8x8xf32>
  %3 = var.avg_pool %2 kernel [2, 2] stride [1, 1] padding [1, 1] : tensor<2x8x8x8xf32>
  %4 = var.hardswish %3 : tensor<2x8x9x9xf32>
  %5 = var.global_avg_pool %4 : tensor<2x8x9x9xf32>
  %6 = var.linear %5, %fc : tensor<2x8xf32>, tensor<10x8xf32>
  return %6 : tensor<2x10xf32>
}

// -----

// Squeeze-excitation: the keep_dims pool is (N, 1, 1, C), the 1x1 convs and
// the sigmoid stay channels-last, and the broadcast mul of (N, H, W, C) by
// (N, 1, 1, C) needs no transpose.
// CHECK-LABEL: func.func @forward
// CHECK: var.transpose %{{.*}} [0, 2, 3, 1] : tensor<2x3x8x8xf32>
// CHECK-NOT: var.transpose
// CHECK: %[[A:.*]] = var.silu %{{.*}} : tensor<2x8x8x8xf32>
// CHECK-NEXT: var.global_avg_pool %[[A]] keep_dims channels_last : tensor<2x8x8x8xf32>
// CHECK-NEXT: var.conv %{{.*}}, %{{.*}}, %{{.*}} channels_last : tensor<2x1x1x8xf32>, tensor<2x8x1x1xf32>, tensor<2xf32>
// CHECK-NEXT: var.silu %{{.*}} : tensor<2x1x1x2xf32>
// CHECK-NEXT: var.conv %{{.*}}, %{{.*}}, %{{.*}} channels_last : tensor<2x1x1x2xf32>, tensor<8x2x1x1xf32>, tensor<8xf32>
// CHECK-NEXT: %[[S:.*]] = var.sigmoid %{{.*}} : tensor<2x1x1x8xf32>
// CHECK-NEXT: %[[E:.*]] = var.mul %[[A]], %[[S]] : tensor<2x8x8x8xf32>, tensor<2x1x1x8xf32>
// CHECK-NEXT: var.conv %[[E]], %{{.*}} channels_last : tensor<2x8x8x8xf32>, tensor<4x8x1x1xf32>
// CHECK-NEXT: var.global_avg_pool %{{.*}} channels_last : tensor<2x8x8x4xf32>
// CHECK-NEXT: return
func.func @forward(%x: tensor<2x3x8x8xf32>, %w: tensor<8x3x3x3xf32>,
                   %w1: tensor<2x8x1x1xf32>, %b1: tensor<2xf32>,
                   %w2: tensor<8x2x1x1xf32>, %b2: tensor<8xf32>,
                   %w3: tensor<4x8x1x1xf32>) -> tensor<2x4xf32> {
  %0 = var.conv %x, %w padding [1, 1] : tensor<2x3x8x8xf32>, tensor<8x3x3x3xf32>
  %1 = var.silu %0 : tensor<2x8x8x8xf32>
  %2 = var.global_avg_pool %1 keep_dims : tensor<2x8x8x8xf32>
  %3 = var.conv %2, %w1, %b1 : tensor<2x8x1x1xf32>, tensor<2x8x1x1xf32>, tensor<2xf32>
  %4 = var.silu %3 : tensor<2x2x1x1xf32>
  %5 = var.conv %4, %w2, %b2 : tensor<2x2x1x1xf32>, tensor<8x2x1x1xf32>, tensor<8xf32>
  %6 = var.sigmoid %5 : tensor<2x8x1x1xf32>
  %7 = var.mul %1, %6 : tensor<2x8x8x8xf32>, tensor<2x8x1x1xf32>
  %8 = var.conv %7, %w3 : tensor<2x8x8x8xf32>, tensor<4x8x1x1xf32>
  %9 = var.global_avg_pool %8 : tensor<2x4x8x8xf32>
  return %9 : tensor<2x4xf32>
}

// -----

// A broadcast scale that no channels-last op made (an argument, NCHW): the
// small operand is transposed instead of the feature map.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: %[[S:[^:]*]]: tensor<2x8x1x1xf32>
// CHECK: %[[C:.*]] = var.conv %{{.*}} channels_last
// CHECK-NEXT: %[[ST:.*]] = var.transpose %[[S]] [0, 2, 3, 1] : tensor<2x8x1x1xf32>
// CHECK-NEXT: var.mul %[[C]], %[[ST]] : tensor<2x8x8x8xf32>, tensor<2x1x1x8xf32>
// CHECK-NEXT: var.conv %{{.*}} channels_last
// CHECK-NEXT: var.global_avg_pool
func.func @forward(%x: tensor<2x3x8x8xf32>, %w: tensor<8x3x3x3xf32>,
                   %s: tensor<2x8x1x1xf32>, %w2: tensor<4x8x1x1xf32>)
    -> tensor<2x4xf32> {
  %0 = var.conv %x, %w padding [1, 1] : tensor<2x3x8x8xf32>, tensor<8x3x3x3xf32>
  %1 = var.mul %0, %s : tensor<2x8x8x8xf32>, tensor<2x8x1x1xf32>
  %2 = var.conv %1, %w2 : tensor<2x8x8x8xf32>, tensor<4x8x1x1xf32>
  %3 = var.global_avg_pool %2 : tensor<2x4x8x8xf32>
  return %3 : tensor<2x4xf32>
}

// -----

// A bias of lower rank broadcasts from the right, which a permutation does
// not preserve: the add stays NCHW, between two transposes.
// CHECK-LABEL: func.func @forward
// CHECK: var.conv %{{.*}} channels_last
// CHECK-NEXT: %[[T:.*]] = var.transpose %{{.*}} [0, 3, 1, 2] : tensor<2x8x8x8xf32>
// CHECK-NEXT: %[[A:.*]] = var.add %[[T]], %{{.*}} : tensor<2x8x8x8xf32>, tensor<8x1x1xf32>
// CHECK-NEXT: var.transpose %[[A]] [0, 2, 3, 1] : tensor<2x8x8x8xf32>
func.func @forward(%x: tensor<2x3x8x8xf32>, %w: tensor<8x3x3x3xf32>,
                   %b: tensor<8x1x1xf32>, %w2: tensor<4x8x1x1xf32>)
    -> tensor<2x4xf32> {
  %0 = var.conv %x, %w padding [1, 1] : tensor<2x3x8x8xf32>, tensor<8x3x3x3xf32>
  %1 = var.add %0, %b : tensor<2x8x8x8xf32>, tensor<8x1x1xf32>
  %2 = var.conv %1, %w2 : tensor<2x8x8x8xf32>, tensor<4x8x1x1xf32>
  %3 = var.global_avg_pool %2 : tensor<2x4x8x8xf32>
  return %3 : tensor<2x4xf32>
}

// -----

// R(2+1)D-like 3-D block: clips (B, T, C, H, W) go to (B, C, T, H, W) by
// the model's own transpose, which merges with the one to NDHWC; the
// factored 1x3x3 / 3x1x1 convolutions, batch norms, relus and the residual
// add run channels-last without a transpose.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x3x8x8xf32>
// CHECK-NEXT: %[[IN:.*]] = var.transpose %[[X]] [0, 1, 3, 4, 2] : tensor<2x4x3x8x8xf32>
// CHECK-NOT: var.transpose
// CHECK: var.conv %[[IN]], %{{.*}} padding [0, 1, 1] channels_last : tensor<2x4x8x8x3xf32>, tensor<6x3x1x3x3xf32>
// CHECK: var.conv %{{.*}}, %{{.*}} padding [1, 0, 0] channels_last : tensor<2x4x8x8x6xf32>, tensor<4x6x3x1x1xf32>
// CHECK: var.batch_norm %{{.*}} channels_last : tensor<2x4x8x8x4xf32>
// CHECK: %[[STEM:.*]] = var.relu %{{.*}} : tensor<2x4x8x8x4xf32>
// CHECK: var.conv %[[STEM]], %{{.*}} padding [0, 1, 1] channels_last : tensor<2x4x8x8x4xf32>, tensor<6x4x1x3x3xf32>
// CHECK: var.conv %{{.*}}, %{{.*}} padding [1, 0, 0] channels_last : tensor<2x4x8x8x6xf32>, tensor<4x6x3x1x1xf32>
// CHECK: %[[SUM:.*]] = var.add %{{.*}}, %[[STEM]] : tensor<2x4x8x8x4xf32>, tensor<2x4x8x8x4xf32>
// CHECK-NEXT: %[[R:.*]] = var.relu %[[SUM]] : tensor<2x4x8x8x4xf32>
// CHECK-NEXT: var.global_avg_pool %[[R]] channels_last : tensor<2x4x8x8x4xf32>
// CHECK-NEXT: var.linear
// CHECK-NEXT: return
func.func @forward(%clips: tensor<2x4x3x8x8xf32>, %s1: tensor<6x3x1x3x3xf32>,
                   %t1: tensor<4x6x3x1x1xf32>, %s2: tensor<6x4x1x3x3xf32>,
                   %t2: tensor<4x6x3x1x1xf32>, %p6: tensor<6xf32>,
                   %p4: tensor<4xf32>, %fc: tensor<5x4xf32>)
    -> tensor<2x5xf32> {
  %x = var.transpose %clips [0, 2, 1, 3, 4] : tensor<2x4x3x8x8xf32>
  %0 = var.conv %x, %s1 padding [0, 1, 1] : tensor<2x3x4x8x8xf32>, tensor<6x3x1x3x3xf32>
  %1 = var.batch_norm %0, %p6, %p6, %p6, %p6 : tensor<2x6x4x8x8xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>
  %2 = var.relu %1 : tensor<2x6x4x8x8xf32>
  %3 = var.conv %2, %t1 padding [1, 0, 0] : tensor<2x6x4x8x8xf32>, tensor<4x6x3x1x1xf32>
  %4 = var.batch_norm %3, %p4, %p4, %p4, %p4 : tensor<2x4x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  %5 = var.relu %4 : tensor<2x4x4x8x8xf32>
  %6 = var.conv %5, %s2 padding [0, 1, 1] : tensor<2x4x4x8x8xf32>, tensor<6x4x1x3x3xf32>
  %7 = var.batch_norm %6, %p6, %p6, %p6, %p6 : tensor<2x6x4x8x8xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>
  %8 = var.relu %7 : tensor<2x6x4x8x8xf32>
  %9 = var.conv %8, %t2 padding [1, 0, 0] : tensor<2x6x4x8x8xf32>, tensor<4x6x3x1x1xf32>
  %10 = var.batch_norm %9, %p4, %p4, %p4, %p4 : tensor<2x4x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  %11 = var.add %10, %5 : tensor<2x4x4x8x8xf32>, tensor<2x4x4x8x8xf32>
  %12 = var.relu %11 : tensor<2x4x4x8x8xf32>
  %13 = var.global_avg_pool %12 : tensor<2x4x4x8x8xf32>
  %14 = var.linear %13, %fc : tensor<2x4xf32>, tensor<5x4xf32>
  return %14 : tensor<2x5xf32>
}

// -----

// Per-frame 2-D layers after fold_time: the clip is transposed once, after
// the fold (fold_time needs (B, T, C, H, W)).
// CHECK-LABEL: func.func @forward
// CHECK-NEXT: %[[F:.*]] = var.fold_time %{{.*}} : tensor<2x4x3x8x8xf32>
// CHECK-NEXT: var.transpose %[[F]] [0, 2, 3, 1] : tensor<8x3x8x8xf32>
// CHECK-NOT: var.transpose
// CHECK: var.unfold_time
func.func @forward(%clips: tensor<2x4x3x8x8xf32>, %w: tensor<8x3x3x3xf32>)
    -> tensor<2x8xf32> {
  %0 = var.fold_time %clips : tensor<2x4x3x8x8xf32>
  %1 = var.conv %0, %w padding [1, 1] : tensor<8x3x8x8xf32>, tensor<8x3x3x3xf32>
  %2 = var.relu %1 : tensor<8x8x8x8xf32>
  %3 = var.global_avg_pool %2 : tensor<8x8x8x8xf32>
  %4 = var.unfold_time %3 frames 4 : tensor<8x8xf32>
  %5 = var.mean_time %4 : tensor<2x4x8xf32>
  return %5 : tensor<2x8xf32>
}

// -----

// Flatten needs NCHW (its element order is the classifier's): a transpose
// back stays before it, after the relu that it moved below.
// CHECK-LABEL: func.func @forward
// CHECK: var.max_pool %{{.*}} channels_last
// CHECK-NEXT: %[[R:.*]] = var.relu %{{.*}} : tensor<2x4x4x8xf32>
// CHECK-NEXT: %[[T:.*]] = var.transpose %[[R]] [0, 3, 1, 2] : tensor<2x4x4x8xf32>
// CHECK-NEXT: var.flatten %[[T]] : tensor<2x8x4x4xf32>
func.func @forward(%x: tensor<2x3x8x8xf32>, %w: tensor<8x3x3x3xf32>,
                   %fc: tensor<10x128xf32>) -> tensor<2x10xf32> {
  %0 = var.conv %x, %w padding [1, 1] : tensor<2x3x8x8xf32>, tensor<8x3x3x3xf32>
  %1 = var.max_pool %0 kernel [2, 2] : tensor<2x8x8x8xf32>
  %2 = var.relu %1 : tensor<2x8x4x4xf32>
  %3 = var.flatten %2 : tensor<2x8x4x4xf32>
  %4 = var.linear %3, %fc : tensor<2x128xf32>, tensor<10x128xf32>
  return %4 : tensor<2x10xf32>
}

// -----

// Dropout's mask follows the element index: no transpose crosses it, so it
// keeps computing on NCHW, between a transpose back and one forth.
// CHECK-LABEL: func.func @forward
// CHECK: %[[C:.*]] = var.conv %{{.*}} channels_last : tensor<2x8x8x3xf32>
// CHECK-NEXT: %[[T:.*]] = var.transpose %[[C]] [0, 3, 1, 2] : tensor<2x8x8x8xf32>
// CHECK-NEXT: %[[D:.*]] = var.dropout %[[T]] p 5.000000e-01 : tensor<2x8x8x8xf32>
// CHECK-NEXT: %[[B:.*]] = var.transpose %[[D]] [0, 2, 3, 1] : tensor<2x8x8x8xf32>
// CHECK-NEXT: var.conv %[[B]], %{{.*}} channels_last
func.func @forward(%x: tensor<2x3x8x8xf32>, %w: tensor<8x3x3x3xf32>,
                   %w2: tensor<4x8x1x1xf32>) -> tensor<2x4xf32> {
  %0 = var.conv %x, %w padding [1, 1] : tensor<2x3x8x8xf32>, tensor<8x3x3x3xf32>
  %1 = var.dropout %0 p 0.5 : tensor<2x8x8x8xf32>
  %2 = var.conv %1, %w2 : tensor<2x8x8x8xf32>, tensor<4x8x1x1xf32>
  %3 = var.global_avg_pool %2 : tensor<2x4x8x8xf32>
  return %3 : tensor<2x4xf32>
}

// -----

// Concatenation along the channels becomes concatenation along the last
// dimension.
// CHECK-LABEL: func.func @forward
// CHECK: %[[A:.*]] = var.conv %{{.*}} channels_last : tensor<2x8x8x3xf32>, tensor<4x3x3x3xf32>
// CHECK-NEXT: %[[B:.*]] = var.conv %{{.*}} channels_last : tensor<2x8x8x3xf32>, tensor<6x3x3x3xf32>
// CHECK-NEXT: %[[C:.*]] = var.concat %[[A]], %[[B]] axis 3 : tensor<2x8x8x4xf32>, tensor<2x8x8x6xf32>
// CHECK-NEXT: var.conv %[[C]], %{{.*}} channels_last : tensor<2x8x8x10xf32>, tensor<4x10x1x1xf32>
func.func @forward(%x: tensor<2x3x8x8xf32>, %wa: tensor<4x3x3x3xf32>,
                   %wb: tensor<6x3x3x3xf32>, %w: tensor<4x10x1x1xf32>)
    -> tensor<2x4xf32> {
  %0 = var.conv %x, %wa padding [1, 1] : tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>
  %1 = var.conv %x, %wb padding [1, 1] : tensor<2x3x8x8xf32>, tensor<6x3x3x3xf32>
  %2 = var.concat %0, %1 axis 1 : tensor<2x4x8x8xf32>, tensor<2x6x8x8xf32>
  %3 = var.conv %2, %w : tensor<2x10x8x8xf32>, tensor<4x10x1x1xf32>
  %4 = var.global_avg_pool %3 : tensor<2x4x8x8xf32>
  return %4 : tensor<2x4xf32>
}

// -----

// Rank-3 (N, C, L) layers stay as they are; so do ops already channels-last.
// CHECK-LABEL: func.func @forward
// CHECK-NOT: var.transpose
// CHECK: var.conv %{{.*}}, %{{.*}} : tensor<2x3x16xf32>, tensor<8x3x3xf32>
// CHECK-NEXT: var.batch_norm %{{.*}} : tensor<2x8x14xf32>
// CHECK-NEXT: var.global_avg_pool %{{.*}} : tensor<2x8x14xf32>
// CHECK-NEXT: var.global_avg_pool %{{.*}} channels_last : tensor<2x4x4x8xf32>
func.func @forward(%x: tensor<2x3x16xf32>, %w: tensor<8x3x3xf32>,
                   %p: tensor<8xf32>, %y: tensor<2x4x4x8xf32>)
    -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %0 = var.conv %x, %w : tensor<2x3x16xf32>, tensor<8x3x3xf32>
  %1 = var.batch_norm %0, %p, %p, %p, %p : tensor<2x8x14xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %2 = var.global_avg_pool %1 : tensor<2x8x14xf32>
  %3 = var.global_avg_pool %y channels_last : tensor<2x4x4x8xf32>
  return %2, %3 : tensor<2x8xf32>, tensor<2x8xf32>
}
