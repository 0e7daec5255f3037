// Round trip of the training-step ops (VarTrainOps.td): every optional
// attribute form, through the custom form, twice, and through the generic
// form. Functions return the results they check, so that the func.return
// verifier pins inferred types to the declared signature; backward ops with
// an explicit result type print it, and the CHECK pins it.
//
// RUN: var-opt %s | FileCheck %s
// RUN: var-opt %s | var-opt | FileCheck %s
// RUN: var-opt %s --mlir-print-op-generic | var-opt | FileCheck %s

//===----------------------------------------------------------------------===//
// Step outputs and constants
//===----------------------------------------------------------------------===//

// CHECK: var.param @fc.weight : tensor<4x2xf32> init xavier_uniform{{$}}
// CHECK: var.param @bn.running_mean : tensor<4xf32> init zeros buffer{{$}}
var.param @fc.weight : tensor<4x2xf32> init xavier_uniform
var.param @bn.running_mean : tensor<4xf32> init zeros buffer

// CHECK-LABEL: func.func @step_outputs
// CHECK: var.param_grad @fc.weight, %{{.*}} : tensor<4x2xf32>{{$}}
// CHECK: var.param_grad @fc.weight, %{{.*}} : tensor<4x2xbf16>{{$}}
// CHECK: var.update_buffer @bn.running_mean, %{{.*}} : tensor<4xf32>{{$}}
func.func @step_outputs(%g: tensor<4x2xf32>, %h: tensor<4x2xbf16>, %m: tensor<4xf32>) {
  var.param_grad @fc.weight, %g : tensor<4x2xf32>
  // A bf16 gradient of an f32 master weight (mixed precision).
  var.param_grad @fc.weight, %h : tensor<4x2xbf16>
  var.update_buffer @bn.running_mean, %m : tensor<4xf32>
  return
}

// Any finite value that the element type can hold; a 0-d fill is a scalar.
// CHECK-LABEL: func.func @fill
// CHECK-SAME: -> (tensor<2x3xf32>, tensor<4xbf16>, tensor<f16>)
// CHECK: var.fill 0.000000e+00 : tensor<2x3xf32>{{$}}
// CHECK: var.fill -2.500000e+00 : tensor<4xbf16>{{$}}
// CHECK: var.fill 6.550400e+04 : tensor<f16>{{$}}
func.func @fill() -> (tensor<2x3xf32>, tensor<4xbf16>, tensor<f16>) {
  %0 = var.fill 0.0 : tensor<2x3xf32>
  %1 = var.fill -2.5 : tensor<4xbf16>
  %2 = var.fill 65504.0 : tensor<f16>
  return %0, %1, %2 : tensor<2x3xf32>, tensor<4xbf16>, tensor<f16>
}

//===----------------------------------------------------------------------===//
// Training forms of forward ops
//===----------------------------------------------------------------------===//

// The result has the input's type, the four statistics the weight's.
// CHECK-LABEL: func.func @batch_norm_train
// CHECK-SAME: -> (tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x3xbf16>, tensor<3xbf16>)
// CHECK: var.batch_norm_train %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>{{$}}
// CHECK: var.batch_norm_train %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} eps 1.000000e-03 : tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>{{$}}
// CHECK: var.batch_norm_train %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} momentum 1.000000e-02 : tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>{{$}}
// CHECK: var.batch_norm_train %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} eps 1.000000e-03 momentum 1.000000e+00 : tensor<2x3xbf16>, tensor<3xbf16>, tensor<3xbf16>, tensor<3xbf16>, tensor<3xbf16>{{$}}
func.func @batch_norm_train(%x: tensor<?x4x8x8xf32>, %p: tensor<4xf32>,
                            %v: tensor<2x3xbf16>, %q: tensor<3xbf16>)
    -> (tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>,
        tensor<4xf32>, tensor<2x3xbf16>, tensor<3xbf16>) {
  %0:5 = var.batch_norm_train %x, %p, %p, %p, %p
      : tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  %1:5 = var.batch_norm_train %x, %p, %p, %p, %p eps 1.0e-3
      : tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  %2:5 = var.batch_norm_train %x, %p, %p, %p, %p momentum 0.01
      : tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  %3:5 = var.batch_norm_train %v, %q, %q, %q, %q eps 1.0e-3 momentum 1.0
      : tensor<2x3xbf16>, tensor<3xbf16>, tensor<3xbf16>, tensor<3xbf16>, tensor<3xbf16>
  return %0#0, %1#1, %2#2, %0#3, %1#4, %3#0, %3#4
      : tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>,
        tensor<4xf32>, tensor<2x3xbf16>, tensor<3xbf16>
}

// CHECK-LABEL: func.func @dropout_train
// CHECK-SAME: -> (tensor<?x16xf32>, tensor<2x3x4xbf16>)
// CHECK: var.dropout_train %{{.*}} p 5.000000e-01 key 0 : tensor<?x16xf32>{{$}}
// CHECK: var.dropout_train %{{.*}} p 0.000000e+00 key 7 : tensor<2x3x4xbf16>{{$}}
func.func @dropout_train(%x: tensor<?x16xf32>, %y: tensor<2x3x4xbf16>)
    -> (tensor<?x16xf32>, tensor<2x3x4xbf16>) {
  %0 = var.dropout_train %x p 0.5 key 0 : tensor<?x16xf32>
  %1 = var.dropout_train %y p 0.0 key 7 : tensor<2x3x4xbf16>
  return %0, %1 : tensor<?x16xf32>, tensor<2x3x4xbf16>
}

//===----------------------------------------------------------------------===//
// Convolution backward
//===----------------------------------------------------------------------===//

// The forward conv of (result, weight) gives grad's type. With stride 2 both
// 32 and 31 rows convolve to 16: the result type is what says which.
// CHECK-LABEL: func.func @conv_grad_input
// CHECK: var.conv_grad_input %{{.*}}, %{{.*}} : tensor<?x16x6x6xf32>, tensor<16x8x3x3xf32> -> tensor<?x8x8x8xf32>{{$}}
// CHECK: var.conv_grad_input %{{.*}}, %{{.*}} stride [2, 1] padding [1, 1] : tensor<2x16x16x20xf32>, tensor<16x8x3x3xf32> -> tensor<2x8x32x20xf32>{{$}}
// CHECK: var.conv_grad_input %{{.*}}, %{{.*}} stride [2, 1] padding [1, 1] : tensor<2x16x16x20xf32>, tensor<16x8x3x3xf32> -> tensor<2x8x31x20xf32>{{$}}
// CHECK: var.conv_grad_input %{{.*}}, %{{.*}} padding [0, 2] dilation [2, 2] : tensor<1x4x13x17xf32>, tensor<4x8x3x3xf32> -> tensor<1x8x17x17xf32>{{$}}
// CHECK: var.conv_grad_input %{{.*}}, %{{.*}} groups 2 : tensor<?x6x8x8xf32>, tensor<6x4x1x1xf32> -> tensor<?x8x8x8xf32>{{$}}
// CHECK: var.conv_grad_input %{{.*}}, %{{.*}} stride [2, 2] padding [1, 1] groups 8 : tensor<?x8x4x4xf32>, tensor<8x1x3x3xf32> -> tensor<?x8x8x8xf32>{{$}}
func.func @conv_grad_input(%g0: tensor<?x16x6x6xf32>, %w0: tensor<16x8x3x3xf32>,
                           %g1: tensor<2x16x16x20xf32>,
                           %g2: tensor<1x4x13x17xf32>, %w2: tensor<4x8x3x3xf32>,
                           %g3: tensor<?x6x8x8xf32>, %w3: tensor<6x4x1x1xf32>,
                           %g4: tensor<?x8x4x4xf32>, %w4: tensor<8x1x3x3xf32>)
    -> (tensor<?x8x8x8xf32>, tensor<2x8x32x20xf32>, tensor<2x8x31x20xf32>,
        tensor<1x8x17x17xf32>, tensor<?x8x8x8xf32>, tensor<?x8x8x8xf32>) {
  %0 = var.conv_grad_input %g0, %w0
      : tensor<?x16x6x6xf32>, tensor<16x8x3x3xf32> -> tensor<?x8x8x8xf32>
  %1 = var.conv_grad_input %g1, %w0 stride [2, 1] padding [1, 1]
      : tensor<2x16x16x20xf32>, tensor<16x8x3x3xf32> -> tensor<2x8x32x20xf32>
  %2 = var.conv_grad_input %g1, %w0 stride [2, 1] padding [1, 1]
      : tensor<2x16x16x20xf32>, tensor<16x8x3x3xf32> -> tensor<2x8x31x20xf32>
  %3 = var.conv_grad_input %g2, %w2 padding [0, 2] dilation [2, 2]
      : tensor<1x4x13x17xf32>, tensor<4x8x3x3xf32> -> tensor<1x8x17x17xf32>
  %4 = var.conv_grad_input %g3, %w3 groups 2
      : tensor<?x6x8x8xf32>, tensor<6x4x1x1xf32> -> tensor<?x8x8x8xf32>
  %5 = var.conv_grad_input %g4, %w4 stride [2, 2] padding [1, 1] groups 8
      : tensor<?x8x4x4xf32>, tensor<8x1x3x3xf32> -> tensor<?x8x8x8xf32>
  return %0, %1, %2, %3, %4, %5
      : tensor<?x8x8x8xf32>, tensor<2x8x32x20xf32>, tensor<2x8x31x20xf32>,
        tensor<1x8x17x17xf32>, tensor<?x8x8x8xf32>, tensor<?x8x8x8xf32>
}

// Every attribute written, 1-D and 3-D bf16. As for var.conv, `groups 1` is
// the default and is not printed.
// CHECK-LABEL: func.func @conv_grad_input_all_attrs
// CHECK: var.conv_grad_input %{{.*}}, %{{.*}} stride [2] padding [2] dilation [1] : tensor<3x8x50xf32>, tensor<8x4x5xf32> -> tensor<3x4x100xf32>{{$}}
// CHECK: var.conv_grad_input %{{.*}}, %{{.*}} stride [1, 2, 2] padding [1, 1, 1] : tensor<?x16x8x56x56xbf16>, tensor<16x3x3x3x3xbf16> -> tensor<?x3x8x112x112xbf16>{{$}}
func.func @conv_grad_input_all_attrs(%g: tensor<3x8x50xf32>, %w: tensor<8x4x5xf32>,
                                     %g3: tensor<?x16x8x56x56xbf16>,
                                     %w3: tensor<16x3x3x3x3xbf16>)
    -> (tensor<3x4x100xf32>, tensor<?x3x8x112x112xbf16>) {
  %0 = var.conv_grad_input %g, %w stride [2] padding [2] dilation [1] groups 1
      : tensor<3x8x50xf32>, tensor<8x4x5xf32> -> tensor<3x4x100xf32>
  %1 = var.conv_grad_input %g3, %w3 stride [1, 2, 2] padding [1, 1, 1]
      : tensor<?x16x8x56x56xbf16>, tensor<16x3x3x3x3xbf16> -> tensor<?x3x8x112x112xbf16>
  return %0, %1 : tensor<3x4x100xf32>, tensor<?x3x8x112x112xbf16>
}

// The forward conv of (input, result) gives grad's type; the result is a
// weight.
// CHECK-LABEL: func.func @conv_grad_weight
// CHECK: var.conv_grad_weight %{{.*}}, %{{.*}} : tensor<?x8x8x8xf32>, tensor<?x16x6x6xf32> -> tensor<16x8x3x3xf32>{{$}}
// CHECK: var.conv_grad_weight %{{.*}}, %{{.*}} stride [2, 1] padding [1, 1] : tensor<2x8x31x20xf32>, tensor<2x16x16x20xf32> -> tensor<16x8x3x3xf32>{{$}}
// CHECK: var.conv_grad_weight %{{.*}}, %{{.*}} padding [0, 2] dilation [2, 2] : tensor<1x8x17x17xf32>, tensor<1x4x13x17xf32> -> tensor<4x8x3x3xf32>{{$}}
// CHECK: var.conv_grad_weight %{{.*}}, %{{.*}} stride [2, 2] padding [1, 1] groups 8 : tensor<?x8x8x8xf32>, tensor<?x8x4x4xf32> -> tensor<8x1x3x3xf32>{{$}}
// CHECK: var.conv_grad_weight %{{.*}}, %{{.*}} stride [2] padding [2] dilation [1] : tensor<3x4x100xf32>, tensor<3x8x50xf32> -> tensor<8x4x5xf32>{{$}}
// CHECK: var.conv_grad_weight %{{.*}}, %{{.*}} stride [1, 2, 2] padding [1, 1, 1] : tensor<?x3x8x112x112xbf16>, tensor<?x16x8x56x56xbf16> -> tensor<16x3x3x3x3xbf16>{{$}}
func.func @conv_grad_weight(%x0: tensor<?x8x8x8xf32>, %g0: tensor<?x16x6x6xf32>,
                            %x1: tensor<2x8x31x20xf32>, %g1: tensor<2x16x16x20xf32>,
                            %x2: tensor<1x8x17x17xf32>, %g2: tensor<1x4x13x17xf32>,
                            %g4: tensor<?x8x4x4xf32>,
                            %x5: tensor<3x4x100xf32>, %g5: tensor<3x8x50xf32>,
                            %x6: tensor<?x3x8x112x112xbf16>,
                            %g6: tensor<?x16x8x56x56xbf16>)
    -> (tensor<16x8x3x3xf32>, tensor<16x8x3x3xf32>, tensor<4x8x3x3xf32>,
        tensor<8x1x3x3xf32>, tensor<8x4x5xf32>, tensor<16x3x3x3x3xbf16>) {
  %0 = var.conv_grad_weight %x0, %g0
      : tensor<?x8x8x8xf32>, tensor<?x16x6x6xf32> -> tensor<16x8x3x3xf32>
  %1 = var.conv_grad_weight %x1, %g1 stride [2, 1] padding [1, 1]
      : tensor<2x8x31x20xf32>, tensor<2x16x16x20xf32> -> tensor<16x8x3x3xf32>
  %2 = var.conv_grad_weight %x2, %g2 padding [0, 2] dilation [2, 2]
      : tensor<1x8x17x17xf32>, tensor<1x4x13x17xf32> -> tensor<4x8x3x3xf32>
  %3 = var.conv_grad_weight %x0, %g4 stride [2, 2] padding [1, 1] groups 8
      : tensor<?x8x8x8xf32>, tensor<?x8x4x4xf32> -> tensor<8x1x3x3xf32>
  %4 = var.conv_grad_weight %x5, %g5 stride [2] padding [2] dilation [1] groups 1
      : tensor<3x4x100xf32>, tensor<3x8x50xf32> -> tensor<8x4x5xf32>
  %5 = var.conv_grad_weight %x6, %g6 stride [1, 2, 2] padding [1, 1, 1]
      : tensor<?x3x8x112x112xbf16>, tensor<?x16x8x56x56xbf16> -> tensor<16x3x3x3x3xbf16>
  return %0, %1, %2, %3, %4, %5
      : tensor<16x8x3x3xf32>, tensor<16x8x3x3xf32>, tensor<4x8x3x3xf32>,
        tensor<8x1x3x3xf32>, tensor<8x4x5xf32>, tensor<16x3x3x3x3xbf16>
}

//===----------------------------------------------------------------------===//
// Pooling backward
//===----------------------------------------------------------------------===//

// The result has the input's type; `output` and `grad` the pool's.
// (9 + 2 - 3) / 2 + 1 = 5; padding [0, 1, 1] with stride = kernel [1, 2, 2]
// keeps depth 4 and gives (6 + 2 - 2) / 2 + 1 = 4.
// CHECK-LABEL: func.func @max_pool_grad
// CHECK-SAME: -> (tensor<1x4x8x8xf32>, tensor<?x8x9x9xf32>, tensor<2x3x10xbf16>, tensor<1x2x4x6x6xf32>)
// CHECK: var.max_pool_grad %{{.*}}, %{{.*}}, %{{.*}} kernel [2, 2] : tensor<1x4x8x8xf32>, tensor<1x4x4x4xf32>{{$}}
// CHECK: var.max_pool_grad %{{.*}}, %{{.*}}, %{{.*}} kernel [3, 3] stride [2, 2] padding [1, 1] : tensor<?x8x9x9xf32>, tensor<?x8x5x5xf32>{{$}}
// CHECK: var.max_pool_grad %{{.*}}, %{{.*}}, %{{.*}} kernel [3] stride [1] : tensor<2x3x10xbf16>, tensor<2x3x8xbf16>{{$}}
// CHECK: var.max_pool_grad %{{.*}}, %{{.*}}, %{{.*}} kernel [1, 2, 2] padding [0, 1, 1] : tensor<1x2x4x6x6xf32>, tensor<1x2x4x4x4xf32>{{$}}
func.func @max_pool_grad(%x0: tensor<1x4x8x8xf32>, %y0: tensor<1x4x4x4xf32>,
                         %x1: tensor<?x8x9x9xf32>, %y1: tensor<?x8x5x5xf32>,
                         %x2: tensor<2x3x10xbf16>, %y2: tensor<2x3x8xbf16>,
                         %x3: tensor<1x2x4x6x6xf32>, %y3: tensor<1x2x4x4x4xf32>)
    -> (tensor<1x4x8x8xf32>, tensor<?x8x9x9xf32>, tensor<2x3x10xbf16>,
        tensor<1x2x4x6x6xf32>) {
  %0 = var.max_pool_grad %x0, %y0, %y0 kernel [2, 2]
      : tensor<1x4x8x8xf32>, tensor<1x4x4x4xf32>
  %1 = var.max_pool_grad %x1, %y1, %y1 kernel [3, 3] stride [2, 2] padding [1, 1]
      : tensor<?x8x9x9xf32>, tensor<?x8x5x5xf32>
  %2 = var.max_pool_grad %x2, %y2, %y2 kernel [3] stride [1]
      : tensor<2x3x10xbf16>, tensor<2x3x8xbf16>
  %3 = var.max_pool_grad %x3, %y3, %y3 kernel [1, 2, 2] padding [0, 1, 1]
      : tensor<1x2x4x6x6xf32>, tensor<1x2x4x4x4xf32>
  return %0, %1, %2, %3 : tensor<1x4x8x8xf32>, tensor<?x8x9x9xf32>,
                          tensor<2x3x10xbf16>, tensor<1x2x4x6x6xf32>
}

// The indices have the output's shape in i8; channels_last keeps both
// results (N, spatial..., C). (9 + 2 - 3) / 2 + 1 = 5.
// CHECK-LABEL: func.func @max_pool_with_indices
// CHECK-SAME: -> (tensor<2x4x4x4xbf16>, tensor<2x4x4x4xi8>, tensor<1x5x5x8xf32>, tensor<1x5x5x8xi8>, tensor<1x2x4x4x4xf32>, tensor<1x2x4x4x4xi8>)
// CHECK: var.max_pool_with_indices %{{.*}} kernel [2, 2] : tensor<2x4x8x8xbf16>{{$}}
// CHECK: var.max_pool_with_indices %{{.*}} kernel [3, 3] stride [2, 2] padding [1, 1] channels_last : tensor<1x9x9x8xf32>{{$}}
// CHECK: var.max_pool_with_indices %{{.*}} kernel [1, 2, 2] padding [0, 1, 1] : tensor<1x2x4x6x6xf32>{{$}}
func.func @max_pool_with_indices(%x0: tensor<2x4x8x8xbf16>,
                                 %x1: tensor<1x9x9x8xf32>,
                                 %x2: tensor<1x2x4x6x6xf32>)
    -> (tensor<2x4x4x4xbf16>, tensor<2x4x4x4xi8>, tensor<1x5x5x8xf32>,
        tensor<1x5x5x8xi8>, tensor<1x2x4x4x4xf32>, tensor<1x2x4x4x4xi8>) {
  %0:2 = var.max_pool_with_indices %x0 kernel [2, 2] : tensor<2x4x8x8xbf16>
  %1:2 = var.max_pool_with_indices %x1 kernel [3, 3] stride [2, 2]
      padding [1, 1] channels_last : tensor<1x9x9x8xf32>
  %2:2 = var.max_pool_with_indices %x2 kernel [1, 2, 2] padding [0, 1, 1]
      : tensor<1x2x4x6x6xf32>
  return %0#0, %0#1, %1#0, %1#1, %2#0, %2#1
      : tensor<2x4x4x4xbf16>, tensor<2x4x4x4xi8>, tensor<1x5x5x8xf32>,
        tensor<1x5x5x8xi8>, tensor<1x2x4x4x4xf32>, tensor<1x2x4x4x4xi8>
}

// The input's type; the four per-channel operands the weight's (f32 under
// a bf16 input).
// CHECK-LABEL: func.func @batch_norm_apply
// CHECK: var.batch_norm_apply %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} channels_last activation "relu" : tensor<2x8x8x8xbf16>, tensor<8xf32>{{$}}
// CHECK: var.batch_norm_apply %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x4x5x5xf32>, tensor<4xf32>{{$}}
func.func @batch_norm_apply(%x0: tensor<2x8x8x8xbf16>, %p0: tensor<8xf32>,
                            %x1: tensor<?x4x5x5xf32>, %p1: tensor<4xf32>)
    -> (tensor<2x8x8x8xbf16>, tensor<?x4x5x5xf32>) {
  %0 = var.batch_norm_apply %x0, %p0, %p0, %p0, %p0 channels_last
      activation "relu" : tensor<2x8x8x8xbf16>, tensor<8xf32>
  %1 = var.batch_norm_apply %x1, %p1, %p1, %p1, %p1
      : tensor<?x4x5x5xf32>, tensor<4xf32>
  return %0, %1 : tensor<2x8x8x8xbf16>, tensor<?x4x5x5xf32>
}

// The pool's output and indices over the normalized result (the input's
// type), then the batch norm's four statistics in the weight's type; the
// batch norm's attributes print before the pool's window.
// CHECK-LABEL: func.func @batch_norm_train_max_pool
// CHECK-SAME: -> (tensor<2x4x4x8xbf16>, tensor<2x4x4x8xi8>, tensor<8xf32>, tensor<1x4x3x3xf32>, tensor<1x4x3x3xi8>, tensor<4xf32>)
// CHECK: var.batch_norm_train_max_pool %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} activation "relu" kernel [2, 2] channels_last : tensor<2x8x8x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>{{$}}
// CHECK: var.batch_norm_train_max_pool %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} eps 1.000000e-03 momentum 1.000000e-02 kernel [3, 3] stride [2, 2] padding [1, 1] : tensor<1x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>{{$}}
func.func @batch_norm_train_max_pool(%x0: tensor<2x8x8x8xbf16>,
                                     %p0: tensor<8xf32>,
                                     %x1: tensor<1x4x5x5xf32>,
                                     %p1: tensor<4xf32>)
    -> (tensor<2x4x4x8xbf16>, tensor<2x4x4x8xi8>, tensor<8xf32>,
        tensor<1x4x3x3xf32>, tensor<1x4x3x3xi8>, tensor<4xf32>) {
  %0:6 = var.batch_norm_train_max_pool %x0, %p0, %p0, %p0, %p0
      activation "relu" kernel [2, 2] channels_last
      : tensor<2x8x8x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %1:6 = var.batch_norm_train_max_pool %x1, %p1, %p1, %p1, %p1 eps 1.0e-3
      momentum 0.01 kernel [3, 3] stride [2, 2] padding [1, 1]
      : tensor<1x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return %0#0, %0#1, %0#5, %1#0, %1#1, %1#2
      : tensor<2x4x4x8xbf16>, tensor<2x4x4x8xi8>, tensor<8xf32>,
        tensor<1x4x3x3xf32>, tensor<1x4x3x3xi8>, tensor<4xf32>
}

// The result has grad's element type and a shape that pools to grad's:
// 8 and 9 both pool to 4 with kernel 2.
// CHECK-LABEL: func.func @max_pool_grad_indices
// CHECK: var.max_pool_grad_indices %{{.*}}, %{{.*}} kernel [2, 2] : tensor<2x4x4x4xi8>, tensor<2x4x4x4xbf16> -> tensor<2x4x9x8xbf16>{{$}}
// CHECK: var.max_pool_grad_indices %{{.*}}, %{{.*}} kernel [3, 3] stride [2, 2] padding [1, 1] channels_last : tensor<1x5x5x8xi8>, tensor<1x5x5x8xf32> -> tensor<1x9x9x8xf32>{{$}}
func.func @max_pool_grad_indices(%i0: tensor<2x4x4x4xi8>,
                                 %g0: tensor<2x4x4x4xbf16>,
                                 %i1: tensor<1x5x5x8xi8>,
                                 %g1: tensor<1x5x5x8xf32>)
    -> (tensor<2x4x9x8xbf16>, tensor<1x9x9x8xf32>) {
  %0 = var.max_pool_grad_indices %i0, %g0 kernel [2, 2]
      : tensor<2x4x4x4xi8>, tensor<2x4x4x4xbf16> -> tensor<2x4x9x8xbf16>
  %1 = var.max_pool_grad_indices %i1, %g1 kernel [3, 3] stride [2, 2]
      padding [1, 1] channels_last
      : tensor<1x5x5x8xi8>, tensor<1x5x5x8xf32> -> tensor<1x9x9x8xf32>
  return %0, %1 : tensor<2x4x9x8xbf16>, tensor<1x9x9x8xf32>
}

// The forward avg_pool of the result gives grad's type: 8 and 9 both pool to
// 4 with kernel 2, 9 and 10 to 5 with kernel 3, stride 2, padding 1.
// CHECK-LABEL: func.func @avg_pool_grad
// CHECK: var.avg_pool_grad %{{.*}} kernel [2, 2] : tensor<1x4x4x4xf32> -> tensor<1x4x8x8xf32>{{$}}
// CHECK: var.avg_pool_grad %{{.*}} kernel [2, 2] : tensor<1x4x4x4xf32> -> tensor<1x4x9x9xf32>{{$}}
// CHECK: var.avg_pool_grad %{{.*}} kernel [3, 3] stride [2, 2] padding [1, 1] : tensor<?x8x5x5xf32> -> tensor<?x8x10x9xf32>{{$}}
// CHECK: var.avg_pool_grad %{{.*}} kernel [3] padding [1] : tensor<2x3x4xbf16> -> tensor<2x3x12xbf16>{{$}}
func.func @avg_pool_grad(%g0: tensor<1x4x4x4xf32>, %g1: tensor<?x8x5x5xf32>,
                         %g2: tensor<2x3x4xbf16>)
    -> (tensor<1x4x8x8xf32>, tensor<1x4x9x9xf32>, tensor<?x8x10x9xf32>,
        tensor<2x3x12xbf16>) {
  %0 = var.avg_pool_grad %g0 kernel [2, 2]
      : tensor<1x4x4x4xf32> -> tensor<1x4x8x8xf32>
  %1 = var.avg_pool_grad %g0 kernel [2, 2]
      : tensor<1x4x4x4xf32> -> tensor<1x4x9x9xf32>
  %2 = var.avg_pool_grad %g1 kernel [3, 3] stride [2, 2] padding [1, 1]
      : tensor<?x8x5x5xf32> -> tensor<?x8x10x9xf32>
  %3 = var.avg_pool_grad %g2 kernel [3] padding [1]
      : tensor<2x3x4xbf16> -> tensor<2x3x12xbf16>
  return %0, %1, %2, %3 : tensor<1x4x8x8xf32>, tensor<1x4x9x9xf32>,
                          tensor<?x8x10x9xf32>, tensor<2x3x12xbf16>
}

// grad is (N, C), or (N, C, 1, ...) as the forward's keep_dims gives.
// CHECK-LABEL: func.func @global_avg_pool_grad
// CHECK: var.global_avg_pool_grad %{{.*}} : tensor<?x8xf32> -> tensor<?x8x7x7xf32>{{$}}
// CHECK: var.global_avg_pool_grad %{{.*}} : tensor<2x8x1x1x1xbf16> -> tensor<2x8x4x7x7xbf16>{{$}}
// CHECK: var.global_avg_pool_grad %{{.*}} : tensor<2x8xf32> -> tensor<2x8x10xf32>{{$}}
func.func @global_avg_pool_grad(%g0: tensor<?x8xf32>,
                                %g1: tensor<2x8x1x1x1xbf16>,
                                %g2: tensor<2x8xf32>)
    -> (tensor<?x8x7x7xf32>, tensor<2x8x4x7x7xbf16>, tensor<2x8x10xf32>) {
  %0 = var.global_avg_pool_grad %g0 : tensor<?x8xf32> -> tensor<?x8x7x7xf32>
  %1 = var.global_avg_pool_grad %g1
      : tensor<2x8x1x1x1xbf16> -> tensor<2x8x4x7x7xbf16>
  %2 = var.global_avg_pool_grad %g2 : tensor<2x8xf32> -> tensor<2x8x10xf32>
  return %0, %1, %2
      : tensor<?x8x7x7xf32>, tensor<2x8x4x7x7xbf16>, tensor<2x8x10xf32>
}

//===----------------------------------------------------------------------===//
// Normalization, linear and LSTM backward
//===----------------------------------------------------------------------===//

// The fused backward of a max pool's gradient: tiled windows written out
// or by default, an odd size (9 pools to 4), the fused activation.
// CHECK-LABEL: func.func @batch_norm_grad_max_pool
// CHECK: var.batch_norm_grad_max_pool %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} kernel [2, 2] stride [2, 2] padding [0, 0] channels_last : tensor<2x9x9x12xbf16>, tensor<2x4x4x12xi8>, tensor<2x4x4x12xbf16>, tensor<12xf32>{{$}}
// CHECK: var.batch_norm_grad_max_pool %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} kernel [2, 2] channels_last activation "relu"(%{{.*}}) : tensor<2x9x9x12xbf16>, tensor<2x4x4x12xi8>, tensor<2x4x4x12xbf16>, tensor<12xf32>, tensor<12xf32>{{$}}
func.func @batch_norm_grad_max_pool(%x: tensor<2x9x9x12xbf16>,
                                    %i: tensor<2x4x4x12xi8>,
                                    %g: tensor<2x4x4x12xbf16>,
                                    %w: tensor<12xf32>)
    -> (tensor<2x9x9x12xbf16>, tensor<12xf32>, tensor<12xf32>,
        tensor<2x9x9x12xbf16>) {
  %0:3 = var.batch_norm_grad_max_pool %x, %i, %g, %w, %w, %w kernel [2, 2]
      stride [2, 2] padding [0, 0] channels_last
      : tensor<2x9x9x12xbf16>, tensor<2x4x4x12xi8>, tensor<2x4x4x12xbf16>,
        tensor<12xf32>
  %1:3 = var.batch_norm_grad_max_pool %x, %i, %g, %w, %w, %w kernel [2, 2]
      channels_last activation "relu"(%w)
      : tensor<2x9x9x12xbf16>, tensor<2x4x4x12xi8>, tensor<2x4x4x12xbf16>,
        tensor<12xf32>, tensor<12xf32>
  return %0#0, %0#1, %0#2, %1#0 : tensor<2x9x9x12xbf16>, tensor<12xf32>,
      tensor<12xf32>, tensor<2x9x9x12xbf16>
}

// CHECK-LABEL: func.func @batch_norm_grad
// CHECK-SAME: -> (tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x3xbf16>)
// CHECK: var.batch_norm_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x4x8x8xf32>, tensor<4xf32>{{$}}
// CHECK: var.batch_norm_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x3xbf16>, tensor<3xbf16>{{$}}
func.func @batch_norm_grad(%x: tensor<?x4x8x8xf32>, %dy: tensor<?x4x8x8xf32>,
                           %w: tensor<4xf32>, %m: tensor<4xf32>,
                           %s: tensor<4xf32>, %v: tensor<2x3xbf16>,
                           %q: tensor<3xbf16>)
    -> (tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x3xbf16>) {
  %0:3 = var.batch_norm_grad %x, %dy, %w, %m, %s
      : tensor<?x4x8x8xf32>, tensor<4xf32>
  %1:3 = var.batch_norm_grad %v, %v, %q, %q, %q : tensor<2x3xbf16>, tensor<3xbf16>
  return %0#0, %0#1, %0#2, %1#0
      : tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x3xbf16>
}

// bf16 input and gradient with f32 weight and statistics (mixed precision):
// the weight and bias gradients are f32.
// CHECK-LABEL: func.func @batch_norm_frozen_grad
// CHECK-SAME: -> (tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x3xbf16>, tensor<3xf32>)
// CHECK: var.batch_norm_frozen_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x4x8x8xf32>, tensor<4xf32>{{$}}
// CHECK: var.batch_norm_frozen_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} eps 1.000000e-03 : tensor<2x3xbf16>, tensor<3xf32>{{$}}
func.func @batch_norm_frozen_grad(%x: tensor<?x4x8x8xf32>,
                                  %dy: tensor<?x4x8x8xf32>, %w: tensor<4xf32>,
                                  %m: tensor<4xf32>, %v: tensor<4xf32>,
                                  %h: tensor<2x3xbf16>, %q: tensor<3xf32>)
    -> (tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x3xbf16>,
        tensor<3xf32>) {
  %0:3 = var.batch_norm_frozen_grad %x, %dy, %w, %m, %v
      : tensor<?x4x8x8xf32>, tensor<4xf32>
  %1:3 = var.batch_norm_frozen_grad %h, %h, %q, %q, %q eps 1.0e-3
      : tensor<2x3xbf16>, tensor<3xf32>
  return %0#0, %0#1, %0#2, %1#0, %1#1
      : tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x3xbf16>,
        tensor<3xf32>
}

// (..., out) x (out, in) -> (..., in); (..., in), (..., out) -> (out, in).
// CHECK-LABEL: func.func @linear_grads
// CHECK-SAME: -> (tensor<?x32xf32>, tensor<2x?x32xbf16>, tensor<16x32xf32>, tensor<16x32xbf16>)
// CHECK: var.linear_grad_input %{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<16x32xf32>{{$}}
// CHECK: var.linear_grad_input %{{.*}}, %{{.*}} : tensor<2x?x16xbf16>, tensor<16x32xbf16>{{$}}
// CHECK: var.linear_grad_weight %{{.*}}, %{{.*}} : tensor<?x32xf32>, tensor<?x16xf32>{{$}}
// CHECK: var.linear_grad_weight %{{.*}}, %{{.*}} : tensor<2x5x32xbf16>, tensor<2x?x16xbf16>{{$}}
func.func @linear_grads(%g: tensor<?x16xf32>, %w: tensor<16x32xf32>,
                        %g3: tensor<2x?x16xbf16>, %w3: tensor<16x32xbf16>,
                        %x: tensor<?x32xf32>, %x3: tensor<2x5x32xbf16>)
    -> (tensor<?x32xf32>, tensor<2x?x32xbf16>, tensor<16x32xf32>,
        tensor<16x32xbf16>) {
  %0 = var.linear_grad_input %g, %w : tensor<?x16xf32>, tensor<16x32xf32>
  %1 = var.linear_grad_input %g3, %w3 : tensor<2x?x16xbf16>, tensor<16x32xbf16>
  %2 = var.linear_grad_weight %x, %g : tensor<?x32xf32>, tensor<?x16xf32>
  %3 = var.linear_grad_weight %x3, %g3 : tensor<2x5x32xbf16>, tensor<2x?x16xbf16>
  return %0, %1, %2, %3 : tensor<?x32xf32>, tensor<2x?x32xbf16>,
                          tensor<16x32xf32>, tensor<16x32xbf16>
}

// Results: the types of input, w_ih, w_hh, b_ih and b_hh.
// CHECK-LABEL: func.func @lstm_grad
// CHECK-SAME: -> (tensor<?x6x8xf32>, tensor<64x8xf32>, tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>)
// CHECK: var.lstm_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x6x8xf32>, tensor<64x8xf32>, tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>, tensor<?x6x16xf32>, tensor<?x16xf32>{{$}}
func.func @lstm_grad(%x: tensor<?x6x8xf32>, %wi: tensor<64x8xf32>,
                     %wh: tensor<64x16xf32>, %bi: tensor<64xf32>,
                     %bh: tensor<64xf32>, %ds: tensor<?x6x16xf32>,
                     %dl: tensor<?x16xf32>)
    -> (tensor<?x6x8xf32>, tensor<64x8xf32>, tensor<64x16xf32>, tensor<64xf32>,
        tensor<64xf32>) {
  %0:5 = var.lstm_grad %x, %wi, %wh, %bi, %bh, %ds, %dl
      : tensor<?x6x8xf32>, tensor<64x8xf32>, tensor<64x16xf32>, tensor<64xf32>,
        tensor<64xf32>, tensor<?x6x16xf32>, tensor<?x16xf32>
  return %0#0, %0#1, %0#2, %0#3, %0#4
      : tensor<?x6x8xf32>, tensor<64x8xf32>, tensor<64x16xf32>, tensor<64xf32>,
        tensor<64xf32>
}

//===----------------------------------------------------------------------===//
// Elementwise backward
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @activation_grads
// CHECK-SAME: -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<2x3x4xbf16>, tensor<2x3x4xbf16>, tensor<f16>)
// CHECK: var.relu_grad %{{.*}}, %{{.*}} : tensor<?x8xf32>{{$}}
// CHECK: var.relu6_grad %{{.*}}, %{{.*}} : tensor<?x8xf32>{{$}}
// CHECK: var.sigmoid_grad %{{.*}}, %{{.*}} : tensor<2x3x4xbf16>{{$}}
// CHECK: var.silu_grad %{{.*}}, %{{.*}} : tensor<2x3x4xbf16>{{$}}
// CHECK: var.hardswish_grad %{{.*}}, %{{.*}} : tensor<f16>{{$}}
func.func @activation_grads(%a: tensor<?x8xf32>, %b: tensor<2x3x4xbf16>,
                            %c: tensor<f16>)
    -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<2x3x4xbf16>,
        tensor<2x3x4xbf16>, tensor<f16>) {
  %0 = var.relu_grad %a, %a : tensor<?x8xf32>
  %1 = var.relu6_grad %a, %0 : tensor<?x8xf32>
  %2 = var.sigmoid_grad %b, %b : tensor<2x3x4xbf16>
  %3 = var.silu_grad %b, %2 : tensor<2x3x4xbf16>
  %4 = var.hardswish_grad %c, %c : tensor<f16>
  return %0, %1, %2, %3, %4 : tensor<?x8xf32>, tensor<?x8xf32>,
                              tensor<2x3x4xbf16>, tensor<2x3x4xbf16>, tensor<f16>
}

// CHECK-LABEL: func.func @dropout_grad
// CHECK-SAME: -> (tensor<?x16xf32>, tensor<2x3x4xbf16>)
// CHECK: var.dropout_grad %{{.*}} p 5.000000e-01 key 0 : tensor<?x16xf32>{{$}}
// CHECK: var.dropout_grad %{{.*}} p 0.000000e+00 key 9223372036854775807 : tensor<2x3x4xbf16>{{$}}
func.func @dropout_grad(%g: tensor<?x16xf32>, %h: tensor<2x3x4xbf16>)
    -> (tensor<?x16xf32>, tensor<2x3x4xbf16>) {
  %0 = var.dropout_grad %g p 0.5 key 0 : tensor<?x16xf32>
  %1 = var.dropout_grad %h p 0.0 key 9223372036854775807 : tensor<2x3x4xbf16>
  return %0, %1 : tensor<?x16xf32>, tensor<2x3x4xbf16>
}

//===----------------------------------------------------------------------===//
// Reductions, slices, time and loss backward
//===----------------------------------------------------------------------===//

// Summed dimensions stay as 1s with keep_dims and are dropped otherwise;
// summing every dimension gives a scalar.
// CHECK-LABEL: func.func @reduce_sum
// CHECK-SAME: -> (tensor<1x4x1x8xf32>, tensor<4x8xf32>, tensor<f32>, tensor<?x6xbf16>)
// CHECK: var.reduce_sum %{{.*}} dims [0, 2] keep_dims : tensor<?x4x8x8xf32>{{$}}
// CHECK: var.reduce_sum %{{.*}} dims [0, 2] : tensor<?x4x8x8xf32>{{$}}
// CHECK: var.reduce_sum %{{.*}} dims [0, 1, 2, 3] : tensor<?x4x8x8xf32>{{$}}
// CHECK: var.reduce_sum %{{.*}} dims [1] : tensor<?x5x6xbf16>{{$}}
func.func @reduce_sum(%x: tensor<?x4x8x8xf32>, %y: tensor<?x5x6xbf16>)
    -> (tensor<1x4x1x8xf32>, tensor<4x8xf32>, tensor<f32>, tensor<?x6xbf16>) {
  %0 = var.reduce_sum %x dims [0, 2] keep_dims : tensor<?x4x8x8xf32>
  %1 = var.reduce_sum %x dims [0, 2] : tensor<?x4x8x8xf32>
  %2 = var.reduce_sum %x dims [0, 1, 2, 3] : tensor<?x4x8x8xf32>
  %3 = var.reduce_sum %y dims [1] : tensor<?x5x6xbf16>
  return %0, %1, %2, %3
      : tensor<1x4x1x8xf32>, tensor<4x8xf32>, tensor<f32>, tensor<?x6xbf16>
}

// A negative axis counts from the end; a dynamic dimension takes any slice.
// CHECK-LABEL: func.func @slice
// CHECK-SAME: -> (tensor<?x2x8xf32>, tensor<?x4x3xf32>, tensor<?x4x8xf32>, tensor<7x3xbf16>)
// CHECK: var.slice %{{.*}} axis 1 offset 0 size 2 : tensor<?x4x8xf32>{{$}}
// CHECK: var.slice %{{.*}} axis -1 offset 5 size 3 : tensor<?x4x8xf32>{{$}}
// CHECK: var.slice %{{.*}} axis 2 offset 0 size 8 : tensor<?x4x8xf32>{{$}}
// CHECK: var.slice %{{.*}} axis 0 offset 100 size 7 : tensor<?x3xbf16>{{$}}
func.func @slice(%x: tensor<?x4x8xf32>, %y: tensor<?x3xbf16>)
    -> (tensor<?x2x8xf32>, tensor<?x4x3xf32>, tensor<?x4x8xf32>,
        tensor<7x3xbf16>) {
  %0 = var.slice %x axis 1 offset 0 size 2 : tensor<?x4x8xf32>
  %1 = var.slice %x axis -1 offset 5 size 3 : tensor<?x4x8xf32>
  %2 = var.slice %x axis 2 offset 0 size 8 : tensor<?x4x8xf32>
  %3 = var.slice %y axis 0 offset 100 size 7 : tensor<?x3xbf16>
  return %0, %1, %2, %3 : tensor<?x2x8xf32>, tensor<?x4x3xf32>,
                          tensor<?x4x8xf32>, tensor<7x3xbf16>
}

// (B, ...) -> (B, frames, ...).
// CHECK-LABEL: func.func @mean_time_grad
// CHECK-SAME: -> (tensor<?x8x16xf32>, tensor<2x3x4x7x7xbf16>, tensor<5x1xf32>)
// CHECK: var.mean_time_grad %{{.*}} frames 8 : tensor<?x16xf32>{{$}}
// CHECK: var.mean_time_grad %{{.*}} frames 3 : tensor<2x4x7x7xbf16>{{$}}
// CHECK: var.mean_time_grad %{{.*}} frames 1 : tensor<5xf32>{{$}}
func.func @mean_time_grad(%g: tensor<?x16xf32>, %h: tensor<2x4x7x7xbf16>,
                          %v: tensor<5xf32>)
    -> (tensor<?x8x16xf32>, tensor<2x3x4x7x7xbf16>, tensor<5x1xf32>) {
  %0 = var.mean_time_grad %g frames 8 : tensor<?x16xf32>
  %1 = var.mean_time_grad %h frames 3 : tensor<2x4x7x7xbf16>
  %2 = var.mean_time_grad %v frames 1 : tensor<5xf32>
  return %0, %1, %2
      : tensor<?x8x16xf32>, tensor<2x3x4x7x7xbf16>, tensor<5x1xf32>
}

// The result has the logits' type; the loss gradient is an f32 scalar.
// CHECK-LABEL: func.func @softmax_cross_entropy_grad
// CHECK-SAME: -> (tensor<?x10xf32>, tensor<4x101xbf16>)
// CHECK: var.softmax_cross_entropy_grad %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x10xf32>, tensor<?xi64>{{$}}
// CHECK: var.softmax_cross_entropy_grad %{{.*}}, %{{.*}}, %{{.*}} label_smoothing 1.000000e-01 : tensor<4x101xbf16>, tensor<4xi32>{{$}}
func.func @softmax_cross_entropy_grad(%x: tensor<?x10xf32>, %l: tensor<?xi64>,
                                      %y: tensor<4x101xbf16>, %k: tensor<4xi32>,
                                      %dl: tensor<f32>)
    -> (tensor<?x10xf32>, tensor<4x101xbf16>) {
  %0 = var.softmax_cross_entropy_grad %x, %l, %dl : tensor<?x10xf32>, tensor<?xi64>
  %1 = var.softmax_cross_entropy_grad %y, %k, %dl label_smoothing 0.1
      : tensor<4x101xbf16>, tensor<4xi32>
  return %0, %1 : tensor<?x10xf32>, tensor<4x101xbf16>
}
