// Every verifier rule of var.optimizer_state, var.adamw_update and
// var.sgd_update.
// RUN: var-opt %s -split-input-file -verify-diagnostics

// expected-error @below {{'var.optimizer_state' op references undefined parameter @nope}}
var.optimizer_state @s : tensor<4xf32> of @nope "exp_avg"

// -----

var.param @m : tensor<4xf32> init zeros buffer
// expected-error @below {{'var.optimizer_state' op parameter @m is a buffer; only trainable parameters have optimizer state and updates}}
var.optimizer_state @s : tensor<4xf32> of @m "exp_avg"

// -----

var.param @w : tensor<4xf32> init zeros
// expected-error @below {{'var.optimizer_state' op type 'tensor<5xf32>' must be f32 with the shape of parameter @w ('tensor<4xf32>')}}
var.optimizer_state @s : tensor<5xf32> of @w "exp_avg"

// -----

var.param @w : tensor<4xf32> init zeros
// expected-error @below {{'var.optimizer_state' op type 'tensor<4xbf16>' must be f32 with the shape of parameter @w ('tensor<4xf32>')}}
var.optimizer_state @s : tensor<4xbf16> of @w "exp_avg"

// -----

var.param @w : tensor<4xf32> init zeros
var.optimizer_state @m : tensor<4xf32> of @w "exp_avg"
var.optimizer_state @v : tensor<4xf32> of @w "exp_avg_sq"
func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.adamw_update' op beta1 must be in [0.000000e+00, 1.000000e+00), got 1.000000e+00}}
  var.adamw_update @w, %g lr %lr step %t state(@m, @v) betas(1.0, 0.999) eps 1.0e-8 weight_decay 0.0 : tensor<4xf32>
  return
}

// -----

var.param @w : tensor<4xf32> init zeros
var.optimizer_state @m : tensor<4xf32> of @w "exp_avg"
var.optimizer_state @v : tensor<4xf32> of @w "exp_avg_sq"
func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.adamw_update' op beta2 must be in [0.000000e+00, 1.000000e+00), got -1.000000e-01}}
  var.adamw_update @w, %g lr %lr step %t state(@m, @v) betas(0.9, -0.1) eps 1.0e-8 weight_decay 0.0 : tensor<4xf32>
  return
}

// -----

var.param @w : tensor<4xf32> init zeros
var.optimizer_state @m : tensor<4xf32> of @w "exp_avg"
var.optimizer_state @v : tensor<4xf32> of @w "exp_avg_sq"
func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.adamw_update' op weight_decay must be in [0.000000e+00, 1.000000e+00], got 2.000000e+00}}
  var.adamw_update @w, %g lr %lr step %t state(@m, @v) betas(0.9, 0.999) eps 1.0e-8 weight_decay 2.0 : tensor<4xf32>
  return
}

// -----

var.param @w : tensor<4xf32> init zeros
var.optimizer_state @m : tensor<4xf32> of @w "exp_avg"
var.optimizer_state @v : tensor<4xf32> of @w "exp_avg_sq"
func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.adamw_update' op eps must be positive and finite, got 0.000000e+00}}
  var.adamw_update @w, %g lr %lr step %t state(@m, @v) betas(0.9, 0.999) eps 0.0 weight_decay 0.0 : tensor<4xf32>
  return
}

// -----

func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.adamw_update' op references undefined parameter @w}}
  var.adamw_update @w, %g lr %lr step %t state(@m, @v) betas(0.9, 0.999) eps 1.0e-8 weight_decay 0.0 : tensor<4xf32>
  return
}

// -----

var.param @w : tensor<4xf32> init zeros
var.optimizer_state @m : tensor<4xf32> of @w "exp_avg"
var.optimizer_state @v : tensor<4xf32> of @w "exp_avg_sq"
func.func @f(%g: tensor<2x2xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.adamw_update' op gradient shape 2x2 differs from parameter @w of shape 4}}
  var.adamw_update @w, %g lr %lr step %t state(@m, @v) betas(0.9, 0.999) eps 1.0e-8 weight_decay 0.0 : tensor<2x2xf32>
  return
}

// -----

var.param @w : tensor<4xbf16> init zeros
func.func @f(%g: tensor<4xbf16>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.adamw_update' op parameter @w must be f32 (the master weights), got 'bf16'}}
  var.adamw_update @w, %g lr %lr step %t state(@m, @v) betas(0.9, 0.999) eps 1.0e-8 weight_decay 0.0 : tensor<4xbf16>
  return
}

// -----

var.param @w : tensor<4xf32> init zeros
var.optimizer_state @m : tensor<4xf32> of @w "exp_avg"
func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.adamw_update' op references undefined optimizer state @v}}
  var.adamw_update @w, %g lr %lr step %t state(@m, @v) betas(0.9, 0.999) eps 1.0e-8 weight_decay 0.0 : tensor<4xf32>
  return
}

// -----

var.param @w : tensor<4xf32> init zeros
var.optimizer_state @m : tensor<4xf32> of @w "exp_avg"
var.optimizer_state @v : tensor<4xf32> of @w "exp_avg_sq"
func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.adamw_update' op state @v is "exp_avg_sq" of @w, expected "exp_avg" of @w}}
  var.adamw_update @w, %g lr %lr step %t state(@v, @m) betas(0.9, 0.999) eps 1.0e-8 weight_decay 0.0 : tensor<4xf32>
  return
}

// -----

var.param @w : tensor<4xf32> init zeros
var.param @u : tensor<4xf32> init zeros
var.optimizer_state @m : tensor<4xf32> of @u "exp_avg"
var.optimizer_state @v : tensor<4xf32> of @w "exp_avg_sq"
func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.adamw_update' op state @m is "exp_avg" of @u, expected "exp_avg" of @w}}
  var.adamw_update @w, %g lr %lr step %t state(@m, @v) betas(0.9, 0.999) eps 1.0e-8 weight_decay 0.0 : tensor<4xf32>
  return
}

// -----

var.param @w : tensor<4xf32> init zeros
func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.sgd_update' op momentum must be in [0.000000e+00, 1.000000e+00], got 1.500000e+00}}
  var.sgd_update @w, %g lr %lr step %t momentum 1.5 dampening 0.0 weight_decay 0.0 : tensor<4xf32>
  return
}

// -----

var.param @w : tensor<4xf32> init zeros
func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.sgd_update' op dampening must be in [0.000000e+00, 1.000000e+00], got -5.000000e-01}}
  var.sgd_update @w, %g lr %lr step %t momentum 0.0 dampening -0.5 weight_decay 0.0 : tensor<4xf32>
  return
}

// -----

var.param @w : tensor<4xf32> init zeros
func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.sgd_update' op weight_decay must be in [0.000000e+00, 1.000000e+00], got 3.000000e+00}}
  var.sgd_update @w, %g lr %lr step %t momentum 0.0 dampening 0.0 weight_decay 3.0 : tensor<4xf32>
  return
}

// -----

var.param @w : tensor<4xf32> init zeros
func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.sgd_update' op momentum 9.000000e-01 needs a momentum buffer}}
  var.sgd_update @w, %g lr %lr step %t momentum 0.9 dampening 0.0 weight_decay 0.0 : tensor<4xf32>
  return
}

// -----

var.param @w : tensor<4xf32> init zeros
var.optimizer_state @b : tensor<4xf32> of @w "momentum_buffer"
func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.sgd_update' op a momentum buffer without momentum is never used}}
  var.sgd_update @w, %g lr %lr step %t state(@b) momentum 0.0 dampening 0.0 weight_decay 0.0 : tensor<4xf32>
  return
}

// -----

var.param @w : tensor<4xf32> init zeros
var.optimizer_state @b : tensor<4xf32> of @w "momentum_buffer"
func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.sgd_update' op Nesterov momentum needs momentum > 0 and dampening 0}}
  var.sgd_update @w, %g lr %lr step %t state(@b) momentum 0.9 dampening 0.1 weight_decay 0.0 nesterov : tensor<4xf32>
  return
}

// -----

var.param @w : tensor<4xf32> init zeros
var.optimizer_state @b : tensor<4xf32> of @w "exp_avg"
func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.sgd_update' op state @b is "exp_avg" of @w, expected "momentum_buffer" of @w}}
  var.sgd_update @w, %g lr %lr step %t state(@b) momentum 0.9 dampening 0.0 weight_decay 0.0 : tensor<4xf32>
  return
}

// -----

var.param @w : tensor<4xf32> init zeros buffer
func.func @f(%g: tensor<4xf32>, %lr: tensor<f32>, %t: tensor<i64>) {
  // expected-error @below {{'var.sgd_update' op parameter @w is a buffer; only trainable parameters have optimizer state and updates}}
  var.sgd_update @w, %g lr %lr step %t momentum 0.0 dampening 0.0 weight_decay 0.0 : tensor<4xf32>
  return
}
