// Diagnostics of var.fused_elementwise's verifier (FusedOps.cpp).
// RUN: var-opt %s -split-input-file -verify-diagnostics

func.func @unknown_opcode(%x: tensor<4xf32>) {
  // expected-error @+1 {{'var.fused_elementwise' op step 0 has unknown opcode 'tanh'}}
  %0 = var.fused_elementwise %x steps ["tanh"] args [0] returns [1] : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @no_steps(%x: tensor<4xf32>) {
  // expected-error @+1 {{'var.fused_elementwise' op needs at least one step}}
  %0 = var.fused_elementwise %x steps [] args [] returns [0] : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @arity_short(%x: tensor<4xf32>) {
  // expected-error @+1 {{'var.fused_elementwise' op step 1 ('add') needs 2 inputs but 'args' ends after 1}}
  %0 = var.fused_elementwise %x steps ["relu", "add"] args [0, 1] returns [1] : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @arity_long(%x: tensor<4xf32>) {
  // expected-error @+1 {{'var.fused_elementwise' op 'args' has 3 entries but the steps take 2}}
  %0 = var.fused_elementwise %x steps ["relu", "relu"] args [0, 1, 0] returns [1] : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @later_step(%x: tensor<4xf32>) {
  // expected-error @+1 {{'var.fused_elementwise' op step 0 ('relu') reads 2, not an operand (< 1) or an earlier step (< 1)}}
  %0 = var.fused_elementwise %x steps ["relu", "relu"] args [2, 1] returns [1] : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @mixed_types(%x: tensor<4xf32>, %y: tensor<4xbf16>) {
  // expected-error @+1 {{'var.fused_elementwise' op step 0 ('add') mixes element types 'f32' and 'bf16'}}
  %0 = var.fused_elementwise %x, %y steps ["add"] args [0, 1] returns [0] : tensor<4xf32>, tensor<4xbf16> -> tensor<4xf32>
  return
}

// -----

func.func @result_type(%x: tensor<4xf32>) {
  // expected-error @+1 {{'var.fused_elementwise' op result 0 has element type 'bf16' but step 0 computes 'f32'}}
  %0 = var.fused_elementwise %x steps ["relu", "cast_bf16"] args [0, 1] returns [0] : tensor<4xf32> -> tensor<4xbf16>
  return
}

// -----

func.func @cast_to_itself(%x: tensor<4xf32>) {
  // expected-error @+1 {{'var.fused_elementwise' op step 0 ('cast_f32') casts 'f32' to itself}}
  %0 = var.fused_elementwise %x steps ["cast_f32"] args [0] returns [0] : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @no_broadcast(%x: tensor<4x8xf32>, %y: tensor<4xf32>) {
  // expected-error @+1 {{'var.fused_elementwise' op operand 1 of shape (4) does not broadcast to the result shape (4x8)}}
  %0 = var.fused_elementwise %x, %y steps ["add"] args [0, 1] returns [0] : tensor<4x8xf32>, tensor<4xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @result_shapes(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'var.fused_elementwise' op results have different shapes (4x8) and (8)}}
  %0:2 = var.fused_elementwise %x steps ["relu", "relu"] args [0, 1] returns [1, 2] : tensor<4x8xf32> -> tensor<4x8xf32>, tensor<8xf32>
  return
}

// -----

func.func @returns_count(%x: tensor<4xf32>) {
  // expected-error @+1 {{'var.fused_elementwise' op 'returns' names 2 steps for 1 results}}
  %0 = var.fused_elementwise %x steps ["relu", "relu"] args [0, 1] returns [0, 1] : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @returns_range(%x: tensor<4xf32>) {
  // expected-error @+1 {{'var.fused_elementwise' op result 0 returns step 2 of 2}}
  %0 = var.fused_elementwise %x steps ["relu", "relu"] args [0, 1] returns [2] : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @dropout_attrs(%x: tensor<4xf32>) {
  // expected-error @+1 {{'var.fused_elementwise' op has 1 dropout steps but 0 'p' and 0 'key' entries}}
  %0 = var.fused_elementwise %x steps ["dropout_train"] args [0] returns [0] : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @dropout_p(%x: tensor<4xf32>) {
  // expected-error @+1 {{'var.fused_elementwise' op drop probability p must be in [0, 1), got 1.000000e+00}}
  %0 = var.fused_elementwise %x steps ["dropout_grad"] args [0] returns [0] p [1.0] key [3] : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @integer_operand(%x: tensor<4xi32>) {
  // expected-error @+1 {{'var.fused_elementwise' op operand #0 must be variadic of ranked tensor of 32-bit float or bfloat16 type or 16-bit float values, but got 'tensor<4xi32>'}}
  %0 = var.fused_elementwise %x steps ["relu"] args [0] returns [0] : tensor<4xi32> -> tensor<4xf32>
  return
}
