// A small video model whose convolutions have biases and feed batch norms,
// as torchvision's VGG-BN does, for --fold-bn-bias tests. The biases start
// away from zero, so that the running means show whether they count them.
module {
  var.param @conv1.weight : tensor<8x3x3x3xf32> init kaiming_normal_fan_out
  var.param @conv1.bias : tensor<8xf32> init normal(1.000000e+00)
  var.param @bn1.weight : tensor<8xf32> init ones
  var.param @bn1.bias : tensor<8xf32> init zeros
  var.param @bn1.running_mean : tensor<8xf32> init zeros buffer
  var.param @bn1.running_var : tensor<8xf32> init ones buffer
  var.param @conv2.weight : tensor<8x8x3x3xf32> init kaiming_normal_fan_out
  var.param @conv2.bias : tensor<8xf32> init normal(1.000000e+00)
  var.param @bn2.weight : tensor<8xf32> init ones
  var.param @bn2.bias : tensor<8xf32> init zeros
  var.param @bn2.running_mean : tensor<8xf32> init zeros buffer
  var.param @bn2.running_var : tensor<8xf32> init ones buffer
  var.param @fc.weight : tensor<5x8xf32> init xavier_uniform
  var.param @fc.bias : tensor<5xf32> init zeros
  func.func @forward(%clips: tensor<?x2x3x16x16xf32>) -> tensor<?x5xf32> {
    %frames = var.fold_time %clips : tensor<?x2x3x16x16xf32>
    %w1 = var.get_param @conv1.weight : tensor<8x3x3x3xf32>
    %b1 = var.get_param @conv1.bias : tensor<8xf32>
    %c1 = var.conv %frames, %w1, %b1 stride [2, 2] padding [1, 1]
        : tensor<?x3x16x16xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>
    %g1 = var.get_param @bn1.weight : tensor<8xf32>
    %s1 = var.get_param @bn1.bias : tensor<8xf32>
    %m1 = var.get_param @bn1.running_mean : tensor<8xf32>
    %v1 = var.get_param @bn1.running_var : tensor<8xf32>
    %n1 = var.batch_norm %c1, %g1, %s1, %m1, %v1
        : tensor<?x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
    %r1 = var.relu %n1 : tensor<?x8x8x8xf32>
    %w2 = var.get_param @conv2.weight : tensor<8x8x3x3xf32>
    %b2 = var.get_param @conv2.bias : tensor<8xf32>
    %c2 = var.conv %r1, %w2, %b2 padding [1, 1]
        : tensor<?x8x8x8xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>
    %g2 = var.get_param @bn2.weight : tensor<8xf32>
    %s2 = var.get_param @bn2.bias : tensor<8xf32>
    %m2 = var.get_param @bn2.running_mean : tensor<8xf32>
    %v2 = var.get_param @bn2.running_var : tensor<8xf32>
    %n2 = var.batch_norm %c2, %g2, %s2, %m2, %v2
        : tensor<?x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
    %r2 = var.relu %n2 : tensor<?x8x8x8xf32>
    %g = var.global_avg_pool %r2 : tensor<?x8x8x8xf32>
    %per = var.unfold_time %g frames 2 : tensor<?x8xf32>
    %clip = var.mean_time %per : tensor<?x2x8xf32>
    %fw = var.get_param @fc.weight : tensor<5x8xf32>
    %fb = var.get_param @fc.bias : tensor<5xf32>
    %y = var.linear %clip, %fw, %fb : tensor<?x8xf32>, tensor<5x8xf32>, tensor<5xf32>
    return %y : tensor<?x5xf32>
  }
}
