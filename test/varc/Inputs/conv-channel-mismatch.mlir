// The weight expects 16 input channels; the input has 3.
module {
  var.param @conv.weight : tensor<8x16x3x3xf32> init kaiming_normal_fan_out

  func.func @forward(%x: tensor<?x3x32x32xf32>) -> tensor<?x8xf32> {
    %w = var.get_param @conv.weight : tensor<8x16x3x3xf32>
    %c = var.conv %x, %w padding [1, 1]
        : tensor<?x3x32x32xf32>, tensor<8x16x3x3xf32>
    %p = var.global_avg_pool %c : tensor<?x8x32x32xf32>
    return %p : tensor<?x8xf32>
  }
}
