// Round trip of var.optimizer_state, var.adamw_update and var.sgd_update
// through the custom form, twice, and the generic form.
//
// RUN: var-opt %s | FileCheck %s
// RUN: var-opt %s | var-opt | FileCheck %s
// RUN: var-opt %s --mlir-print-op-generic | var-opt | FileCheck %s

var.param @w : tensor<4x2xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
// CHECK: var.optimizer_state @w.exp_avg : tensor<4x2xf32> of @w "exp_avg"{{$}}
var.optimizer_state @w.exp_avg : tensor<4x2xf32> of @w "exp_avg"
// CHECK-NEXT: var.optimizer_state @w.exp_avg_sq : tensor<4x2xf32> of @w "exp_avg_sq"{{$}}
var.optimizer_state @w.exp_avg_sq : tensor<4x2xf32> of @w "exp_avg_sq"
// CHECK-NEXT: var.optimizer_state @b.momentum_buffer : tensor<4xf32> of @b "momentum_buffer"{{$}}
var.optimizer_state @b.momentum_buffer : tensor<4xf32> of @b "momentum_buffer"

// CHECK-LABEL: func.func @updates
// CHECK: var.adamw_update @w, %{{.*}} lr %{{.*}} step %{{.*}} state(@w.exp_avg, @w.exp_avg_sq) betas(9.000000e-01, 0.99899999999999999) eps 1.000000e-08 weight_decay 0.000000e+00 : tensor<4x2xf32>{{$}}
// CHECK: var.adamw_update @w, %{{.*}} lr %{{.*}} step %{{.*}} state(@w.exp_avg, @w.exp_avg_sq) betas(0.000000e+00, 5.000000e-01) eps 1.000000e+00 weight_decay 1.000000e+00 : tensor<4x2xbf16>{{$}}
// CHECK: var.sgd_update @b, %{{.*}} lr %{{.*}} step %{{.*}} state(@b.momentum_buffer) momentum 9.000000e-01 dampening 0.000000e+00 weight_decay 1.000000e-04 nesterov : tensor<4xf32>{{$}}
// CHECK: var.sgd_update @b, %{{.*}} lr %{{.*}} step %{{.*}} state(@b.momentum_buffer) momentum 5.000000e-01 dampening 5.000000e-01 weight_decay 0.000000e+00 : tensor<4xf32>{{$}}
// CHECK: var.sgd_update @w, %{{.*}} lr %{{.*}} step %{{.*}} momentum 0.000000e+00 dampening 0.000000e+00 weight_decay 0.000000e+00 : tensor<4x2xf32>{{$}}
func.func @updates(%gw: tensor<4x2xf32>, %gh: tensor<4x2xbf16>, %gb: tensor<4xf32>,
                   %lr: tensor<f32>, %step: tensor<i64>) {
  var.adamw_update @w, %gw lr %lr step %step state(@w.exp_avg, @w.exp_avg_sq)
      betas(0.9, 0.999) eps 1.0e-8 weight_decay 0.0 : tensor<4x2xf32>
  var.adamw_update @w, %gh lr %lr step %step state(@w.exp_avg, @w.exp_avg_sq)
      betas(0.0, 0.5) eps 1.0 weight_decay 1.0 : tensor<4x2xbf16>
  var.sgd_update @b, %gb lr %lr step %step state(@b.momentum_buffer)
      momentum 0.9 dampening 0.0 weight_decay 1.0e-4 nesterov : tensor<4xf32>
  var.sgd_update @b, %gb lr %lr step %step state(@b.momentum_buffer)
      momentum 0.5 dampening 0.5 weight_decay 0.0 : tensor<4xf32>
  var.sgd_update @w, %gw lr %lr step %step
      momentum 0.0 dampening 0.0 weight_decay 0.0 : tensor<4x2xf32>
  return
}
