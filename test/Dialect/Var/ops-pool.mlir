// Round trip of var.max_pool, var.avg_pool, var.global_avg_pool: every optional
// attribute and operand form, through the custom form, twice, and through the
// generic form. The custom form prints no result types, so each function
// returns the results it checks: the func.return verifier pins the inferred
// types to the declared signature, and the CHECK on the signature pins the
// printed form.
//
// RUN: var-opt %s | FileCheck %s
// RUN: var-opt %s | var-opt | FileCheck %s
// RUN: var-opt %s --mlir-print-op-generic | var-opt | FileCheck %s

//===----------------------------------------------------------------------===//
// var.max_pool, var.avg_pool
//===----------------------------------------------------------------------===//

// The stride defaults to the kernel; floor division drops the last row.
// CHECK-LABEL: func.func @max_pool2d
// CHECK-SAME: -> (tensor<?x8x14x14xf32>, tensor<?x8x13x14xf32>, tensor<?x8x14x15xf32>)
// CHECK: var.max_pool %{{.*}} kernel [2, 2] : tensor<?x8x28x29xf32>{{$}}
// CHECK: var.max_pool %{{.*}} kernel [3, 3] stride [2, 2] : tensor<?x8x28x29xf32>{{$}}
// CHECK: var.max_pool %{{.*}} kernel [3, 3] stride [2, 2] padding [1, 1] : tensor<?x8x28x29xf32>{{$}}
func.func @max_pool2d(%x: tensor<?x8x28x29xf32>)
    -> (tensor<?x8x14x14xf32>, tensor<?x8x13x14xf32>, tensor<?x8x14x15xf32>) {
  %0 = var.max_pool %x kernel [2, 2] : tensor<?x8x28x29xf32>
  %1 = var.max_pool %x kernel [3, 3] stride [2, 2] : tensor<?x8x28x29xf32>
  %2 = var.max_pool %x kernel [3, 3] stride [2, 2] padding [1, 1]
      : tensor<?x8x28x29xf32>
  return %0, %1, %2
      : tensor<?x8x14x14xf32>, tensor<?x8x13x14xf32>, tensor<?x8x14x15xf32>
}

// Padding without a stride: the stride is still the kernel.
// CHECK-LABEL: func.func @max_pool_padding_only
// CHECK-SAME: -> tensor<1x2x5x5xf32>
// CHECK: var.max_pool %{{.*}} kernel [2, 2] padding [1, 1] : tensor<1x2x8x8xf32>{{$}}
func.func @max_pool_padding_only(%x: tensor<1x2x8x8xf32>)
    -> tensor<1x2x5x5xf32> {
  %0 = var.max_pool %x kernel [2, 2] padding [1, 1] : tensor<1x2x8x8xf32>
  return %0 : tensor<1x2x5x5xf32>
}

// 1-D and 3-D max pooling; dynamic spatial sizes stay dynamic.
// CHECK-LABEL: func.func @max_pool_1d_3d
// CHECK-SAME: -> (tensor<4x3x?xf32>, tensor<?x3x4x28x28xbf16>)
// CHECK: var.max_pool %{{.*}} kernel [4] : tensor<4x3x?xf32>{{$}}
// CHECK: var.max_pool %{{.*}} kernel [1, 3, 3] stride [1, 2, 2] padding [0, 1, 1] : tensor<?x3x4x56x56xbf16>{{$}}
func.func @max_pool_1d_3d(%x: tensor<4x3x?xf32>, %y: tensor<?x3x4x56x56xbf16>)
    -> (tensor<4x3x?xf32>, tensor<?x3x4x28x28xbf16>) {
  %0 = var.max_pool %x kernel [4] : tensor<4x3x?xf32>
  %1 = var.max_pool %y kernel [1, 3, 3] stride [1, 2, 2] padding [0, 1, 1]
      : tensor<?x3x4x56x56xbf16>
  return %0, %1 : tensor<4x3x?xf32>, tensor<?x3x4x28x28xbf16>
}

// A kernel of INT64_MAX with the largest padding allowed (half the kernel)
// fits a size-3 input once: (3 + 2 * 4611686018427387903 - INT64_MAX) / INT64_MAX + 1.
// CHECK-LABEL: func.func @max_pool_huge_kernel
// CHECK-SAME: -> tensor<1x2x1xf32>
// CHECK: var.max_pool %{{.*}} kernel [9223372036854775807] padding [4611686018427387903] : tensor<1x2x3xf32>{{$}}
func.func @max_pool_huge_kernel(%x: tensor<1x2x3xf32>) -> tensor<1x2x1xf32> {
  %0 = var.max_pool %x kernel [9223372036854775807]
      padding [4611686018427387903] : tensor<1x2x3xf32>
  return %0 : tensor<1x2x1xf32>
}

// CHECK-LABEL: func.func @avg_pool
// CHECK-SAME: -> (tensor<?x8x7x7xf32>, tensor<?x8x14x14xf32>, tensor<2x4x5xf16>, tensor<1x2x2x3x3xf32>)
// CHECK: var.avg_pool %{{.*}} kernel [2, 2] : tensor<?x8x14x14xf32>{{$}}
// CHECK: var.avg_pool %{{.*}} kernel [3, 3] stride [1, 1] padding [1, 1] : tensor<?x8x14x14xf32>{{$}}
// CHECK: var.avg_pool %{{.*}} kernel [2] stride [2] : tensor<2x4x10xf16>{{$}}
// CHECK: var.avg_pool %{{.*}} kernel [2, 2, 2] padding [1, 1, 1] : tensor<1x2x2x4x4xf32>{{$}}
func.func @avg_pool(%x: tensor<?x8x14x14xf32>, %y: tensor<2x4x10xf16>,
                    %z: tensor<1x2x2x4x4xf32>)
    -> (tensor<?x8x7x7xf32>, tensor<?x8x14x14xf32>, tensor<2x4x5xf16>,
        tensor<1x2x2x3x3xf32>) {
  %0 = var.avg_pool %x kernel [2, 2] : tensor<?x8x14x14xf32>
  %1 = var.avg_pool %x kernel [3, 3] stride [1, 1] padding [1, 1]
      : tensor<?x8x14x14xf32>
  %2 = var.avg_pool %y kernel [2] stride [2] : tensor<2x4x10xf16>
  %3 = var.avg_pool %z kernel [2, 2, 2] padding [1, 1, 1]
      : tensor<1x2x2x4x4xf32>
  return %0, %1, %2, %3 : tensor<?x8x7x7xf32>, tensor<?x8x14x14xf32>,
      tensor<2x4x5xf16>, tensor<1x2x2x3x3xf32>
}

//===----------------------------------------------------------------------===//
// var.global_avg_pool
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @global_avg_pool
// CHECK-SAME: -> (tensor<?x64xf32>, tensor<?x64x1x1xf32>, tensor<2x?xbf16>, tensor<2x?x1x1x1xbf16>, tensor<3x5x1xf16>)
// CHECK: var.global_avg_pool %{{.*}} : tensor<?x64x7x7xf32>{{$}}
// CHECK: var.global_avg_pool %{{.*}} keep_dims : tensor<?x64x7x7xf32>{{$}}
// CHECK: var.global_avg_pool %{{.*}} : tensor<2x?x4x?x7xbf16>{{$}}
// CHECK: var.global_avg_pool %{{.*}} keep_dims : tensor<2x?x4x?x7xbf16>{{$}}
// CHECK: var.global_avg_pool %{{.*}} keep_dims : tensor<3x5x9xf16>{{$}}
func.func @global_avg_pool(%x: tensor<?x64x7x7xf32>, %y: tensor<2x?x4x?x7xbf16>,
                           %z: tensor<3x5x9xf16>)
    -> (tensor<?x64xf32>, tensor<?x64x1x1xf32>, tensor<2x?xbf16>,
        tensor<2x?x1x1x1xbf16>, tensor<3x5x1xf16>) {
  %0 = var.global_avg_pool %x : tensor<?x64x7x7xf32>
  %1 = var.global_avg_pool %x keep_dims : tensor<?x64x7x7xf32>
  %2 = var.global_avg_pool %y : tensor<2x?x4x?x7xbf16>
  %3 = var.global_avg_pool %y keep_dims : tensor<2x?x4x?x7xbf16>
  %4 = var.global_avg_pool %z keep_dims : tensor<3x5x9xf16>
  return %0, %1, %2, %3, %4 : tensor<?x64xf32>, tensor<?x64x1x1xf32>,
      tensor<2x?xbf16>, tensor<2x?x1x1x1xbf16>, tensor<3x5x1xf16>
}
