// Diagnostics of var.param (ParamOp::verify, ODS constraints) and
// var.get_param (GetParamOp::verifySymbolUses).
// RUN: var-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// var.param: the name must be a state_dict key
//===----------------------------------------------------------------------===//

// expected-error @+1 {{'var.param' op name 'conv-1.weight' is not a PyTorch state_dict key (dot-separated segments of letters, digits and '_')}}
var.param @"conv-1.weight" : tensor<4xf32> init zeros

// -----

// An empty segment between two dots.
// expected-error @+1 {{name 'features..weight' is not a PyTorch state_dict key}}
var.param @"features..weight" : tensor<4xf32> init zeros

// -----

// expected-error @+1 {{name 'fc.' is not a PyTorch state_dict key}}
var.param @"fc." : tensor<4xf32> init zeros

// -----

// expected-error @+1 {{name '.bias' is not a PyTorch state_dict key}}
var.param @".bias" : tensor<4xf32> init zeros

// -----

// expected-error @+1 {{name '' is not a PyTorch state_dict key}}
var.param @"" : tensor<4xf32> init zeros

// -----

// expected-error @+1 {{name 'fc weight' is not a PyTorch state_dict key}}
var.param @"fc weight" : tensor<4xf32> init zeros

// -----

//===----------------------------------------------------------------------===//
// var.param: type
//===----------------------------------------------------------------------===//

// expected-error @+1 {{'var.param' op parameter shape must be static, got 'tensor<?x4xf32>'}}
var.param @fc.weight : tensor<?x4xf32> init zeros

// -----

// expected-error @+1 {{'var.param' op integer parameters must be marked 'buffer' (they cannot be trained)}}
var.param @bn.num_batches_tracked : tensor<i64> init zeros

// -----

// expected-error @+1 {{integer parameters must be marked 'buffer'}}
var.param @emb.index : tensor<4x2xi32> init ones

// -----

// ODS: only f32, bf16, f16 and signless integer element types.
// expected-error @+1 {{'var.param' op attribute 'type' failed to satisfy constraint: type attribute of ranked tensor of 32-bit float or bfloat16 type or 16-bit float or signless integer values}}
var.param @fc.weight : tensor<4x4xf64> init zeros

// -----

// expected-error @+1 {{'var.param' op attribute 'type' failed to satisfy constraint}}
var.param @fc.weight : tensor<*xf32> init zeros

// -----

// expected-error @+1 {{'var.param' op attribute 'type' failed to satisfy constraint}}
var.param @fc.weight : tensor<4xui8> init zeros buffer

// -----

//===----------------------------------------------------------------------===//
// var.param: initializers and their arguments
//===----------------------------------------------------------------------===//

// expected-error @+1 {{'var.param' op initializer 'normal' needs an argument, e.g. init normal(1.000000e-02)}}
var.param @fc.weight : tensor<4x4xf32> init normal

// -----

// expected-error @+1 {{'var.param' op initializer 'uniform' needs an argument, e.g. init normal(1.000000e-02)}}
var.param @fc.weight : tensor<4x4xf32> init uniform buffer

// -----

// expected-error @+1 {{'var.param' op initializer 'zeros' takes no argument}}
var.param @fc.bias : tensor<4xf32> init zeros(1.0)

// -----

// expected-error @+1 {{'var.param' op initializer 'ones' takes no argument}}
var.param @bn.running_var : tensor<4xf32> init ones(1.0) buffer

// -----

// expected-error @+1 {{'var.param' op initializer 'kaiming_uniform' takes no argument}}
var.param @fc.weight : tensor<4x4xf32> init kaiming_uniform(5.0)

// -----

// expected-error @+1 {{'var.param' op initializer 'xavier_uniform' takes no argument}}
var.param @fc.weight : tensor<4x4xf32> init xavier_uniform(1.0)

// -----

// expected-error @+1 {{'var.param' op initializer argument must be positive, got 0.000000e+00}}
var.param @fc.weight : tensor<4x4xf32> init normal(0.0)

// -----

// expected-error @+1 {{'var.param' op initializer argument must be positive, got -5.000000e-01}}
var.param @fc.weight : tensor<4x4xf32> init uniform(-0.5)

// -----

// NaN is not positive either.
// expected-error @+1 {{'var.param' op initializer argument must be positive, got nan}}
var.param @fc.weight : tensor<4x4xf32> init normal(0x7FF8000000000000)

// -----

// expected-error @+1 {{'var.param' op initializer 'kaiming_normal_fan_in' needs a weight of rank 2 or more (fan-in and fan-out), got rank 1}}
var.param @fc.bias : tensor<4xf32> init kaiming_normal_fan_in

// -----

// expected-error @+1 {{'var.param' op initializer 'kaiming_normal_fan_out' needs a weight of rank 2 or more (fan-in and fan-out), got rank 1}}
var.param @fc.bias : tensor<4xf32> init kaiming_normal_fan_out

// -----

// expected-error @+1 {{'var.param' op initializer 'kaiming_uniform' needs a weight of rank 2 or more (fan-in and fan-out), got rank 0}}
var.param @scale : tensor<f32> init kaiming_uniform

// -----

// expected-error @+1 {{'var.param' op initializer 'xavier_uniform' needs a weight of rank 2 or more (fan-in and fan-out), got rank 1}}
var.param @fc.bias : tensor<4xf32> init xavier_uniform

// -----

// expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'init' [zeros, ones, normal, uniform, kaiming_normal_fan_in, kaiming_normal_fan_out, kaiming_uniform, xavier_uniform]}}
var.param @fc.weight : tensor<4x4xf32> init he_normal

// -----

//===----------------------------------------------------------------------===//
// var.param: placement and symbol uniqueness
//===----------------------------------------------------------------------===//

func.func @param_in_function() {
  // expected-error @+1 {{'var.param' op expects parent op 'builtin.module'}}
  var.param @fc.weight : tensor<4x4xf32> init zeros
  return
}

// -----

// expected-note @+1 {{see existing symbol definition here}}
var.param @fc.weight : tensor<4x4xf32> init zeros
// expected-error @+1 {{redefinition of symbol named 'fc.weight'}}
var.param @fc.weight : tensor<4x4xf32> init ones

// -----

//===----------------------------------------------------------------------===//
// var.get_param
//===----------------------------------------------------------------------===//

func.func @undefined() -> tensor<4xf32> {
  // expected-error @+1 {{'var.get_param' op references undefined parameter @fc.bias}}
  %0 = var.get_param @fc.bias : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// A symbol that is not a var.param is not a parameter.
func.func @fc.bias() {
  return
}

func.func @not_a_param() -> tensor<4xf32> {
  // expected-error @+1 {{'var.get_param' op references undefined parameter @fc.bias}}
  %0 = var.get_param @fc.bias : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

var.param @fc.bias : tensor<4xf32> init zeros

func.func @shape_mismatch() -> tensor<5xf32> {
  // expected-error @+1 {{'var.get_param' op type 'tensor<5xf32>' does not match parameter @fc.bias of type 'tensor<4xf32>'}}
  %0 = var.get_param @fc.bias : tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

// A float parameter may be read in another float type (its compute copy),
// but not with another shape in that type, and not as integers.
var.param @fc.bias : tensor<4xf32> init zeros

func.func @compute_copy_shape_mismatch() -> tensor<5xbf16> {
  // expected-error @+1 {{'var.get_param' op type 'tensor<5xbf16>' does not match parameter @fc.bias of type 'tensor<4xf32>'}}
  %0 = var.get_param @fc.bias : tensor<5xbf16>
  return %0 : tensor<5xbf16>
}

// -----

var.param @fc.bias : tensor<4xf32> init zeros

func.func @float_read_as_integer() -> tensor<4xi32> {
  // expected-error @+1 {{'var.get_param' op type 'tensor<4xi32>' does not match parameter @fc.bias of type 'tensor<4xf32>'}}
  %0 = var.get_param @fc.bias : tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

var.param @bn.num_batches_tracked : tensor<i64> init zeros buffer

func.func @integer_read_as_float() -> tensor<f32> {
  // expected-error @+1 {{'var.get_param' op type 'tensor<f32>' does not match parameter @bn.num_batches_tracked of type 'tensor<i64>'}}
  %0 = var.get_param @bn.num_batches_tracked : tensor<f32>
  return %0 : tensor<f32>
}

// -----

var.param @fc.bias : tensor<4xf32> init zeros

func.func @bad_result_type() -> tensor<4xf64> {
  // expected-error @+1 {{'var.get_param' op result #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float or signless integer values, but got 'tensor<4xf64>'}}
  %0 = var.get_param @fc.bias : tensor<4xf64>
  return %0 : tensor<4xf64>
}
