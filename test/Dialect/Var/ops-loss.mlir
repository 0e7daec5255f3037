// Round trip of var.softmax_cross_entropy: every optional attribute and operand
// form, through the custom form, twice, and through the generic form. The
// custom form prints no result types, so each function returns the results it
// checks: the func.return verifier pins the inferred types to the declared
// signature, and the CHECK on the signature pins the printed form.
//
// RUN: var-opt %s | FileCheck %s
// RUN: var-opt %s | var-opt | FileCheck %s
// RUN: var-opt %s --mlir-print-op-generic | var-opt | FileCheck %s

//===----------------------------------------------------------------------===//
// var.softmax_cross_entropy
//===----------------------------------------------------------------------===//

// The loss is an f32 scalar whatever the logits' type; label_smoothing 0.0
// is the default and is elided.
// CHECK-LABEL: func.func @softmax_cross_entropy
// CHECK-SAME: -> (tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>)
// CHECK: var.softmax_cross_entropy %{{.*}}, %{{.*}} : tensor<?x101xf32>, tensor<?xi64>{{$}}
// CHECK: var.softmax_cross_entropy %{{.*}}, %{{.*}} label_smoothing 1.000000e-01 : tensor<?x101xf32>, tensor<?xi64>{{$}}
// CHECK: var.softmax_cross_entropy %{{.*}}, %{{.*}} : tensor<4x10xbf16>, tensor<4xi32>{{$}}
// CHECK: var.softmax_cross_entropy %{{.*}}, %{{.*}} label_smoothing 5.000000e-01 : tensor<4x10xbf16>, tensor<?xi32>{{$}}
func.func @softmax_cross_entropy(%l: tensor<?x101xf32>, %y: tensor<?xi64>,
                                 %h: tensor<4x10xbf16>, %z: tensor<4xi32>,
                                 %d: tensor<?xi32>)
    -> (tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>) {
  %0 = var.softmax_cross_entropy %l, %y : tensor<?x101xf32>, tensor<?xi64>
  %1 = var.softmax_cross_entropy %l, %y label_smoothing 0.1
      : tensor<?x101xf32>, tensor<?xi64>
  %2 = var.softmax_cross_entropy %h, %z label_smoothing 0.0
      : tensor<4x10xbf16>, tensor<4xi32>
  %3 = var.softmax_cross_entropy %h, %d label_smoothing 0.5
      : tensor<4x10xbf16>, tensor<?xi32>
  return %0, %1, %2, %3 : tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>
}
