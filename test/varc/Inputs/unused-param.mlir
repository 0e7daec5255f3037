// @fc.bias is declared but the forward never reads it.
module {
  var.param @fc.weight : tensor<3x4xf32> init normal(1.000000e-02)
  var.param @fc.bias : tensor<3xf32> init zeros

  func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x3xf32> {
    %w = var.get_param @fc.weight : tensor<3x4xf32>
    %y = var.linear %x, %w : tensor<?x4xf32>, tensor<3x4xf32>
    return %y : tensor<?x3xf32>
  }
}
