// var.fill is ConstantLike, so the folder, the canonicalizer and CSE treat it
// as a constant: FillOp::fold gives its value, and equal fills are uniqued
// and hoisted to the start of the block.
// RUN: var-opt %s --canonicalize | FileCheck %s

// CHECK-LABEL: func.func @fills_uniqued
// CHECK-NEXT: %[[HALF:.*]] = var.fill 5.000000e-01 : tensor<2x3xbf16>
// CHECK-NEXT: %[[ONE:.*]] = var.fill 1.500000e+00 : tensor<2x3xbf16>
// CHECK-NEXT: %[[R:.*]] = var.relu %{{.*}} : tensor<2x3xbf16>
// CHECK-NEXT: %[[A:.*]] = var.add %[[R]], %[[ONE]]
// CHECK-NEXT: %[[M:.*]] = var.mul %[[A]], %[[ONE]]
// CHECK-NEXT: %[[H:.*]] = var.mul %[[M]], %[[HALF]]
// CHECK-NEXT: return %[[M]], %[[H]]
func.func @fills_uniqued(%x: tensor<2x3xbf16>)
    -> (tensor<2x3xbf16>, tensor<2x3xbf16>) {
  %r = var.relu %x : tensor<2x3xbf16>
  %0 = var.fill 1.5 : tensor<2x3xbf16>
  %1 = var.add %r, %0 : tensor<2x3xbf16>, tensor<2x3xbf16>
  %2 = var.fill 1.5 : tensor<2x3xbf16>
  %3 = var.mul %1, %2 : tensor<2x3xbf16>, tensor<2x3xbf16>
  %4 = var.fill 0.5 : tensor<2x3xbf16>
  %5 = var.mul %3, %4 : tensor<2x3xbf16>, tensor<2x3xbf16>
  return %3, %5 : tensor<2x3xbf16>, tensor<2x3xbf16>
}

// A fill of another shape or element type is another constant.
// CHECK-LABEL: func.func @fills_distinct
// CHECK-COUNT-3: var.fill 1.500000e+00
// CHECK-NOT: var.fill
func.func @fills_distinct() -> (tensor<2xf32>, tensor<3xf32>, tensor<2xf16>,
                                tensor<2xf32>) {
  %0 = var.fill 1.5 : tensor<2xf32>
  %1 = var.fill 1.5 : tensor<3xf32>
  %2 = var.fill 1.5 : tensor<2xf16>
  %3 = var.fill 1.5 : tensor<2xf32>
  return %0, %1, %2, %3 : tensor<2xf32>, tensor<3xf32>, tensor<2xf16>,
                          tensor<2xf32>
}
