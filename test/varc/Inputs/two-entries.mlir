// Two candidate entries: @forward (4 -> 3 classes) and @other (4 -> 2).
module {
  var.param @a.weight : tensor<3x4xf32> init normal(1.000000e-02)
  var.param @b.weight : tensor<2x4xf32> init normal(1.000000e-02)

  func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x3xf32> {
    %w = var.get_param @a.weight : tensor<3x4xf32>
    %y = var.linear %x, %w : tensor<?x4xf32>, tensor<3x4xf32>
    return %y : tensor<?x3xf32>
  }

  func.func @other(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
    %w = var.get_param @b.weight : tensor<2x4xf32>
    %y = var.linear %x, %w : tensor<?x4xf32>, tensor<2x4xf32>
    return %y : tensor<?x2xf32>
  }
}
