// Diagnostics of var.softmax_cross_entropy (LossOps.cpp and ODS).
// RUN: var-opt %s -split-input-file -verify-diagnostics

func.func @logits_unranked(%l: tensor<*xf32>, %y: tensor<4xi64>) {
  // expected-error @+1 {{'var.softmax_cross_entropy' op logits must be a ranked tensor, got 'tensor<*xf32>'}}
  %0 = var.softmax_cross_entropy %l, %y : tensor<*xf32>, tensor<4xi64>
  return
}

// -----

func.func @labels_unranked(%l: tensor<4x10xf32>, %y: tensor<*xi64>) {
  // expected-error @+1 {{'var.softmax_cross_entropy' op labels must be a ranked tensor, got 'tensor<*xi64>'}}
  %0 = var.softmax_cross_entropy %l, %y : tensor<4x10xf32>, tensor<*xi64>
  return
}

// -----

// Both operands are checked before failing: two diagnostics.
func.func @both_unranked(%l: tensor<*xf32>, %y: tensor<*xi64>) {
  // expected-error @+2 {{'var.softmax_cross_entropy' op logits must be a ranked tensor, got 'tensor<*xf32>'}}
  // expected-error @+1 {{'var.softmax_cross_entropy' op labels must be a ranked tensor, got 'tensor<*xi64>'}}
  %0 = var.softmax_cross_entropy %l, %y : tensor<*xf32>, tensor<*xi64>
  return
}

// -----

func.func @logits_rank(%l: tensor<4x8x10xf32>, %y: tensor<4xi64>) {
  // expected-error @+1 {{'var.softmax_cross_entropy' op logits must be (N, classes), got rank 3}}
  %0 = var.softmax_cross_entropy %l, %y : tensor<4x8x10xf32>, tensor<4xi64>
  return
}

// -----

func.func @labels_rank(%l: tensor<4x10xf32>, %y: tensor<4x1xi64>) {
  // expected-error @+1 {{'var.softmax_cross_entropy' op labels must be (N), got rank 2}}
  %0 = var.softmax_cross_entropy %l, %y : tensor<4x10xf32>, tensor<4x1xi64>
  return
}

// -----

// One-hot float targets are not class indices.
func.func @labels_float(%l: tensor<4x10xf32>, %y: tensor<4xf32>) {
  // expected-error @+1 {{'var.softmax_cross_entropy' op labels must be integer class indices, got 'f32'}}
  %0 = var.softmax_cross_entropy %l, %y : tensor<4x10xf32>, tensor<4xf32>
  return
}

// -----

func.func @batch_mismatch(%l: tensor<4x10xf32>, %y: tensor<8xi64>) {
  // expected-error @+1 {{'var.softmax_cross_entropy' op batch of logits (4) and labels (8) differ}}
  %0 = var.softmax_cross_entropy %l, %y : tensor<4x10xf32>, tensor<8xi64>
  return
}

// -----

func.func @label_smoothing_one(%l: tensor<?x10xf32>, %y: tensor<?xi64>) {
  // expected-error @+1 {{'var.softmax_cross_entropy' op label_smoothing must be in [0, 1), got 1.000000e+00}}
  %0 = var.softmax_cross_entropy %l, %y label_smoothing 1.0 : tensor<?x10xf32>, tensor<?xi64>
  return
}

// -----

func.func @label_smoothing_negative(%l: tensor<?x10xf32>, %y: tensor<?xi64>) {
  // expected-error @+1 {{'var.softmax_cross_entropy' op label_smoothing must be in [0, 1), got -1.000000e-01}}
  %0 = var.softmax_cross_entropy %l, %y label_smoothing -0.1 : tensor<?x10xf32>, tensor<?xi64>
  return
}

// -----

// ODS: labels are signless integers.
func.func @labels_signed(%l: tensor<4x10xf32>, %y: tensor<4xsi64>) {
  // expected-error @+1 {{'var.softmax_cross_entropy' op operand #1 must be ranked tensor of signless integer values, but got 'tensor<4xsi64>'}}
  %0 = var.softmax_cross_entropy %l, %y : tensor<4x10xf32>, tensor<4xsi64>
  return
}

// -----

// ODS: logits are f32, bf16 or f16.
func.func @logits_integer(%l: tensor<4x10xi32>, %y: tensor<4xi32>) {
  // expected-error @+1 {{'var.softmax_cross_entropy' op operand #0 must be ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<4x10xi32>'}}
  %0 = var.softmax_cross_entropy %l, %y : tensor<4x10xi32>, tensor<4xi32>
  return
}

// -----

// ODS: the loss is an f32 scalar even for bf16 logits.
func.func @generic_wrong_result(%l: tensor<4x10xbf16>, %y: tensor<4xi64>) {
  // expected-error @+1 {{'var.softmax_cross_entropy' op result #0 must be 0D tensor of 32-bit float values, but got 'tensor<bf16>'}}
  %0 = "var.softmax_cross_entropy"(%l, %y) : (tensor<4x10xbf16>, tensor<4xi64>) -> tensor<bf16>
  return
}
