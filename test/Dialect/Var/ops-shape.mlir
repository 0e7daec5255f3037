// Round trip of var.reshape, var.flatten, var.concat, var.transpose: every
// optional attribute and operand form, through the custom form, twice, and
// through the generic form. The custom form prints no result types, so each function returns the
// results it checks: the func.return verifier pins the inferred types to the
// declared signature, and the CHECK on the signature pins the printed form.
//
// RUN: var-opt %s | FileCheck %s
// RUN: var-opt %s | var-opt | FileCheck %s
// RUN: var-opt %s --mlir-print-op-generic | var-opt | FileCheck %s

//===----------------------------------------------------------------------===//
// var.reshape
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @reshape
// CHECK-SAME: -> (tensor<?x96x1x1xf32>, tensor<4x6xf32>, tensor<2x12xf32>, tensor<24xf32>, tensor<1x1xf16>, tensor<1xf16>)
// CHECK: var.reshape %{{.*}} [-1, 96, 1, 1] : tensor<?x96xf32>{{$}}
// CHECK: var.reshape %{{.*}} [4, 6] : tensor<2x3x4xf32>{{$}}
// CHECK: var.reshape %{{.*}} [2, -1] : tensor<2x3x4xf32>{{$}}
// CHECK: var.reshape %{{.*}} [-1] : tensor<2x3x4xf32>{{$}}
// CHECK: var.reshape %{{.*}} [1, 1] : tensor<f16>{{$}}
// CHECK: var.reshape %{{.*}} [-1] : tensor<f16>{{$}}
func.func @reshape(%x: tensor<?x96xf32>, %y: tensor<2x3x4xf32>,
                   %s: tensor<f16>)
    -> (tensor<?x96x1x1xf32>, tensor<4x6xf32>, tensor<2x12xf32>,
        tensor<24xf32>, tensor<1x1xf16>, tensor<1xf16>) {
  %0 = var.reshape %x [-1, 96, 1, 1] : tensor<?x96xf32>
  %1 = var.reshape %y [4, 6] : tensor<2x3x4xf32>
  %2 = var.reshape %y [2, -1] : tensor<2x3x4xf32>
  %3 = var.reshape %y [-1] : tensor<2x3x4xf32>
  %4 = var.reshape %s [1, 1] : tensor<f16>
  %5 = var.reshape %s [-1] : tensor<f16>
  return %0, %1, %2, %3, %4, %5 : tensor<?x96x1x1xf32>, tensor<4x6xf32>,
      tensor<2x12xf32>, tensor<24xf32>, tensor<1x1xf16>, tensor<1xf16>
}

// Reshaping to a rank-0 tensor: an empty shape holds one element.
// CHECK-LABEL: func.func @reshape_scalar
// CHECK-SAME: -> tensor<f32>
// CHECK: var.reshape %{{.*}} [] : tensor<1x1xf32>{{$}}
func.func @reshape_scalar(%x: tensor<1x1xf32>) -> tensor<f32> {
  %0 = var.reshape %x [] : tensor<1x1xf32>
  return %0 : tensor<f32>
}

//===----------------------------------------------------------------------===//
// var.flatten
//===----------------------------------------------------------------------===//

// Defaults (from 1 to -1) are elided when written explicitly.
// CHECK-LABEL: func.func @flatten
// CHECK-SAME: -> (tensor<?x96xf32>, tensor<?x96xf32>, tensor<?x8x12xf32>, tensor<?x4x3xf32>, tensor<?x32x3xf32>, tensor<?xf32>, tensor<?x8x4x3xf32>)
// CHECK: var.flatten %{{.*}} : tensor<?x8x4x3xf32>{{$}}
// CHECK: var.flatten %{{.*}} : tensor<?x8x4x3xf32>{{$}}
// CHECK: var.flatten %{{.*}} from 2 : tensor<?x8x4x3xf32>{{$}}
// CHECK: var.flatten %{{.*}} from 0 to 1 : tensor<?x8x4x3xf32>{{$}}
// CHECK: var.flatten %{{.*}} to -2 : tensor<?x8x4x3xf32>{{$}}
// CHECK: var.flatten %{{.*}} from 0 : tensor<?x8x4x3xf32>{{$}}
// CHECK: var.flatten %{{.*}} from -1 : tensor<?x8x4x3xf32>{{$}}
func.func @flatten(%x: tensor<?x8x4x3xf32>)
    -> (tensor<?x96xf32>, tensor<?x96xf32>, tensor<?x8x12xf32>,
        tensor<?x4x3xf32>, tensor<?x32x3xf32>, tensor<?xf32>,
        tensor<?x8x4x3xf32>) {
  %0 = var.flatten %x : tensor<?x8x4x3xf32>
  %1 = var.flatten %x from 1 to -1 : tensor<?x8x4x3xf32>
  %2 = var.flatten %x from 2 : tensor<?x8x4x3xf32>
  %3 = var.flatten %x from 0 to 1 : tensor<?x8x4x3xf32>
  %4 = var.flatten %x to -2 : tensor<?x8x4x3xf32>
  %5 = var.flatten %x from 0 : tensor<?x8x4x3xf32>
  %6 = var.flatten %x from -1 : tensor<?x8x4x3xf32>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<?x96xf32>, tensor<?x96xf32>,
      tensor<?x8x12xf32>, tensor<?x4x3xf32>, tensor<?x32x3xf32>,
      tensor<?xf32>, tensor<?x8x4x3xf32>
}

// A static tensor flattens to a static size; a rank-1 one is unchanged.
// CHECK-LABEL: func.func @flatten_static
// CHECK-SAME: -> (tensor<120xbf16>, tensor<7xf32>)
// CHECK: var.flatten %{{.*}} from 0 : tensor<2x3x4x5xbf16>{{$}}
// CHECK: var.flatten %{{.*}} from 0 : tensor<7xf32>{{$}}
func.func @flatten_static(%x: tensor<2x3x4x5xbf16>, %y: tensor<7xf32>)
    -> (tensor<120xbf16>, tensor<7xf32>) {
  %0 = var.flatten %x from 0 : tensor<2x3x4x5xbf16>
  %1 = var.flatten %y from 0 : tensor<7xf32>
  return %0, %1 : tensor<120xbf16>, tensor<7xf32>
}

//===----------------------------------------------------------------------===//
// var.concat
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @concat
// CHECK-SAME: -> (tensor<?x24x4x4xf32>, tensor<?x8x4x7xf32>, tensor<?x8x4x4xf32>, tensor<?x?x4x4xf32>, tensor<2x8x4x4xf32>)
// CHECK: var.concat %{{.*}}, %{{.*}}, %{{.*}} axis 1 : tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>{{$}}
// CHECK: var.concat %{{.*}}, %{{.*}} axis -1 : tensor<?x8x4x4xf32>, tensor<?x8x4x3xf32>{{$}}
// CHECK: var.concat %{{.*}} axis 0 : tensor<?x8x4x4xf32>{{$}}
// CHECK: var.concat %{{.*}}, %{{.*}} axis -3 : tensor<?x8x4x4xf32>, tensor<?x?x4x4xf32>{{$}}
// CHECK: var.concat %{{.*}}, %{{.*}} axis 0 : tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>{{$}}
func.func @concat(%x: tensor<?x8x4x4xf32>, %y: tensor<?x8x4x3xf32>,
                  %d: tensor<?x?x4x4xf32>, %s: tensor<1x8x4x4xf32>)
    -> (tensor<?x24x4x4xf32>, tensor<?x8x4x7xf32>, tensor<?x8x4x4xf32>,
        tensor<?x?x4x4xf32>, tensor<2x8x4x4xf32>) {
  %0 = var.concat %x, %x, %x axis 1
      : tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>
  %1 = var.concat %x, %y axis -1 : tensor<?x8x4x4xf32>, tensor<?x8x4x3xf32>
  %2 = var.concat %x axis 0 : tensor<?x8x4x4xf32>
  %3 = var.concat %x, %d axis -3 : tensor<?x8x4x4xf32>, tensor<?x?x4x4xf32>
  %4 = var.concat %s, %s axis 0 : tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>
  return %0, %1, %2, %3, %4 : tensor<?x24x4x4xf32>, tensor<?x8x4x7xf32>,
      tensor<?x8x4x4xf32>, tensor<?x?x4x4xf32>, tensor<2x8x4x4xf32>
}

// A dynamic size outside the axis is refined by a later input.
// CHECK-LABEL: func.func @concat_refine
// CHECK-SAME: -> tensor<2x5xf16>
// CHECK: var.concat %{{.*}}, %{{.*}} axis 1 : tensor<?x2xf16>, tensor<2x3xf16>{{$}}
func.func @concat_refine(%x: tensor<?x2xf16>, %y: tensor<2x3xf16>)
    -> tensor<2x5xf16> {
  %0 = var.concat %x, %y axis 1 : tensor<?x2xf16>, tensor<2x3xf16>
  return %0 : tensor<2x5xf16>
}

//===----------------------------------------------------------------------===//
// var.transpose
//===----------------------------------------------------------------------===//

// Clips (B, T, C, H, W) to (B, C, T, H, W); a full reversal; the identity;
// a dynamic dimension moves with its permutation entry.
// CHECK-LABEL: func.func @transpose
// CHECK-SAME: -> (tensor<?x3x8x112x112xf32>, tensor<4x3x2xbf16>, tensor<2x3x4xbf16>, tensor<8x?x2xf16>)
// CHECK: var.transpose %{{.*}} [0, 2, 1, 3, 4] : tensor<?x8x3x112x112xf32>{{$}}
// CHECK: var.transpose %{{.*}} [2, 1, 0] : tensor<2x3x4xbf16>{{$}}
// CHECK: var.transpose %{{.*}} [0, 1, 2] : tensor<2x3x4xbf16>{{$}}
// CHECK: var.transpose %{{.*}} [2, 0, 1] : tensor<?x2x8xf16>{{$}}
func.func @transpose(%x: tensor<?x8x3x112x112xf32>, %y: tensor<2x3x4xbf16>,
                     %z: tensor<?x2x8xf16>)
    -> (tensor<?x3x8x112x112xf32>, tensor<4x3x2xbf16>, tensor<2x3x4xbf16>,
        tensor<8x?x2xf16>) {
  %0 = var.transpose %x [0, 2, 1, 3, 4] : tensor<?x8x3x112x112xf32>
  %1 = var.transpose %y [2, 1, 0] : tensor<2x3x4xbf16>
  %2 = var.transpose %y [0, 1, 2] : tensor<2x3x4xbf16>
  %3 = var.transpose %z [2, 0, 1] : tensor<?x2x8xf16>
  return %0, %1, %2, %3 : tensor<?x3x8x112x112xf32>, tensor<4x3x2xbf16>,
      tensor<2x3x4xbf16>, tensor<8x?x2xf16>
}

// A rank-0 tensor has the empty permutation.
// CHECK-LABEL: func.func @transpose_scalar
// CHECK-SAME: -> tensor<f32>
// CHECK: var.transpose %{{.*}} [] : tensor<f32>{{$}}
func.func @transpose_scalar(%x: tensor<f32>) -> tensor<f32> {
  %0 = var.transpose %x [] : tensor<f32>
  return %0 : tensor<f32>
}
