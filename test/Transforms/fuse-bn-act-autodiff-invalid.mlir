// A batch norm that already carries an activation has no backward rule:
// --var-fuse-bn-act runs after --var-autodiff.
// RUN: var-opt %s -split-input-file --var-autodiff -verify-diagnostics

module {
  var.param @w : tensor<3xf32> init ones
  var.param @b : tensor<3xf32> init zeros
  var.param @m : tensor<3xf32> init zeros buffer
  var.param @v : tensor<3xf32> init ones buffer
  func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    %w = var.get_param @w : tensor<3xf32>
    %b = var.get_param @b : tensor<3xf32>
    %m = var.get_param @m : tensor<3xf32>
    %v = var.get_param @v : tensor<3xf32>
    // expected-error @+1 {{'var.batch_norm_train' op has a fused activation and no backward rule; run var-fuse-bn-act after autodiff}}
    %y = var.batch_norm %x, %w, %b, %m, %v activation "relu"
      : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
    return %y : tensor<2x3xf32>
  }
}
