// A small video model with max pooling for --pool-indices tests: the first
// pool reads a convolution's output, which nothing else reads after the
// forward (its ReLU comes after the pool), through overlapping, padded
// windows; the second pools a ReLU's output (which the ReLU's gradient
// reads again) through tiled 2x2 windows.
module {
  var.param @conv1.weight : tensor<8x3x3x3xf32> init kaiming_normal_fan_out
  var.param @conv1.bias : tensor<8xf32> init zeros
  var.param @conv2.weight : tensor<8x8x3x3xf32> init kaiming_normal_fan_out
  var.param @fc.weight : tensor<5x8xf32> init xavier_uniform
  var.param @fc.bias : tensor<5xf32> init zeros
  func.func @forward(%clips: tensor<?x2x3x16x16xf32>) -> tensor<?x5xf32> {
    %frames = var.fold_time %clips : tensor<?x2x3x16x16xf32>
    %w1 = var.get_param @conv1.weight : tensor<8x3x3x3xf32>
    %b1 = var.get_param @conv1.bias : tensor<8xf32>
    %c1 = var.conv %frames, %w1, %b1 padding [1, 1]
        : tensor<?x3x16x16xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>
    %p1 = var.max_pool %c1 kernel [3, 3] stride [2, 2] padding [1, 1]
        : tensor<?x8x16x16xf32>
    %r1 = var.relu %p1 : tensor<?x8x8x8xf32>
    %w2 = var.get_param @conv2.weight : tensor<8x8x3x3xf32>
    %c2 = var.conv %r1, %w2 padding [1, 1] : tensor<?x8x8x8xf32>, tensor<8x8x3x3xf32>
    %r2 = var.relu %c2 : tensor<?x8x8x8xf32>
    %p2 = var.max_pool %r2 kernel [2, 2] : tensor<?x8x8x8xf32>
    %g = var.global_avg_pool %p2 : tensor<?x8x4x4xf32>
    %per = var.unfold_time %g frames 2 : tensor<?x8xf32>
    %clip = var.mean_time %per : tensor<?x2x8xf32>
    %fw = var.get_param @fc.weight : tensor<5x8xf32>
    %fb = var.get_param @fc.bias : tensor<5xf32>
    %y = var.linear %clip, %fw, %fb : tensor<?x8xf32>, tensor<5x8xf32>, tensor<5xf32>
    return %y : tensor<?x5xf32>
  }
}
