// A padded batch norm in the training step: --var-autodiff moves the
// buffers by the statistics of their own channels (a slice of the padded
// ones), and the gradients of the padded reads are slices of the padded
// gradients, in the parameters' own shapes.
// RUN: var-opt %s --var-pad-channels --var-autodiff | FileCheck %s

// CHECK-LABEL: func.func @train_step(
// CHECK: %[[BN:.*]], %{{.*}}, %{{.*}}, %[[MEAN:.*]], %[[VAR:.*]] = var.batch_norm_train %{{.*}} channels_last : tensor<2x4x4x8xf32>, tensor<8xf32>
// CHECK-NEXT: %[[M:.*]] = var.slice %[[MEAN]] axis 0 offset 0 size 3 : tensor<8xf32>
// CHECK-NEXT: var.update_buffer @bn.running_mean, %[[M]] : tensor<3xf32>
// CHECK-NEXT: %[[V:.*]] = var.slice %[[VAR]] axis 0 offset 0 size 3 : tensor<8xf32>
// CHECK-NEXT: var.update_buffer @bn.running_var, %[[V]] : tensor<3xf32>
// CHECK-DAG: var.param_grad @c2.weight, %{{.*}} : tensor<6x3x1x1xf32>
// CHECK-DAG: var.param_grad @bn.weight, %{{.*}} : tensor<3xf32>
// CHECK-DAG: var.param_grad @bn.bias, %{{.*}} : tensor<3xf32>
// CHECK-DAG: var.param_grad @c1.weight, %{{.*}} : tensor<3x4x3x3xf32>
module {
  var.param @c1.weight : tensor<3x4x3x3xf32> init kaiming_normal_fan_in
  var.param @bn.weight : tensor<3xf32> init ones
  var.param @bn.bias : tensor<3xf32> init zeros
  var.param @bn.running_mean : tensor<3xf32> init zeros buffer
  var.param @bn.running_var : tensor<3xf32> init ones buffer
  var.param @c2.weight : tensor<6x3x1x1xf32> init kaiming_normal_fan_in
  func.func @forward(%x: tensor<2x4x4x4xf32>) -> tensor<2x6xf32> {
    %w1 = var.get_param @c1.weight : tensor<3x4x3x3xf32>
    %c1 = var.conv %x, %w1 padding [1, 1] channels_last : tensor<2x4x4x4xf32>, tensor<3x4x3x3xf32>
    %g = var.get_param @bn.weight : tensor<3xf32>
    %b = var.get_param @bn.bias : tensor<3xf32>
    %m = var.get_param @bn.running_mean : tensor<3xf32>
    %v = var.get_param @bn.running_var : tensor<3xf32>
    %bn = var.batch_norm %c1, %g, %b, %m, %v channels_last : tensor<2x4x4x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
    %r = var.relu %bn : tensor<2x4x4x3xf32>
    %w2 = var.get_param @c2.weight : tensor<6x3x1x1xf32>
    %c2 = var.conv %r, %w2 channels_last : tensor<2x4x4x3xf32>, tensor<6x3x1x1xf32>
    %p = var.global_avg_pool %c2 channels_last : tensor<2x4x4x6xf32>
    return %p : tensor<2x6xf32>
  }
}
