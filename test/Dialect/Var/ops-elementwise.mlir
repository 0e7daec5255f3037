// Round trip of Activations, var.add, var.mul, var.dropout: every optional
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
// Activations
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @activations
// CHECK-SAME: -> (tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>, tensor<2x3xbf16>, tensor<f16>)
// CHECK: var.relu %{{.*}} : tensor<?x8x4x4xf32>{{$}}
// CHECK: var.relu6 %{{.*}} : tensor<?x8x4x4xf32>{{$}}
// CHECK: var.sigmoid %{{.*}} : tensor<?x8x4x4xf32>{{$}}
// CHECK: var.silu %{{.*}} : tensor<2x3xbf16>{{$}}
// CHECK: var.hardswish %{{.*}} : tensor<f16>{{$}}
func.func @activations(%x: tensor<?x8x4x4xf32>, %y: tensor<2x3xbf16>,
                       %z: tensor<f16>)
    -> (tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>,
        tensor<2x3xbf16>, tensor<f16>) {
  %0 = var.relu %x : tensor<?x8x4x4xf32>
  %1 = var.relu6 %x : tensor<?x8x4x4xf32>
  %2 = var.sigmoid %x : tensor<?x8x4x4xf32>
  %3 = var.silu %y : tensor<2x3xbf16>
  %4 = var.hardswish %z : tensor<f16>
  return %0, %1, %2, %3, %4 : tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>,
      tensor<?x8x4x4xf32>, tensor<2x3xbf16>, tensor<f16>
}

//===----------------------------------------------------------------------===//
// var.add, var.mul
//===----------------------------------------------------------------------===//

// Same shapes, size-1 stretching, rank extension, dynamic dimensions.
// CHECK-LABEL: func.func @broadcast
// CHECK-SAME: -> (tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>, tensor<3x4xbf16>, tensor<2x3xf16>, tensor<?x5xf32>)
// CHECK: var.add %{{.*}}, %{{.*}} : tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>{{$}}
// CHECK: var.mul %{{.*}}, %{{.*}} : tensor<?x8x4x4xf32>, tensor<?x8x1x1xf32>{{$}}
// CHECK: var.add %{{.*}}, %{{.*}} : tensor<4xf32>, tensor<?x8x4x4xf32>{{$}}
// CHECK: var.mul %{{.*}}, %{{.*}} : tensor<3x1xbf16>, tensor<1x4xbf16>{{$}}
// CHECK: var.add %{{.*}}, %{{.*}} : tensor<2x3xf16>, tensor<f16>{{$}}
// CHECK: var.mul %{{.*}}, %{{.*}} : tensor<?x1xf32>, tensor<5xf32>{{$}}
func.func @broadcast(%x: tensor<?x8x4x4xf32>, %s: tensor<?x8x1x1xf32>,
                     %r: tensor<4xf32>, %a: tensor<3x1xbf16>,
                     %b: tensor<1x4xbf16>, %c: tensor<2x3xf16>,
                     %d: tensor<f16>, %e: tensor<?x1xf32>, %f: tensor<5xf32>)
    -> (tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>,
        tensor<3x4xbf16>, tensor<2x3xf16>, tensor<?x5xf32>) {
  %0 = var.add %x, %x : tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>
  %1 = var.mul %x, %s : tensor<?x8x4x4xf32>, tensor<?x8x1x1xf32>
  %2 = var.add %r, %x : tensor<4xf32>, tensor<?x8x4x4xf32>
  %3 = var.mul %a, %b : tensor<3x1xbf16>, tensor<1x4xbf16>
  %4 = var.add %c, %d : tensor<2x3xf16>, tensor<f16>
  %5 = var.mul %e, %f : tensor<?x1xf32>, tensor<5xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>,
      tensor<?x8x4x4xf32>, tensor<3x4xbf16>, tensor<2x3xf16>, tensor<?x5xf32>
}

//===----------------------------------------------------------------------===//
// var.dropout
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @dropout
// CHECK-SAME: -> (tensor<?x128xf32>, tensor<2x3x4xbf16>)
// CHECK: var.dropout %{{.*}} p 5.000000e-01 : tensor<?x128xf32>{{$}}
// CHECK: var.dropout %{{.*}} p 0.000000e+00 : tensor<2x3x4xbf16>{{$}}
func.func @dropout(%x: tensor<?x128xf32>, %y: tensor<2x3x4xbf16>)
    -> (tensor<?x128xf32>, tensor<2x3x4xbf16>) {
  %0 = var.dropout %x p 0.5 : tensor<?x128xf32>
  %1 = var.dropout %y p 0.0 : tensor<2x3x4xbf16>
  return %0, %1 : tensor<?x128xf32>, tensor<2x3x4xbf16>
}
