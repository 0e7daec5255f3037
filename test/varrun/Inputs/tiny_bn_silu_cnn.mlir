// tiny_bn_cnn (Inputs/tiny_bn_cnn.mlir) with SiLU for its ReLUs: one after
// a batch norm (var-fuse-bn-act folds it, forward and backward), one after
// a convolution (it stays).
module {
  var.param @conv1.weight : tensor<6x3x3x3xf32> init kaiming_normal_fan_out
  var.param @bn1.weight : tensor<6xf32> init ones
  var.param @bn1.bias : tensor<6xf32> init zeros
  var.param @bn1.running_mean : tensor<6xf32> init zeros buffer
  var.param @bn1.running_var : tensor<6xf32> init ones buffer
  var.param @conv2.weight : tensor<8x6x3x3xf32> init kaiming_normal_fan_out
  var.param @fc.weight : tensor<8x8xf32> init xavier_uniform
  var.param @fc.bias : tensor<8xf32> init zeros
  func.func @forward(%clips: tensor<?x4x3x16x16xf32>) -> tensor<?x8xf32> {
    %frames = var.fold_time %clips : tensor<?x4x3x16x16xf32>
    %w1 = var.get_param @conv1.weight : tensor<6x3x3x3xf32>
    %g1 = var.get_param @bn1.weight : tensor<6xf32>
    %b1 = var.get_param @bn1.bias : tensor<6xf32>
    %m1 = var.get_param @bn1.running_mean : tensor<6xf32>
    %v1 = var.get_param @bn1.running_var : tensor<6xf32>
    %c1 = var.conv %frames, %w1 stride [2, 2] padding [1, 1]
        : tensor<?x3x16x16xf32>, tensor<6x3x3x3xf32>
    %n1 = var.batch_norm %c1, %g1, %b1, %m1, %v1
        : tensor<?x6x8x8xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>
    %r1 = var.silu %n1 : tensor<?x6x8x8xf32>
    %w2 = var.get_param @conv2.weight : tensor<8x6x3x3xf32>
    %c2 = var.conv %r1, %w2 padding [1, 1] : tensor<?x6x8x8xf32>, tensor<8x6x3x3xf32>
    %r2 = var.silu %c2 : tensor<?x8x8x8xf32>
    %g = var.global_avg_pool %r2 : tensor<?x8x8x8xf32>
    %per = var.unfold_time %g frames 4 : tensor<?x8xf32>
    %clip = var.mean_time %per : tensor<?x4x8xf32>
    %drop = var.dropout %clip p 3.000000e-01 : tensor<?x8xf32>
    %fw = var.get_param @fc.weight : tensor<8x8xf32>
    %fb = var.get_param @fc.bias : tensor<8xf32>
    %y = var.linear %drop, %fw, %fb : tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32>
    return %y : tensor<?x8xf32>
  }
}
