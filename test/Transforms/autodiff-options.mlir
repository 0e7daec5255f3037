// Bad --var-autodiff options are refused before anything is built.
// RUN: not var-opt %s --var-autodiff="label-smoothing=1.0" 2>&1 | FileCheck %s --check-prefix=SMOOTH
// RUN: not var-opt %s --var-autodiff="loss-scale=0" 2>&1 | FileCheck %s --check-prefix=SCALE
// RUN: not var-opt %s --var-autodiff="entry=missing" 2>&1 | FileCheck %s --check-prefix=ENTRY

// SMOOTH: error: label smoothing must be in [0, 1), got 1.000000e+00
// SCALE: error: loss scale must be positive and finite, got 0.000000e+00
// ENTRY: error: no function @missing to differentiate
module {
  var.param @w : tensor<3x3xf32> init zeros
  func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    %w = var.get_param @w : tensor<3x3xf32>
    %y = var.linear %x, %w : tensor<2x3xf32>, tensor<3x3xf32>
    return %y : tensor<2x3xf32>
  }
}
