// The input is already folded: (B * 2 frames, 4 features). With a dynamic
// batch, or any even --batch, unfold_time splits it into (B / 2, 2, 4).
module {
  var.param @fc.weight : tensor<3x4xf32> init normal(1.000000e-02)

  func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x3xf32> {
    %u = var.unfold_time %x frames 2 : tensor<?x4xf32>
    %m = var.mean_time %u : tensor<?x2x4xf32>
    %w = var.get_param @fc.weight : tensor<3x4xf32>
    %y = var.linear %m, %w : tensor<?x4xf32>, tensor<3x4xf32>
    return %y : tensor<?x3xf32>
  }
}
