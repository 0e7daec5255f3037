// Diagnostics of the batch norm ops' fused `activation` (var-fuse-bn-act):
// only "relu", "relu6" and "silu", and the backward's activation value
// comes with it and has the input's type (the weight's for "silu").
// RUN: var-opt %s -split-input-file -verify-diagnostics

func.func @batch_norm_unknown(%x: tensor<2x4xf32>, %p: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm' op activation must be "relu", "relu6" or "silu", got "sigmoid"}}
  %0 = var.batch_norm %x, %p, %p, %p, %p activation "sigmoid"
    : tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @batch_norm_train_unknown(%x: tensor<2x4xf32>, %p: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_train' op activation must be "relu", "relu6" or "silu", got "Relu"}}
  %0:5 = var.batch_norm_train %x, %p, %p, %p, %p activation "Relu"
    : tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @grad_unknown(%x: tensor<2x4xf32>, %p: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_grad' op activation must be "relu", "relu6" or "silu", got "gelu"}}
  %0:3 = var.batch_norm_grad %x, %x, %p, %p, %p activation "gelu"(%x)
    : tensor<2x4xf32>, tensor<4xf32>, tensor<2x4xf32>
  return
}

// -----

func.func @grad_without_value(%x: tensor<2x4xf32>, %p: tensor<4xf32>) {
  // The generic form is the only way to write one without the other.
  // expected-error @+2 {{'var.batch_norm_grad' op activation and its value come together}}
  // expected-error @+1 {{'var.batch_norm_grad' op failed to infer returned types}}
  %0:3 = "var.batch_norm_grad"(%x, %x, %p, %p, %p) {activation = "relu"}
    : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @grad_value_type(%x: tensor<2x4xf32>, %z: tensor<2x4xbf16>,
                           %p: tensor<4xf32>) {
  // expected-error @+1 {{'var.batch_norm_grad' op activation value type 'tensor<2x4xbf16>' differs from input type 'tensor<2x4xf32>'}}
  %0:3 = var.batch_norm_grad %x, %x, %p, %p, %p activation "relu"(%z)
    : tensor<2x4xf32>, tensor<4xf32>, tensor<2x4xbf16>
  return
}

// -----

func.func @grad_silu_value_type(%x: tensor<2x4xbf16>, %p: tensor<4xf32>) {
  // SiLU's value is the forward's bias, typed like the weight.
  // expected-error @+1 {{'var.batch_norm_grad' op activation value type 'tensor<2x4xbf16>' differs from weight type 'tensor<4xf32>'}}
  %0:3 = var.batch_norm_grad %x, %x, %p, %p, %p activation "silu"(%x)
    : tensor<2x4xbf16>, tensor<4xf32>, tensor<2x4xbf16>
  return
}

// -----

func.func @grad_relu_bias_type(%x: tensor<2x4xbf16>, %p: tensor<4xf32>,
                               %b: tensor<4xbf16>) {
  // A ReLU's vector value is the forward's bias, typed like the weight.
  // expected-error @+1 {{'var.batch_norm_grad' op activation value type 'tensor<4xbf16>' differs from weight type 'tensor<4xf32>'}}
  %0:3 = var.batch_norm_grad %x, %x, %p, %p, %p activation "relu"(%b)
    : tensor<2x4xbf16>, tensor<4xf32>, tensor<4xbf16>
  return
}
