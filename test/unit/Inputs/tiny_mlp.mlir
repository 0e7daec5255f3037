// A batch-norm-free model small enough for exact ZeRO equivalence tests:
// per-frame linear features, mean over time, two linear layers.
module {
  var.param @fc1.weight : tensor<16x12xf32> init kaiming_uniform
  var.param @fc1.bias : tensor<16xf32> init uniform(0.1)
  var.param @fc2.weight : tensor<4x16xf32> init xavier_uniform
  var.param @fc2.bias : tensor<4xf32> init zeros
  func.func @forward(%clips: tensor<?x3x12xf32>) -> tensor<?x4xf32> {
    %frames = var.fold_time %clips : tensor<?x3x12xf32>
    %w1 = var.get_param @fc1.weight : tensor<16x12xf32>
    %b1 = var.get_param @fc1.bias : tensor<16xf32>
    %h = var.linear %frames, %w1, %b1 : tensor<?x12xf32>, tensor<16x12xf32>, tensor<16xf32>
    %r = var.relu %h : tensor<?x16xf32>
    %per = var.unfold_time %r frames 3 : tensor<?x16xf32>
    %clip = var.mean_time %per : tensor<?x3x16xf32>
    %w2 = var.get_param @fc2.weight : tensor<4x16xf32>
    %b2 = var.get_param @fc2.bias : tensor<4xf32>
    %y = var.linear %clip, %w2, %b2 : tensor<?x16xf32>, tensor<4x16xf32>, tensor<4xf32>
    return %y : tensor<?x4xf32>
  }
}
