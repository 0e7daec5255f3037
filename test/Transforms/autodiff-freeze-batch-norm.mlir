// --var-autodiff="freeze-batch-norm=1": batch norm stays in evaluation form
// in the training step (running statistics normalize, no buffer updates),
// weight and bias still get gradients through var.batch_norm_frozen_grad.
//
// RUN: var-opt %s -split-input-file --var-autodiff="freeze-batch-norm=1" | FileCheck %s
// RUN: var-opt %s -split-input-file --var-mixed-precision --var-autodiff="freeze-batch-norm=1" | FileCheck %s --check-prefix=BF16
// RUN: var-opt %s -split-input-file --var-autodiff | FileCheck %s --check-prefix=TRAIN

// conv -> batch norm -> relu -> linear. The batch norm is cloned with its
// attributes, its running statistics are only read, and its backward uses
// them with the forward's eps; the dropout still trains.
// CHECK-LABEL: func.func @train_step(
// CHECK-NOT: var.batch_norm_train
// CHECK-NOT: var.update_buffer
// CHECK: %[[C1:.*]] = var.conv
// CHECK-DAG: %[[G:.*]] = var.get_param @bn1.weight
// CHECK-DAG: %[[M:.*]] = var.get_param @bn1.running_mean
// CHECK-DAG: %[[V:.*]] = var.get_param @bn1.running_var
// CHECK: %[[N1:.*]] = var.batch_norm %[[C1]], %[[G]], %{{.*}}, %[[M]], %[[V]] eps 1.000000e-03 momentum 2.000000e-01 : tensor<2x4x4x4xf32>
// CHECK: var.dropout_train
// CHECK: %[[DN1:.*]] = var.relu_grad
// CHECK: %[[DX:[^,]*]], %[[DG:[^,]*]], %[[DB:[^,]*]] = var.batch_norm_frozen_grad %[[C1]], %[[DN1]], %[[G]], %[[M]], %[[V]] eps 1.000000e-03 : tensor<2x4x4x4xf32>, tensor<4xf32>
// CHECK: var.param_grad @bn1.bias, %[[DB]] : tensor<4xf32>
// CHECK: var.param_grad @bn1.weight, %[[DG]] : tensor<4xf32>
// CHECK: %[[DW1:.*]] = var.conv_grad_weight %{{.*}}, %[[DX]]
// CHECK: var.param_grad @conv1.weight, %[[DW1]]
// CHECK-NOT: var.update_buffer
// CHECK: return

// Under bf16 compute, the statistics and weight stay f32 as in the
// evaluation step; the weight and bias gradients are f32.
// BF16-LABEL: func.func @train_step(
// BF16: var.batch_norm %{{.*}} : tensor<2x4x4x4xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
// BF16: var.batch_norm_frozen_grad %{{.*}} : tensor<2x4x4x4xbf16>, tensor<4xf32>
// BF16: var.param_grad @bn1.bias, %{{.*}} : tensor<4xf32>
// BF16: var.param_grad @bn1.weight, %{{.*}} : tensor<4xf32>
// BF16-NOT: var.update_buffer

// Without the option, the same model trains on batch statistics.
// TRAIN-LABEL: func.func @train_step(
// TRAIN: var.batch_norm_train
// TRAIN: var.update_buffer @bn1.running_mean
// TRAIN: var.update_buffer @bn1.running_var
// TRAIN-NOT: var.batch_norm_frozen_grad
// TRAIN: var.batch_norm_grad
// TRAIN-NOT: var.batch_norm_frozen_grad
module {
  var.param @conv1.weight : tensor<4x3x3x3xf32> init kaiming_normal_fan_out
  var.param @bn1.weight : tensor<4xf32> init ones
  var.param @bn1.bias : tensor<4xf32> init zeros
  var.param @bn1.running_mean : tensor<4xf32> init zeros buffer
  var.param @bn1.running_var : tensor<4xf32> init ones buffer
  var.param @fc.weight : tensor<5x64xf32> init normal(0.01)
  func.func @forward(%x: tensor<2x3x4x4xf32>) -> tensor<2x5xf32> {
    %w1 = var.get_param @conv1.weight : tensor<4x3x3x3xf32>
    %c1 = var.conv %x, %w1 padding [1, 1] : tensor<2x3x4x4xf32>, tensor<4x3x3x3xf32>
    %g1 = var.get_param @bn1.weight : tensor<4xf32>
    %b1 = var.get_param @bn1.bias : tensor<4xf32>
    %m1 = var.get_param @bn1.running_mean : tensor<4xf32>
    %v1 = var.get_param @bn1.running_var : tensor<4xf32>
    %n1 = var.batch_norm %c1, %g1, %b1, %m1, %v1 eps 1.0e-3 momentum 0.2
        : tensor<2x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
    %r1 = var.relu %n1 : tensor<2x4x4x4xf32>
    %d1 = var.dropout %r1 p 0.5 : tensor<2x4x4x4xf32>
    %f1 = var.flatten %d1 : tensor<2x4x4x4xf32>
    %fw = var.get_param @fc.weight : tensor<5x64xf32>
    %logits = var.linear %f1, %fw : tensor<2x64xf32>, tensor<5x64xf32>
    return %logits : tensor<2x5xf32>
  }
}

// -----

// A batch norm on the input with its weight and bias frozen as buffers
// too: nothing upstream needs a gradient, so no backward op is built.
// CHECK-LABEL: func.func @train_step(
// CHECK: var.batch_norm %{{.*}} : tensor<2x3xf32>
// CHECK-NOT: var.batch_norm_frozen_grad
// CHECK: var.linear_grad_weight
// CHECK-NOT: var.batch_norm_frozen_grad
// CHECK: return
module {
  var.param @g : tensor<3xf32> init ones buffer
  var.param @b : tensor<3xf32> init zeros buffer
  var.param @mean : tensor<3xf32> init zeros buffer
  var.param @var : tensor<3xf32> init ones buffer
  var.param @fc.weight : tensor<2x3xf32> init zeros
  func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x2xf32> {
    %g = var.get_param @g : tensor<3xf32>
    %b = var.get_param @b : tensor<3xf32>
    %m = var.get_param @mean : tensor<3xf32>
    %v = var.get_param @var : tensor<3xf32>
    %y = var.batch_norm %x, %g, %b, %m, %v : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
    %w = var.get_param @fc.weight : tensor<2x3xf32>
    %z = var.linear %y, %w : tensor<2x3xf32>, tensor<2x3xf32>
    return %z : tensor<2x2xf32>
  }
}
