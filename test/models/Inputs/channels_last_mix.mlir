// A small model of the patterns --var-channels-last rewrites that the zoo
// lacks: a channel concat, a broadcast per-channel scale parameter, an add
// with a lower-rank bias, dropout between convolutions, and flatten, on
// the frames of 2-frame clips.
module {
  var.param @stem.weight : tensor<8x3x3x3xf32> init kaiming_normal_fan_out
  var.param @bn.weight : tensor<8xf32> init ones
  var.param @bn.bias : tensor<8xf32> init zeros
  var.param @bn.running_mean : tensor<8xf32> init zeros buffer
  var.param @bn.running_var : tensor<8xf32> init ones buffer
  var.param @a.weight : tensor<4x8x3x3xf32> init kaiming_normal_fan_out
  var.param @b.weight : tensor<6x8x1x1xf32> init kaiming_normal_fan_out
  var.param @scale : tensor<1x10x1x1xf32> init uniform(1.000000e+00)
  var.param @shift : tensor<10x1x1xf32> init uniform(1.000000e+00)
  var.param @mix.weight : tensor<4x10x1x1xf32> init kaiming_normal_fan_out
  var.param @fc.weight : tensor<5x64xf32> init normal(1.000000e-01)
  var.param @fc.bias : tensor<5xf32> init zeros

  func.func @forward(%clips: tensor<?x2x3x16x16xf32>) -> tensor<?x5xf32> {
    %x = var.fold_time %clips : tensor<?x2x3x16x16xf32>
    %w = var.get_param @stem.weight : tensor<8x3x3x3xf32>
    %g = var.get_param @bn.weight : tensor<8xf32>
    %b = var.get_param @bn.bias : tensor<8xf32>
    %m = var.get_param @bn.running_mean : tensor<8xf32>
    %v = var.get_param @bn.running_var : tensor<8xf32>
    %wa = var.get_param @a.weight : tensor<4x8x3x3xf32>
    %wb = var.get_param @b.weight : tensor<6x8x1x1xf32>
    %s = var.get_param @scale : tensor<1x10x1x1xf32>
    %t = var.get_param @shift : tensor<10x1x1xf32>
    %wm = var.get_param @mix.weight : tensor<4x10x1x1xf32>
    %fw = var.get_param @fc.weight : tensor<5x64xf32>
    %fb = var.get_param @fc.bias : tensor<5xf32>
    %0 = var.conv %x, %w padding [1, 1] : tensor<?x3x16x16xf32>, tensor<8x3x3x3xf32>
    %1 = var.batch_norm %0, %g, %b, %m, %v : tensor<?x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
    %2 = var.relu %1 : tensor<?x8x16x16xf32>
    %3 = var.max_pool %2 kernel [2, 2] : tensor<?x8x16x16xf32>
    %4 = var.conv %3, %wa padding [1, 1] : tensor<?x8x8x8xf32>, tensor<4x8x3x3xf32>
    %5 = var.conv %3, %wb : tensor<?x8x8x8xf32>, tensor<6x8x1x1xf32>
    %6 = var.concat %4, %5 axis 1 : tensor<?x4x8x8xf32>, tensor<?x6x8x8xf32>
    %7 = var.silu %6 : tensor<?x10x8x8xf32>
    %8 = var.mul %7, %s : tensor<?x10x8x8xf32>, tensor<1x10x1x1xf32>
    %9 = var.add %8, %t : tensor<?x10x8x8xf32>, tensor<10x1x1xf32>
    %10 = var.dropout %9 p 0.25 : tensor<?x10x8x8xf32>
    %11 = var.conv %10, %wm : tensor<?x10x8x8xf32>, tensor<4x10x1x1xf32>
    %12 = var.avg_pool %11 kernel [2, 2] : tensor<?x4x8x8xf32>
    %13 = var.hardswish %12 : tensor<?x4x4x4xf32>
    %14 = var.flatten %13 : tensor<?x4x4x4xf32>
    %15 = var.linear %14, %fw, %fb : tensor<?x64xf32>, tensor<5x64xf32>, tensor<5xf32>
    %16 = var.unfold_time %15 frames 2 : tensor<?x5xf32>
    %17 = var.mean_time %16 : tensor<?x2x5xf32>
    return %17 : tensor<?x5xf32>
  }
}
