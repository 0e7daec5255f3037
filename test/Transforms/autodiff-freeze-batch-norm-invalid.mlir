// What --var-autodiff="freeze-batch-norm=1" refuses: frozen running
// statistics must be buffers.
// RUN: var-opt %s -split-input-file --var-autodiff="freeze-batch-norm=1" -verify-diagnostics

module {
  var.param @g : tensor<3xf32> init ones
  var.param @b : tensor<3xf32> init zeros
  var.param @mean : tensor<3xf32> init zeros buffer
  var.param @var : tensor<3xf32> init ones
  func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    %g = var.get_param @g : tensor<3xf32>
    %b = var.get_param @b : tensor<3xf32>
    %m = var.get_param @mean : tensor<3xf32>
    %v = var.get_param @var : tensor<3xf32>
    // expected-error @below {{'var.batch_norm' op running statistics must be buffers, not trainable, to be frozen (declare the running mean and variance with `buffer`)}}
    %y = var.batch_norm %x, %g, %b, %m, %v : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
    return %y : tensor<2x3xf32>
  }
}
