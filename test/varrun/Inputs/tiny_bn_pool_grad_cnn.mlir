// A small video model for --fuse-pool-grad tests: two stages of conv ->
// batch_norm -> relu -> max_pool over tiled 2x2 windows, the first over a
// 9x9 frame (its last row and column in no window), the second with 12
// channels (not a multiple of 8: the CUDA passes' one-element paths).
module {
  var.param @conv1.weight : tensor<8x3x3x3xf32> init kaiming_normal_fan_out
  var.param @bn1.weight : tensor<8xf32> init ones
  var.param @bn1.bias : tensor<8xf32> init zeros
  var.param @bn1.running_mean : tensor<8xf32> init zeros buffer
  var.param @bn1.running_var : tensor<8xf32> init ones buffer
  var.param @conv2.weight : tensor<12x8x3x3xf32> init kaiming_normal_fan_out
  var.param @bn2.weight : tensor<12xf32> init ones
  var.param @bn2.bias : tensor<12xf32> init zeros
  var.param @bn2.running_mean : tensor<12xf32> init zeros buffer
  var.param @bn2.running_var : tensor<12xf32> init ones buffer
  var.param @fc.weight : tensor<5x12xf32> init xavier_uniform
  var.param @fc.bias : tensor<5xf32> init zeros
  func.func @forward(%clips: tensor<?x2x3x9x9xf32>) -> tensor<?x5xf32> {
    %frames = var.fold_time %clips : tensor<?x2x3x9x9xf32>
    %w1 = var.get_param @conv1.weight : tensor<8x3x3x3xf32>
    %c1 = var.conv %frames, %w1 padding [1, 1] : tensor<?x3x9x9xf32>, tensor<8x3x3x3xf32>
    %g1 = var.get_param @bn1.weight : tensor<8xf32>
    %b1 = var.get_param @bn1.bias : tensor<8xf32>
    %m1 = var.get_param @bn1.running_mean : tensor<8xf32>
    %v1 = var.get_param @bn1.running_var : tensor<8xf32>
    %n1 = var.batch_norm %c1, %g1, %b1, %m1, %v1 : tensor<?x8x9x9xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
    %r1 = var.relu %n1 : tensor<?x8x9x9xf32>
    %p1 = var.max_pool %r1 kernel [2, 2] : tensor<?x8x9x9xf32>
    %w2 = var.get_param @conv2.weight : tensor<12x8x3x3xf32>
    %c2 = var.conv %p1, %w2 padding [1, 1] : tensor<?x8x4x4xf32>, tensor<12x8x3x3xf32>
    %g2 = var.get_param @bn2.weight : tensor<12xf32>
    %b2 = var.get_param @bn2.bias : tensor<12xf32>
    %m2 = var.get_param @bn2.running_mean : tensor<12xf32>
    %v2 = var.get_param @bn2.running_var : tensor<12xf32>
    %n2 = var.batch_norm %c2, %g2, %b2, %m2, %v2 : tensor<?x12x4x4xf32>, tensor<12xf32>, tensor<12xf32>, tensor<12xf32>, tensor<12xf32>
    %r2 = var.relu %n2 : tensor<?x12x4x4xf32>
    %p2 = var.max_pool %r2 kernel [2, 2] : tensor<?x12x4x4xf32>
    %g = var.global_avg_pool %p2 : tensor<?x12x2x2xf32>
    %per = var.unfold_time %g frames 2 : tensor<?x12xf32>
    %clip = var.mean_time %per : tensor<?x2x12xf32>
    %fw = var.get_param @fc.weight : tensor<5x12xf32>
    %fb = var.get_param @fc.bias : tensor<5xf32>
    %y = var.linear %clip, %fw, %fb : tensor<?x12xf32>, tensor<5x12xf32>, tensor<5xf32>
    return %y : tensor<?x5xf32>
  }
}
