// The entry returns per-frame logits (B, T, classes), not (B, classes).
module {
  var.param @fc.weight : tensor<3x4xf32> init normal(1.000000e-02)

  func.func @forward(%x: tensor<?x8x4xf32>) -> tensor<?x8x3xf32> {
    %w = var.get_param @fc.weight : tensor<3x4xf32>
    %y = var.linear %x, %w : tensor<?x8x4xf32>, tensor<3x4xf32>
    return %y : tensor<?x8x3xf32>
  }
}
