// Basic CNN: a small per-frame 2-D network for 101 action classes (UCF101).
// Every frame of a clip goes through three conv-BN-ReLU stages; frame
// features are pooled, averaged over the clip's 8 frames and classified.
//
// Input: clips (batch, 8 frames, 3 channels, 112, 112). The batch dimension
// is dynamic; varc fixes it (--batch for the summary, the micro-batch when
// compiling a training plan).
module {
  var.param @conv1.weight : tensor<32x3x3x3xf32> init kaiming_normal_fan_out
  var.param @bn1.weight : tensor<32xf32> init ones
  var.param @bn1.bias : tensor<32xf32> init zeros
  var.param @bn1.running_mean : tensor<32xf32> init zeros buffer
  var.param @bn1.running_var : tensor<32xf32> init ones buffer
  var.param @conv2.weight : tensor<64x32x3x3xf32> init kaiming_normal_fan_out
  var.param @bn2.weight : tensor<64xf32> init ones
  var.param @bn2.bias : tensor<64xf32> init zeros
  var.param @bn2.running_mean : tensor<64xf32> init zeros buffer
  var.param @bn2.running_var : tensor<64xf32> init ones buffer
  var.param @conv3.weight : tensor<128x64x3x3xf32> init kaiming_normal_fan_out
  var.param @bn3.weight : tensor<128xf32> init ones
  var.param @bn3.bias : tensor<128xf32> init zeros
  var.param @bn3.running_mean : tensor<128xf32> init zeros buffer
  var.param @bn3.running_var : tensor<128xf32> init ones buffer
  var.param @fc.weight : tensor<101x128xf32> init normal(1.000000e-02)
  var.param @fc.bias : tensor<101xf32> init zeros

  func.func @forward(%clips: tensor<?x8x3x112x112xf32>) -> tensor<?x101xf32> {
    %frames = var.fold_time %clips : tensor<?x8x3x112x112xf32>

    // Stage 1: 112 -> 56 (stride 2) -> 28 (pool).
    %w1 = var.get_param @conv1.weight : tensor<32x3x3x3xf32>
    %g1 = var.get_param @bn1.weight : tensor<32xf32>
    %b1 = var.get_param @bn1.bias : tensor<32xf32>
    %m1 = var.get_param @bn1.running_mean : tensor<32xf32>
    %v1 = var.get_param @bn1.running_var : tensor<32xf32>
    %c1 = var.conv %frames, %w1 stride [2, 2] padding [1, 1]
        : tensor<?x3x112x112xf32>, tensor<32x3x3x3xf32>
    %n1 = var.batch_norm %c1, %g1, %b1, %m1, %v1
        : tensor<?x32x56x56xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>
    %r1 = var.relu %n1 : tensor<?x32x56x56xf32>
    %p1 = var.max_pool %r1 kernel [2, 2] : tensor<?x32x56x56xf32>

    // Stage 2: 28 -> 14 (pool).
    %w2 = var.get_param @conv2.weight : tensor<64x32x3x3xf32>
    %g2 = var.get_param @bn2.weight : tensor<64xf32>
    %b2 = var.get_param @bn2.bias : tensor<64xf32>
    %m2 = var.get_param @bn2.running_mean : tensor<64xf32>
    %v2 = var.get_param @bn2.running_var : tensor<64xf32>
    %c2 = var.conv %p1, %w2 padding [1, 1]
        : tensor<?x32x28x28xf32>, tensor<64x32x3x3xf32>
    %n2 = var.batch_norm %c2, %g2, %b2, %m2, %v2
        : tensor<?x64x28x28xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
    %r2 = var.relu %n2 : tensor<?x64x28x28xf32>
    %p2 = var.max_pool %r2 kernel [2, 2] : tensor<?x64x28x28xf32>

    // Stage 3: 14 -> 14.
    %w3 = var.get_param @conv3.weight : tensor<128x64x3x3xf32>
    %g3 = var.get_param @bn3.weight : tensor<128xf32>
    %b3 = var.get_param @bn3.bias : tensor<128xf32>
    %m3 = var.get_param @bn3.running_mean : tensor<128xf32>
    %v3 = var.get_param @bn3.running_var : tensor<128xf32>
    %c3 = var.conv %p2, %w3 padding [1, 1]
        : tensor<?x64x14x14xf32>, tensor<128x64x3x3xf32>
    %n3 = var.batch_norm %c3, %g3, %b3, %m3, %v3
        : tensor<?x128x14x14xf32>, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>
    %r3 = var.relu %n3 : tensor<?x128x14x14xf32>

    // Per-frame features, averaged over the clip, then classified.
    %feat = var.global_avg_pool %r3 : tensor<?x128x14x14xf32>
    %per_frame = var.unfold_time %feat frames 8 : tensor<?x128xf32>
    %clip = var.mean_time %per_frame : tensor<?x8x128xf32>
    %drop = var.dropout %clip p 5.000000e-01 : tensor<?x128xf32>
    %fw = var.get_param @fc.weight : tensor<101x128xf32>
    %fb = var.get_param @fc.bias : tensor<101xf32>
    %logits = var.linear %drop, %fw, %fb
        : tensor<?x128xf32>, tensor<101x128xf32>, tensor<101xf32>
    return %logits : tensor<?x101xf32>
  }
}
