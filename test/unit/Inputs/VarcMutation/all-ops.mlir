// Seed for VarcMutationTest: a small, valid model that uses every var op and
// every initializer, so mutations reach every op's type inference, verifier
// and FLOP count. Not a meaningful network.
module {
  var.param @conv.weight : tensor<8x3x3x3xf32> init kaiming_normal_fan_out
  var.param @conv.bias : tensor<8xf32> init zeros
  var.param @dw.weight : tensor<8x1x3x3xf32> init kaiming_normal_fan_in
  var.param @gate.scale : tensor<8x1x1xf32> init ones
  var.param @conv3d.weight : tensor<4x3x3x3x3xf32> init kaiming_uniform
  var.param @lstm.weight_ih_l0 : tensor<16x8xf32> init xavier_uniform
  var.param @lstm.weight_hh_l0 : tensor<16x4xf32> init uniform(5.000000e-01)
  var.param @lstm.bias_ih_l0 : tensor<16xf32> init zeros
  var.param @lstm.bias_hh_l0 : tensor<16xf32> init zeros
  var.param @bn.weight : tensor<12xf32> init ones
  var.param @bn.bias : tensor<12xf32> init zeros
  var.param @bn.running_mean : tensor<12xf32> init zeros buffer
  var.param @bn.running_var : tensor<12xf32> init ones buffer
  var.param @bn.num_batches_tracked : tensor<i64> init zeros buffer
  var.param @fc.weight : tensor<5x12xf32> init normal(1.000000e-02)
  var.param @fc.bias : tensor<5xf32> init zeros

  func.func @forward(%clips: tensor<?x4x3x16x16xf32>,
                     %volume: tensor<?x3x4x8x8xf32>,
                     %labels: tensor<?xi64>) -> tensor<?x5xf32> {
    %frames = var.fold_time %clips : tensor<?x4x3x16x16xf32>
    %w = var.get_param @conv.weight : tensor<8x3x3x3xf32>
    %b = var.get_param @conv.bias : tensor<8xf32>
    %c = var.conv %frames, %w, %b stride [2, 2] padding [1, 1]
        : tensor<?x3x16x16xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>
    %dw = var.get_param @dw.weight : tensor<8x1x3x3xf32>
    %d = var.conv %c, %dw padding [2, 2] dilation [2, 2] groups 8
        : tensor<?x8x8x8xf32>, tensor<8x1x3x3xf32>
    %r6 = var.relu6 %d : tensor<?x8x8x8xf32>
    %hs = var.hardswish %r6 : tensor<?x8x8x8xf32>
    %ap = var.avg_pool %hs kernel [2, 2] : tensor<?x8x8x8xf32>
    %mp = var.max_pool %hs kernel [3, 3] stride [2, 2] padding [1, 1]
        : tensor<?x8x8x8xf32>
    %sum = var.add %ap, %mp : tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>
    %sig = var.sigmoid %sum : tensor<?x8x4x4xf32>
    %scale = var.get_param @gate.scale : tensor<8x1x1xf32>
    %gated = var.mul %sig, %scale : tensor<?x8x4x4xf32>, tensor<8x1x1xf32>
    %act = var.silu %gated : tensor<?x8x4x4xf32>
    %pooled = var.global_avg_pool %act keep_dims : tensor<?x8x4x4xf32>
    %flat = var.flatten %pooled from 1 to -1 : tensor<?x8x1x1xf32>
    %feat = var.reshape %flat [-1, 8] : tensor<?x8xf32>
    %seq_in = var.unfold_time %feat frames 4 : tensor<?x8xf32>
    %wih = var.get_param @lstm.weight_ih_l0 : tensor<16x8xf32>
    %whh = var.get_param @lstm.weight_hh_l0 : tensor<16x4xf32>
    %bih = var.get_param @lstm.bias_ih_l0 : tensor<16xf32>
    %bhh = var.get_param @lstm.bias_hh_l0 : tensor<16xf32>
    %seq, %last = var.lstm %seq_in, %wih, %whh, %bih, %bhh
        : tensor<?x4x8xf32>, tensor<16x8xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf32>
    %avg = var.mean_time %seq : tensor<?x4x4xf32>
    %w3 = var.get_param @conv3d.weight : tensor<4x3x3x3x3xf32>
    %v = var.conv %volume, %w3 padding [1, 1, 1]
        : tensor<?x3x4x8x8xf32>, tensor<4x3x3x3x3xf32>
    %vr = var.relu %v : tensor<?x4x4x8x8xf32>
    %vp = var.global_avg_pool %vr : tensor<?x4x4x8x8xf32>
    %cat = var.concat %last, %avg, %vp axis 1
        : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
    %g = var.get_param @bn.weight : tensor<12xf32>
    %beta = var.get_param @bn.bias : tensor<12xf32>
    %mean = var.get_param @bn.running_mean : tensor<12xf32>
    %var = var.get_param @bn.running_var : tensor<12xf32>
    %n = var.batch_norm %cat, %g, %beta, %mean, %var eps 1.000000e-03 momentum 1.000000e-01
        : tensor<?x12xf32>, tensor<12xf32>, tensor<12xf32>, tensor<12xf32>, tensor<12xf32>
    %drop = var.dropout %n p 2.500000e-01 : tensor<?x12xf32>
    %fw = var.get_param @fc.weight : tensor<5x12xf32>
    %fb = var.get_param @fc.bias : tensor<5xf32>
    %logits = var.linear %drop, %fw, %fb
        : tensor<?x12xf32>, tensor<5x12xf32>, tensor<5xf32>
    %loss = var.softmax_cross_entropy %logits, %labels label_smoothing 1.000000e-01
        : tensor<?x5xf32>, tensor<?xi64>
    return %logits : tensor<?x5xf32>
  }
}
