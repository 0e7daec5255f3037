// Round trip of `channels_last` on every layout op (VarOps.td,
// VarTrainOps.td): activations are (N, spatial..., C), weights and
// per-channel operands keep their layout. Through the custom form, twice, the
// generic form, and the attribute-dictionary spelling. Functions return what
// they check, so the func.return verifier pins the inferred types.
//
// RUN: var-opt %s | FileCheck %s
// RUN: var-opt %s | var-opt | FileCheck %s
// RUN: var-opt %s --mlir-print-op-generic | var-opt | FileCheck %s

//===----------------------------------------------------------------------===//
// Forward ops
//===----------------------------------------------------------------------===//

// NHWC: (2, 8, 8, 3) with padding 1 keeps 8x8; the channels go 3 -> 16.
// CHECK-LABEL: func.func @conv2d
// CHECK-SAME: -> tensor<2x8x8x16xf32>
// CHECK: var.conv %{{.*}}, %{{.*}}, %{{.*}} padding [1, 1] channels_last : tensor<2x8x8x3xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>{{$}}
func.func @conv2d(%x: tensor<2x8x8x3xf32>, %w: tensor<16x3x3x3xf32>,
                  %b: tensor<16xf32>) -> tensor<2x8x8x16xf32> {
  %0 = var.conv %x, %w, %b padding [1, 1] channels_last
      : tensor<2x8x8x3xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>
  return %0 : tensor<2x8x8x16xf32>
}

// NDHWC, a 3x1x1 temporal convolution with a dynamic batch.
// CHECK-LABEL: func.func @conv3d_temporal
// CHECK-SAME: -> tensor<?x4x8x8x8xf32>
// CHECK: var.conv %{{.*}}, %{{.*}} padding [1, 0, 0] channels_last : tensor<?x4x8x8x3xf32>, tensor<8x3x3x1x1xf32>{{$}}
func.func @conv3d_temporal(%x: tensor<?x4x8x8x3xf32>,
                           %w: tensor<8x3x3x1x1xf32>)
    -> tensor<?x4x8x8x8xf32> {
  %0 = var.conv %x, %w padding [1, 0, 0] channels_last
      : tensor<?x4x8x8x3xf32>, tensor<8x3x3x1x1xf32>
  return %0 : tensor<?x4x8x8x8xf32>
}

// NLC, and a depthwise NHWC convolution with stride 2.
// CHECK-LABEL: func.func @conv1d_and_depthwise
// CHECK-SAME: -> (tensor<2x8x6xf32>, tensor<1x4x4x4xf32>)
// CHECK: var.conv %{{.*}}, %{{.*}} channels_last : tensor<2x10x4xf32>, tensor<6x4x3xf32>{{$}}
// CHECK: var.conv %{{.*}}, %{{.*}} stride [2, 2] padding [1, 1] groups 4 channels_last : tensor<1x8x8x4xf32>, tensor<4x1x3x3xf32>{{$}}
func.func @conv1d_and_depthwise(%x: tensor<2x10x4xf32>, %w: tensor<6x4x3xf32>,
                                %y: tensor<1x8x8x4xf32>,
                                %dw: tensor<4x1x3x3xf32>)
    -> (tensor<2x8x6xf32>, tensor<1x4x4x4xf32>) {
  %0 = var.conv %x, %w channels_last : tensor<2x10x4xf32>, tensor<6x4x3xf32>
  %1 = var.conv %y, %dw stride [2, 2] padding [1, 1] groups 4 channels_last
      : tensor<1x8x8x4xf32>, tensor<4x1x3x3xf32>
  return %0, %1 : tensor<2x8x6xf32>, tensor<1x4x4x4xf32>
}

// CHECK-LABEL: func.func @pools
// CHECK-SAME: -> (tensor<2x4x4x16xf32>, tensor<1x4x4x4x8xf32>)
// CHECK: var.max_pool %{{.*}} kernel [2, 2] channels_last : tensor<2x8x8x16xf32>{{$}}
// CHECK: var.avg_pool %{{.*}} kernel [1, 2, 2] channels_last : tensor<1x4x8x8x8xf32>{{$}}
func.func @pools(%x: tensor<2x8x8x16xf32>, %y: tensor<1x4x8x8x8xf32>)
    -> (tensor<2x4x4x16xf32>, tensor<1x4x4x4x8xf32>) {
  %0 = var.max_pool %x kernel [2, 2] channels_last : tensor<2x8x8x16xf32>
  %1 = var.avg_pool %y kernel [1, 2, 2] channels_last : tensor<1x4x8x8x8xf32>
  return %0, %1 : tensor<2x4x4x16xf32>, tensor<1x4x4x4x8xf32>
}

// (N, C) whatever the layout; with keep_dims the 1s stand where the spatial
// dimensions stood, before the channels.
// CHECK-LABEL: func.func @global_avg_pools
// CHECK-SAME: -> (tensor<2x16xf32>, tensor<2x1x1x16xf32>, tensor<1x1x1x1x8xf32>)
// CHECK: var.global_avg_pool %{{.*}} channels_last : tensor<2x4x4x16xf32>{{$}}
// CHECK: var.global_avg_pool %{{.*}} keep_dims channels_last : tensor<2x4x4x16xf32>{{$}}
// CHECK: var.global_avg_pool %{{.*}} keep_dims channels_last : tensor<1x4x8x8x8xf32>{{$}}
func.func @global_avg_pools(%x: tensor<2x4x4x16xf32>,
                            %y: tensor<1x4x8x8x8xf32>)
    -> (tensor<2x16xf32>, tensor<2x1x1x16xf32>, tensor<1x1x1x1x8xf32>) {
  %0 = var.global_avg_pool %x channels_last : tensor<2x4x4x16xf32>
  %1 = var.global_avg_pool %x keep_dims channels_last : tensor<2x4x4x16xf32>
  %2 = var.global_avg_pool %y keep_dims channels_last : tensor<1x4x8x8x8xf32>
  return %0, %1, %2
      : tensor<2x16xf32>, tensor<2x1x1x16xf32>, tensor<1x1x1x1x8xf32>
}

// The attribute-dictionary spelling reaches type inference too: (16) is the
// last dimension, not dimension 1 (8).
// CHECK-LABEL: func.func @batch_norms
// CHECK: var.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} eps 1.000000e-03 channels_last : tensor<2x8x8x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>{{$}}
// CHECK: var.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} channels_last : tensor<2x8x8x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>{{$}}
// CHECK: var.batch_norm_train %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} channels_last : tensor<1x4x8x8x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>{{$}}
func.func @batch_norms(%x: tensor<2x8x8x16xf32>, %p: tensor<16xf32>,
                       %y: tensor<1x4x8x8x8xbf16>, %q: tensor<8xf32>)
    -> (tensor<2x8x8x16xf32>, tensor<2x8x8x16xf32>, tensor<1x4x8x8x8xbf16>,
        tensor<8xf32>) {
  %0 = var.batch_norm %x, %p, %p, %p, %p eps 1.0e-3 channels_last
      : tensor<2x8x8x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>,
        tensor<16xf32>
  %1 = var.batch_norm %x, %p, %p, %p, %p {channels_last}
      : tensor<2x8x8x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>,
        tensor<16xf32>
  %2:5 = var.batch_norm_train %y, %q, %q, %q, %q channels_last
      : tensor<1x4x8x8x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>,
        tensor<8xf32>
  return %0, %1, %2#0, %2#1
      : tensor<2x8x8x16xf32>, tensor<2x8x8x16xf32>, tensor<1x4x8x8x8xbf16>,
        tensor<8xf32>
}

//===----------------------------------------------------------------------===//
// Backward ops
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @conv_grads
// CHECK: var.conv_grad_input %{{.*}}, %{{.*}} padding [1, 1] channels_last : tensor<2x8x8x16xf32>, tensor<16x3x3x3xf32> -> tensor<2x8x8x3xf32>{{$}}
// CHECK: var.conv_grad_weight %{{.*}}, %{{.*}} padding [1, 1] channels_last : tensor<2x8x8x3xf32>, tensor<2x8x8x16xf32> -> tensor<16x3x3x3xf32>{{$}}
func.func @conv_grads(%x: tensor<2x8x8x3xf32>, %w: tensor<16x3x3x3xf32>,
                      %g: tensor<2x8x8x16xf32>)
    -> (tensor<2x8x8x3xf32>, tensor<16x3x3x3xf32>) {
  %0 = var.conv_grad_input %g, %w padding [1, 1] channels_last
      : tensor<2x8x8x16xf32>, tensor<16x3x3x3xf32> -> tensor<2x8x8x3xf32>
  %1 = var.conv_grad_weight %x, %g padding [1, 1] channels_last
      : tensor<2x8x8x3xf32>, tensor<2x8x8x16xf32> -> tensor<16x3x3x3xf32>
  return %0, %1 : tensor<2x8x8x3xf32>, tensor<16x3x3x3xf32>
}

// CHECK-LABEL: func.func @pool_grads
// CHECK-SAME: -> (tensor<2x8x8x16xf32>, tensor<1x4x8x8x8xf32>, tensor<2x4x4x16xf32>, tensor<2x4x4x16xf32>)
// CHECK: var.max_pool_grad %{{.*}}, %{{.*}}, %{{.*}} kernel [2, 2] channels_last : tensor<2x8x8x16xf32>, tensor<2x4x4x16xf32>{{$}}
// CHECK: var.avg_pool_grad %{{.*}} kernel [1, 2, 2] channels_last : tensor<1x4x4x4x8xf32> -> tensor<1x4x8x8x8xf32>{{$}}
// CHECK: var.global_avg_pool_grad %{{.*}} channels_last : tensor<2x16xf32> -> tensor<2x4x4x16xf32>{{$}}
// CHECK: var.global_avg_pool_grad %{{.*}} channels_last : tensor<2x1x1x16xf32> -> tensor<2x4x4x16xf32>{{$}}
func.func @pool_grads(%x: tensor<2x8x8x16xf32>, %y: tensor<2x4x4x16xf32>,
                      %a: tensor<1x4x4x4x8xf32>, %g: tensor<2x16xf32>,
                      %k: tensor<2x1x1x16xf32>)
    -> (tensor<2x8x8x16xf32>, tensor<1x4x8x8x8xf32>, tensor<2x4x4x16xf32>,
        tensor<2x4x4x16xf32>) {
  %0 = var.max_pool_grad %x, %y, %y kernel [2, 2] channels_last
      : tensor<2x8x8x16xf32>, tensor<2x4x4x16xf32>
  %1 = var.avg_pool_grad %a kernel [1, 2, 2] channels_last
      : tensor<1x4x4x4x8xf32> -> tensor<1x4x8x8x8xf32>
  %2 = var.global_avg_pool_grad %g channels_last
      : tensor<2x16xf32> -> tensor<2x4x4x16xf32>
  %3 = var.global_avg_pool_grad %k channels_last
      : tensor<2x1x1x16xf32> -> tensor<2x4x4x16xf32>
  return %0, %1, %2, %3
      : tensor<2x8x8x16xf32>, tensor<1x4x8x8x8xf32>, tensor<2x4x4x16xf32>,
        tensor<2x4x4x16xf32>
}

// CHECK-LABEL: func.func @batch_norm_grads
// CHECK: var.batch_norm_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} channels_last : tensor<2x8x8x16xf32>, tensor<16xf32>{{$}}
// CHECK: var.batch_norm_frozen_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} eps 1.000000e-03 channels_last : tensor<2x8x8x16xf32>, tensor<16xf32>{{$}}
func.func @batch_norm_grads(%x: tensor<2x8x8x16xf32>, %p: tensor<16xf32>)
    -> (tensor<2x8x8x16xf32>, tensor<16xf32>) {
  %0:3 = var.batch_norm_grad %x, %x, %p, %p, %p channels_last
      : tensor<2x8x8x16xf32>, tensor<16xf32>
  %1:3 = var.batch_norm_frozen_grad %x, %x, %p, %p, %p eps 1.0e-3 channels_last
      : tensor<2x8x8x16xf32>, tensor<16xf32>
  return %0#0, %1#1 : tensor<2x8x8x16xf32>, tensor<16xf32>
}
