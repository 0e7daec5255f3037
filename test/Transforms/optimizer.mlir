// --var-optimizer turns var.param_grad into updates on explicit state, at the
// end of the step, in the order the gradients complete.
//
// RUN: var-opt %s --var-autodiff --var-optimizer | FileCheck %s --check-prefix=ADAMW
// RUN: var-opt %s --var-autodiff --var-optimizer="optimizer=sgd momentum=0.9 weight-decay=0.0005 nesterov=true" | FileCheck %s --check-prefix=SGD
// RUN: var-opt %s --var-autodiff --var-optimizer="optimizer=sgd momentum=0 beta1=2" | FileCheck %s --check-prefix=PLAIN
// RUN: var-opt %s --var-autodiff --var-optimizer | var-opt | FileCheck %s --check-prefix=ADAMW

// ADAMW: var.param @fc.weight : tensor<3x8xf32>
// ADAMW-NEXT: var.param @fc.bias : tensor<3xf32>
// ADAMW-NEXT: var.param @bn.mean : tensor<3xf32> init zeros buffer
// ADAMW-NEXT: var.optimizer_state @fc.bias.exp_avg : tensor<3xf32> of @fc.bias "exp_avg"
// ADAMW-NEXT: var.optimizer_state @fc.bias.exp_avg_sq : tensor<3xf32> of @fc.bias "exp_avg_sq"
// ADAMW-NEXT: var.optimizer_state @fc.weight.exp_avg : tensor<3x8xf32> of @fc.weight "exp_avg"
// ADAMW-NEXT: var.optimizer_state @fc.weight.exp_avg_sq : tensor<3x8xf32> of @fc.weight "exp_avg_sq"
// ADAMW-LABEL: func.func @train_step(
// ADAMW-SAME: %{{.*}}: tensor<4x8xf32> {var.role = "input"}, %{{.*}}: tensor<4xi64> {var.role = "labels"},
// ADAMW-SAME: %[[LR:.*]]: tensor<f32> {var.role = "lr"}, %[[STEP:.*]]: tensor<i64> {var.role = "step"})
// ADAMW-NOT: var.param_grad
// ADAMW: %[[DW:.*]] = var.linear_grad_weight
// ADAMW: %[[DB:.*]] = var.reduce_sum
// ADAMW: var.adamw_update @fc.bias, %[[DB]] lr %[[LR]] step %[[STEP]] state(@fc.bias.exp_avg, @fc.bias.exp_avg_sq) betas(9.000000e-01, 0.99899999999999999) eps 1.000000e-08 weight_decay 1.000000e-02 : tensor<3xf32>
// ADAMW-NEXT: var.adamw_update @fc.weight, %[[DW]] lr %[[LR]] step %[[STEP]] state(@fc.weight.exp_avg, @fc.weight.exp_avg_sq)
// ADAMW-NEXT: return

// SGD: var.optimizer_state @fc.bias.momentum_buffer : tensor<3xf32> of @fc.bias "momentum_buffer"
// SGD-NEXT: var.optimizer_state @fc.weight.momentum_buffer : tensor<3x8xf32> of @fc.weight "momentum_buffer"
// SGD: var.sgd_update @fc.bias, %{{.*}} lr %{{.*}} step %{{.*}} state(@fc.bias.momentum_buffer) momentum 9.000000e-01 dampening 0.000000e+00 weight_decay 5.000000e-04 nesterov : tensor<3xf32>
// SGD-NEXT: var.sgd_update @fc.weight

// Plain SGD keeps no state; AdamW's options do not matter to it.
// PLAIN-NOT: var.optimizer_state
// PLAIN: var.sgd_update @fc.bias, %{{.*}} lr %{{.*}} step %{{.*}} momentum 0.000000e+00 dampening 0.000000e+00 weight_decay 1.000000e-02 : tensor<3xf32>
module {
  var.param @fc.weight : tensor<3x8xf32> init xavier_uniform
  var.param @fc.bias : tensor<3xf32> init zeros
  var.param @bn.mean : tensor<3xf32> init zeros buffer
  func.func @forward(%x: tensor<4x8xf32>) -> tensor<4x3xf32> {
    %w = var.get_param @fc.weight : tensor<3x8xf32>
    %b = var.get_param @fc.bias : tensor<3xf32>
    %y = var.linear %x, %w, %b : tensor<4x8xf32>, tensor<3x8xf32>, tensor<3xf32>
    return %y : tensor<4x3xf32>
  }
}
