// Round trip of var.fold_time, var.unfold_time, var.mean_time: every optional
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
// var.fold_time, var.unfold_time, var.mean_time
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @time
// CHECK-SAME: -> (tensor<?x3x112x112xf32>, tensor<?x8x128xf32>, tensor<?x128xf32>, tensor<16x3x4x4xbf16>, tensor<2x8x5xbf16>, tensor<2x5xbf16>, tensor<4xf32>)
// CHECK: var.fold_time %{{.*}} : tensor<?x8x3x112x112xf32>{{$}}
// CHECK: var.unfold_time %{{.*}} frames 8 : tensor<?x128xf32>{{$}}
// CHECK: var.mean_time %{{.*}} : tensor<?x8x128xf32>{{$}}
// CHECK: var.fold_time %{{.*}} : tensor<2x8x3x4x4xbf16>{{$}}
// CHECK: var.unfold_time %{{.*}} frames 8 : tensor<16x5xbf16>{{$}}
// CHECK: var.mean_time %{{.*}} : tensor<2x8x5xbf16>{{$}}
// CHECK: var.mean_time %{{.*}} : tensor<4x3xf32>{{$}}
func.func @time(%clips: tensor<?x8x3x112x112xf32>, %feat: tensor<?x128xf32>,
                %c: tensor<2x8x3x4x4xbf16>, %f: tensor<16x5xbf16>,
                %t: tensor<4x3xf32>)
    -> (tensor<?x3x112x112xf32>, tensor<?x8x128xf32>, tensor<?x128xf32>,
        tensor<16x3x4x4xbf16>, tensor<2x8x5xbf16>, tensor<2x5xbf16>,
        tensor<4xf32>) {
  %0 = var.fold_time %clips : tensor<?x8x3x112x112xf32>
  %1 = var.unfold_time %feat frames 8 : tensor<?x128xf32>
  %2 = var.mean_time %1 : tensor<?x8x128xf32>
  %3 = var.fold_time %c : tensor<2x8x3x4x4xbf16>
  %4 = var.unfold_time %f frames 8 : tensor<16x5xbf16>
  %5 = var.mean_time %4 : tensor<2x8x5xbf16>
  %6 = var.mean_time %t : tensor<4x3xf32>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<?x3x112x112xf32>,
      tensor<?x8x128xf32>, tensor<?x128xf32>, tensor<16x3x4x4xbf16>,
      tensor<2x8x5xbf16>, tensor<2x5xbf16>, tensor<4xf32>
}

// A dynamic time dimension makes the folded batch dynamic; frames 1 is allowed.
// CHECK-LABEL: func.func @time_dynamic
// CHECK-SAME: -> (tensor<?x6xf32>, tensor<4x1x6xf32>)
// CHECK: var.fold_time %{{.*}} : tensor<2x?x6xf32>{{$}}
// CHECK: var.unfold_time %{{.*}} frames 1 : tensor<4x6xf32>{{$}}
func.func @time_dynamic(%x: tensor<2x?x6xf32>, %y: tensor<4x6xf32>)
    -> (tensor<?x6xf32>, tensor<4x1x6xf32>) {
  %0 = var.fold_time %x : tensor<2x?x6xf32>
  %1 = var.unfold_time %y frames 1 : tensor<4x6xf32>
  return %0, %1 : tensor<?x6xf32>, tensor<4x1x6xf32>
}
