// Gradients of a channels-last forward: --var-autodiff gives every backward
// op of a channels-last op the attribute, so the backward runs channels-last
// too; the bias gradient of an NHWC convolution sums every dimension but
// the last. The same with frozen batch norm.
//
// RUN: var-opt %s --var-specialize-batch=batch=2 --var-channels-last --var-autodiff | FileCheck %s
// RUN: var-opt %s --var-specialize-batch=batch=2 --var-channels-last --var-autodiff=freeze-batch-norm | FileCheck %s --check-prefix=FROZEN

var.param @conv.weight : tensor<8x3x3x3xf32> init kaiming_normal_fan_out
var.param @conv.bias : tensor<8xf32> init zeros
var.param @bn.weight : tensor<8xf32> init ones
var.param @bn.bias : tensor<8xf32> init zeros
var.param @bn.running_mean : tensor<8xf32> init zeros buffer
var.param @bn.running_var : tensor<8xf32> init ones buffer
var.param @conv2.weight : tensor<8x8x1x1xf32> init kaiming_normal_fan_out
var.param @fc.weight : tensor<10x8xf32> init normal(1.000000e-02)

// CHECK-LABEL: func.func @train_step
// CHECK: var.transpose %{{.*}} [0, 2, 3, 1] : tensor<2x3x16x16xf32>
// CHECK: var.conv %{{.*}} padding [1, 1] channels_last : tensor<2x16x16x3xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>
// CHECK: var.batch_norm_train %{{.*}} channels_last : tensor<2x16x16x8xf32>, tensor<8xf32>
// CHECK: var.max_pool %{{.*}} kernel [2, 2] channels_last : tensor<2x16x16x8xf32>
// CHECK: var.avg_pool %{{.*}} kernel [2, 2] channels_last : tensor<2x8x8x8xf32>
// CHECK: var.global_avg_pool %{{.*}} channels_last : tensor<2x4x4x8xf32>
// CHECK: var.softmax_cross_entropy
// CHECK-NOT: var.transpose
// CHECK: var.global_avg_pool_grad %{{.*}} channels_last : tensor<2x8xf32> -> tensor<2x4x4x8xf32>
// CHECK: var.avg_pool_grad %{{.*}} kernel [2, 2] channels_last : tensor<2x4x4x8xf32> -> tensor<2x8x8x8xf32>
// CHECK: var.max_pool_grad %{{.*}}, %{{.*}}, %{{.*}} kernel [2, 2] channels_last : tensor<2x16x16x8xf32>, tensor<2x8x8x8xf32>
// CHECK: var.conv_grad_input %{{.*}}, %{{.*}} channels_last : tensor<2x16x16x8xf32>, tensor<8x8x1x1xf32> -> tensor<2x16x16x8xf32>
// CHECK: var.relu_grad %{{.*}} : tensor<2x16x16x8xf32>
// CHECK: var.batch_norm_grad %{{.*}} channels_last : tensor<2x16x16x8xf32>, tensor<8xf32>
// CHECK: var.conv_grad_weight %{{.*}}, %{{.*}} padding [1, 1] channels_last : tensor<2x16x16x3xf32>, tensor<2x16x16x8xf32> -> tensor<8x3x3x3xf32>
// CHECK: var.reduce_sum %{{.*}} dims [0, 1, 2] : tensor<2x16x16x8xf32>
// CHECK: var.param_grad @conv.bias
// CHECK-NOT: var.transpose
// CHECK: return

// FROZEN-LABEL: func.func @train_step
// FROZEN: var.batch_norm %{{.*}} channels_last : tensor<2x16x16x8xf32>
// FROZEN: var.batch_norm_frozen_grad %{{.*}} channels_last : tensor<2x16x16x8xf32>, tensor<8xf32>
func.func @forward(%x: tensor<?x3x16x16xf32>) -> tensor<?x10xf32> {
  %w = var.get_param @conv.weight : tensor<8x3x3x3xf32>
  %b = var.get_param @conv.bias : tensor<8xf32>
  %g = var.get_param @bn.weight : tensor<8xf32>
  %beta = var.get_param @bn.bias : tensor<8xf32>
  %m = var.get_param @bn.running_mean : tensor<8xf32>
  %v = var.get_param @bn.running_var : tensor<8xf32>
  %fc = var.get_param @fc.weight : tensor<10x8xf32>
  %w2 = var.get_param @conv2.weight : tensor<8x8x1x1xf32>
  %0 = var.conv %x, %w, %b padding [1, 1] : tensor<?x3x16x16xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>
  %1 = var.batch_norm %0, %g, %beta, %m, %v : tensor<?x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %2 = var.relu %1 : tensor<?x8x16x16xf32>
  %c = var.conv %2, %w2 : tensor<?x8x16x16xf32>, tensor<8x8x1x1xf32>
  %3 = var.max_pool %c kernel [2, 2] : tensor<?x8x16x16xf32>
  %4 = var.avg_pool %3 kernel [2, 2] : tensor<?x8x8x8xf32>
  %5 = var.global_avg_pool %4 : tensor<?x8x4x4xf32>
  %6 = var.linear %5, %fc : tensor<?x8xf32>, tensor<10x8xf32>
  return %6 : tensor<?x10xf32>
}
