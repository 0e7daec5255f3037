// Constants in the forward (an ensemble's 0.5) compute in bf16 like the
// rest, so that broadcasting ops see one element type.
//
// RUN: var-opt %s --var-mixed-precision | FileCheck %s

// CHECK-LABEL: func.func @forward
// CHECK: %[[HALF:.*]] = var.fill 5.000000e-01 : tensor<bf16>
// CHECK: var.mul %{{.*}}, %[[HALF]] : tensor<2x4xbf16>, tensor<bf16>
module {
  var.param @w : tensor<4x3xf32> init zeros
  func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x4xf32> {
    %w = var.get_param @w : tensor<4x3xf32>
    %y = var.linear %x, %w : tensor<2x3xf32>, tensor<4x3xf32>
    %half = var.fill 5.000000e-01 : tensor<f32>
    %z = var.mul %y, %half : tensor<2x4xf32>, tensor<f32>
    return %z : tensor<2x4xf32>
  }
}
