// A small vgg-like video model for --fuse-bn-pool tests: each stage is a
// convolution, a batch norm, an activation and a max pool, so that after
// var-fuse-bn-act and var-max-pool-indices each batch norm's result is read
// by its pool alone. The first stage pools 15x15 (odd) through tiled 2x2
// windows after a ReLU; the second, 6 channels (not a whole 16-byte vector
// of bf16), through overlapping, padded 3x3 windows after a ReLU6.
module {
  var.param @conv1.weight : tensor<8x3x3x3xf32> init kaiming_normal_fan_out
  var.param @conv1.bias : tensor<8xf32> init zeros
  var.param @bn1.weight : tensor<8xf32> init ones
  var.param @bn1.bias : tensor<8xf32> init zeros
  var.param @bn1.running_mean : tensor<8xf32> init zeros buffer
  var.param @bn1.running_var : tensor<8xf32> init ones buffer
  var.param @conv2.weight : tensor<6x8x3x3xf32> init kaiming_normal_fan_out
  var.param @bn2.weight : tensor<6xf32> init ones
  var.param @bn2.bias : tensor<6xf32> init zeros
  var.param @bn2.running_mean : tensor<6xf32> init zeros buffer
  var.param @bn2.running_var : tensor<6xf32> init ones buffer
  var.param @fc.weight : tensor<5x6xf32> init xavier_uniform
  var.param @fc.bias : tensor<5xf32> init zeros
  func.func @forward(%clips: tensor<?x2x3x15x15xf32>) -> tensor<?x5xf32> {
    %frames = var.fold_time %clips : tensor<?x2x3x15x15xf32>
    %w1 = var.get_param @conv1.weight : tensor<8x3x3x3xf32>
    %b1 = var.get_param @conv1.bias : tensor<8xf32>
    %c1 = var.conv %frames, %w1, %b1 padding [1, 1]
        : tensor<?x3x15x15xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>
    %g1 = var.get_param @bn1.weight : tensor<8xf32>
    %h1 = var.get_param @bn1.bias : tensor<8xf32>
    %m1 = var.get_param @bn1.running_mean : tensor<8xf32>
    %v1 = var.get_param @bn1.running_var : tensor<8xf32>
    %n1 = var.batch_norm %c1, %g1, %h1, %m1, %v1
        : tensor<?x8x15x15xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
    %r1 = var.relu %n1 : tensor<?x8x15x15xf32>
    %p1 = var.max_pool %r1 kernel [2, 2] : tensor<?x8x15x15xf32>
    %w2 = var.get_param @conv2.weight : tensor<6x8x3x3xf32>
    %c2 = var.conv %p1, %w2 padding [1, 1] : tensor<?x8x7x7xf32>, tensor<6x8x3x3xf32>
    %g2 = var.get_param @bn2.weight : tensor<6xf32>
    %h2 = var.get_param @bn2.bias : tensor<6xf32>
    %m2 = var.get_param @bn2.running_mean : tensor<6xf32>
    %v2 = var.get_param @bn2.running_var : tensor<6xf32>
    %n2 = var.batch_norm %c2, %g2, %h2, %m2, %v2
        : tensor<?x6x7x7xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>
    %r2 = var.relu6 %n2 : tensor<?x6x7x7xf32>
    %p2 = var.max_pool %r2 kernel [3, 3] stride [2, 2] padding [1, 1]
        : tensor<?x6x7x7xf32>
    %g = var.global_avg_pool %p2 : tensor<?x6x4x4xf32>
    %per = var.unfold_time %g frames 2 : tensor<?x6xf32>
    %clip = var.mean_time %per : tensor<?x2x6xf32>
    %fw = var.get_param @fc.weight : tensor<5x6xf32>
    %fb = var.get_param @fc.bias : tensor<5xf32>
    %y = var.linear %clip, %fw, %fb : tensor<?x6xf32>, tensor<5x6xf32>, tensor<5xf32>
    return %y : tensor<?x5xf32>
  }
}
