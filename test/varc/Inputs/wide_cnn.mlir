// A 13.4M-parameter per-frame CNN with a wide MLP head and no batch norm, so
// every trainable parameter is bf16 in compute and the ZeRO paper's
// model-state formulas apply exactly (see report-zero-formulas.test).
module {
  var.param @conv1.weight : tensor<32x3x3x3xf32> init kaiming_normal_fan_out
  var.param @conv2.weight : tensor<64x32x3x3xf32> init kaiming_normal_fan_out
  var.param @conv3.weight : tensor<128x64x3x3xf32> init kaiming_normal_fan_out
  var.param @fc1.weight : tensor<4096x128xf32> init xavier_uniform
  var.param @fc1.bias : tensor<4096xf32> init zeros
  var.param @fc2.weight : tensor<2048x4096xf32> init xavier_uniform
  var.param @fc2.bias : tensor<2048xf32> init zeros
  var.param @fc3.weight : tensor<2048x2048xf32> init xavier_uniform
  var.param @fc3.bias : tensor<2048xf32> init zeros
  var.param @fc4.weight : tensor<101x2048xf32> init normal(0.01)
  var.param @fc4.bias : tensor<101xf32> init zeros

  func.func @forward(%clips: tensor<?x8x3x112x112xf32>) -> tensor<?x101xf32> {
    %frames = var.fold_time %clips : tensor<?x8x3x112x112xf32>
    %w1 = var.get_param @conv1.weight : tensor<32x3x3x3xf32>
    %c1 = var.conv %frames, %w1 stride [2, 2] padding [1, 1]
        : tensor<?x3x112x112xf32>, tensor<32x3x3x3xf32>
    %r1 = var.relu %c1 : tensor<?x32x56x56xf32>
    %w2 = var.get_param @conv2.weight : tensor<64x32x3x3xf32>
    %c2 = var.conv %r1, %w2 stride [2, 2] padding [1, 1]
        : tensor<?x32x56x56xf32>, tensor<64x32x3x3xf32>
    %r2 = var.relu %c2 : tensor<?x64x28x28xf32>
    %w3 = var.get_param @conv3.weight : tensor<128x64x3x3xf32>
    %c3 = var.conv %r2, %w3 stride [2, 2] padding [1, 1]
        : tensor<?x64x28x28xf32>, tensor<128x64x3x3xf32>
    %r3 = var.relu %c3 : tensor<?x128x14x14xf32>
    %g = var.global_avg_pool %r3 : tensor<?x128x14x14xf32>
    %per_frame = var.unfold_time %g frames 8 : tensor<?x128xf32>
    %clip = var.mean_time %per_frame : tensor<?x8x128xf32>
    %fw1 = var.get_param @fc1.weight : tensor<4096x128xf32>
    %fb1 = var.get_param @fc1.bias : tensor<4096xf32>
    %h1 = var.linear %clip, %fw1, %fb1
        : tensor<?x128xf32>, tensor<4096x128xf32>, tensor<4096xf32>
    %a1 = var.relu %h1 : tensor<?x4096xf32>
    %fw2 = var.get_param @fc2.weight : tensor<2048x4096xf32>
    %fb2 = var.get_param @fc2.bias : tensor<2048xf32>
    %h2 = var.linear %a1, %fw2, %fb2
        : tensor<?x4096xf32>, tensor<2048x4096xf32>, tensor<2048xf32>
    %a2 = var.relu %h2 : tensor<?x2048xf32>
    %fw3 = var.get_param @fc3.weight : tensor<2048x2048xf32>
    %fb3 = var.get_param @fc3.bias : tensor<2048xf32>
    %h3 = var.linear %a2, %fw3, %fb3
        : tensor<?x2048xf32>, tensor<2048x2048xf32>, tensor<2048xf32>
    %a3 = var.relu %h3 : tensor<?x2048xf32>
    %fw4 = var.get_param @fc4.weight : tensor<101x2048xf32>
    %fb4 = var.get_param @fc4.bias : tensor<101xf32>
    %y = var.linear %a3, %fw4, %fb4
        : tensor<?x2048xf32>, tensor<101x2048xf32>, tensor<101xf32>
    return %y : tensor<?x101xf32>
  }
}
