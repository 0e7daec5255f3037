// Three conv -> batch norm -> activation stages, each batch norm's result
// read by the next convolution (and, in the backward, by its weight
// gradient): what varc --recompute-bn recomputes.
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
  var.param @conv3.weight : tensor<16x12x3x3xf32> init kaiming_normal_fan_out
  var.param @bn3.weight : tensor<16xf32> init ones
  var.param @bn3.bias : tensor<16xf32> init zeros
  var.param @bn3.running_mean : tensor<16xf32> init zeros buffer
  var.param @bn3.running_var : tensor<16xf32> init ones buffer
  var.param @fc.weight : tensor<8x16xf32> init xavier_uniform
  var.param @fc.bias : tensor<8xf32> init zeros
  func.func @forward(%clips: tensor<?x2x3x16x16xf32>) -> tensor<?x8xf32> {
    %frames = var.fold_time %clips : tensor<?x2x3x16x16xf32>
    %w1 = var.get_param @conv1.weight : tensor<8x3x3x3xf32>
    %g1 = var.get_param @bn1.weight : tensor<8xf32>
    %b1 = var.get_param @bn1.bias : tensor<8xf32>
    %m1 = var.get_param @bn1.running_mean : tensor<8xf32>
    %v1 = var.get_param @bn1.running_var : tensor<8xf32>
    %c1 = var.conv %frames, %w1 padding [1, 1]
        : tensor<?x3x16x16xf32>, tensor<8x3x3x3xf32>
    %n1 = var.batch_norm %c1, %g1, %b1, %m1, %v1
        : tensor<?x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
    %r1 = var.relu %n1 : tensor<?x8x16x16xf32>
    %w2 = var.get_param @conv2.weight : tensor<12x8x3x3xf32>
    %g2 = var.get_param @bn2.weight : tensor<12xf32>
    %b2 = var.get_param @bn2.bias : tensor<12xf32>
    %m2 = var.get_param @bn2.running_mean : tensor<12xf32>
    %v2 = var.get_param @bn2.running_var : tensor<12xf32>
    %c2 = var.conv %r1, %w2 padding [1, 1]
        : tensor<?x8x16x16xf32>, tensor<12x8x3x3xf32>
    %n2 = var.batch_norm %c2, %g2, %b2, %m2, %v2
        : tensor<?x12x16x16xf32>, tensor<12xf32>, tensor<12xf32>, tensor<12xf32>, tensor<12xf32>
    %r2 = var.relu6 %n2 : tensor<?x12x16x16xf32>
    %w3 = var.get_param @conv3.weight : tensor<16x12x3x3xf32>
    %g3 = var.get_param @bn3.weight : tensor<16xf32>
    %b3 = var.get_param @bn3.bias : tensor<16xf32>
    %m3 = var.get_param @bn3.running_mean : tensor<16xf32>
    %v3 = var.get_param @bn3.running_var : tensor<16xf32>
    %c3 = var.conv %r2, %w3 stride [2, 2] padding [1, 1]
        : tensor<?x12x16x16xf32>, tensor<16x12x3x3xf32>
    %n3 = var.batch_norm %c3, %g3, %b3, %m3, %v3
        : tensor<?x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
    %r3 = var.relu %n3 : tensor<?x16x8x8xf32>
    %g = var.global_avg_pool %r3 : tensor<?x16x8x8xf32>
    %per = var.unfold_time %g frames 2 : tensor<?x16xf32>
    %clip = var.mean_time %per : tensor<?x2x16xf32>
    %fw = var.get_param @fc.weight : tensor<8x16xf32>
    %fb = var.get_param @fc.bias : tensor<8xf32>
    %y = var.linear %clip, %fw, %fb : tensor<?x16xf32>, tensor<8x16xf32>, tensor<8xf32>
    return %y : tensor<?x8xf32>
  }
}
