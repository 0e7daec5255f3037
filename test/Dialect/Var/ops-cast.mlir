// Round trip of what mixed precision writes: var.cast, var.get_param of a
// compute copy (bf16 read of an f32 parameter), and batch norm on a bf16
// input with f32 weight, bias and statistics, through the custom form, twice,
// and through the generic form. Functions return the results they check, so
// that the func.return verifier pins the types to the declared signature.
//
// RUN: var-opt %s | FileCheck %s
// RUN: var-opt %s | var-opt | FileCheck %s
// RUN: var-opt %s --mlir-print-op-generic | var-opt | FileCheck %s
// RUN: var-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

//===----------------------------------------------------------------------===//
// var.cast
//===----------------------------------------------------------------------===//

// Narrowing, widening, between the 16-bit types; dynamic dimensions and
// rank 0 keep their shape.
// CHECK-LABEL: func.func @cast
// CHECK-SAME: -> (tensor<?x3x8x8xbf16>, tensor<2x5xf32>, tensor<4xbf16>, tensor<f16>)
// CHECK: var.cast %{{.*}} : tensor<?x3x8x8xf32> to tensor<?x3x8x8xbf16>{{$}}
// CHECK: var.cast %{{.*}} : tensor<2x5xbf16> to tensor<2x5xf32>{{$}}
// CHECK: var.cast %{{.*}} : tensor<4xf16> to tensor<4xbf16>{{$}}
// CHECK: var.cast %{{.*}} : tensor<f32> to tensor<f16>{{$}}
// The element type is a property; the generic form shows it.
// GENERIC-LABEL: sym_name = "cast"
// GENERIC: "var.cast"(%{{.*}}) <{to = bf16}> : (tensor<?x3x8x8xf32>) -> tensor<?x3x8x8xbf16>
// GENERIC: "var.cast"(%{{.*}}) <{to = f32}> : (tensor<2x5xbf16>) -> tensor<2x5xf32>
func.func @cast(%x: tensor<?x3x8x8xf32>, %y: tensor<2x5xbf16>,
                %z: tensor<4xf16>, %s: tensor<f32>)
    -> (tensor<?x3x8x8xbf16>, tensor<2x5xf32>, tensor<4xbf16>, tensor<f16>) {
  %0 = var.cast %x : tensor<?x3x8x8xf32> to tensor<?x3x8x8xbf16>
  %1 = var.cast %y : tensor<2x5xbf16> to tensor<2x5xf32>
  %2 = var.cast %z : tensor<4xf16> to tensor<4xbf16>
  %3 = var.cast %s : tensor<f32> to tensor<f16>
  return %0, %1, %2, %3 : tensor<?x3x8x8xbf16>, tensor<2x5xf32>,
      tensor<4xbf16>, tensor<f16>
}

// The generic form parses too.
// CHECK-LABEL: func.func @cast_generic
// CHECK: var.cast %{{.*}} : tensor<2x5xf32> to tensor<2x5xbf16>{{$}}
func.func @cast_generic(%x: tensor<2x5xf32>) -> tensor<2x5xbf16> {
  %0 = "var.cast"(%x) <{to = bf16}> : (tensor<2x5xf32>) -> tensor<2x5xbf16>
  return %0 : tensor<2x5xbf16>
}

//===----------------------------------------------------------------------===//
// var.get_param of a compute copy
//===----------------------------------------------------------------------===//

// CHECK: var.param @conv.weight : tensor<4x3x3x3xf32> init kaiming_normal_fan_out{{$}}
var.param @conv.weight : tensor<4x3x3x3xf32> init kaiming_normal_fan_out
var.param @bn.weight : tensor<4xf32> init ones
var.param @bn.bias : tensor<4xf32> init zeros
var.param @bn.running_mean : tensor<4xf32> init zeros buffer
var.param @bn.running_var : tensor<4xf32> init ones buffer

// The same f32 parameter read as itself and as bf16 and f16 compute copies.
// CHECK-LABEL: func.func @compute_copy
// CHECK-SAME: -> (tensor<4x3x3x3xf32>, tensor<4x3x3x3xbf16>, tensor<4x3x3x3xf16>)
// CHECK: var.get_param @conv.weight : tensor<4x3x3x3xf32>{{$}}
// CHECK: var.get_param @conv.weight : tensor<4x3x3x3xbf16>{{$}}
// CHECK: var.get_param @conv.weight : tensor<4x3x3x3xf16>{{$}}
func.func @compute_copy() -> (tensor<4x3x3x3xf32>, tensor<4x3x3x3xbf16>,
                              tensor<4x3x3x3xf16>) {
  %0 = var.get_param @conv.weight : tensor<4x3x3x3xf32>
  %1 = var.get_param @conv.weight : tensor<4x3x3x3xbf16>
  %2 = var.get_param @conv.weight : tensor<4x3x3x3xf16>
  return %0, %1, %2 : tensor<4x3x3x3xf32>, tensor<4x3x3x3xbf16>,
      tensor<4x3x3x3xf16>
}

//===----------------------------------------------------------------------===//
// Batch norm: bf16 input, f32 weight, bias and statistics
//===----------------------------------------------------------------------===//

// The result has the input's type; the batch statistics, the new running
// statistics and the weight and bias gradients have the weight's (f32).
// CHECK-LABEL: func.func @batch_norm_bf16
// CHECK-SAME: -> (tensor<2x4x8x8xbf16>, tensor<2x4x8x8xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<2x4x8x8xbf16>, tensor<4xf32>)
// CHECK: var.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x4x8x8xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>{{$}}
// CHECK: var.batch_norm_train %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x4x8x8xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>{{$}}
// CHECK: var.batch_norm_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x4x8x8xbf16>, tensor<4xf32>{{$}}
func.func @batch_norm_bf16(%x: tensor<2x4x8x8xbf16>)
    -> (tensor<2x4x8x8xbf16>, tensor<2x4x8x8xbf16>, tensor<4xf32>,
        tensor<4xf32>, tensor<2x4x8x8xbf16>, tensor<4xf32>) {
  %g = var.get_param @bn.weight : tensor<4xf32>
  %b = var.get_param @bn.bias : tensor<4xf32>
  %m = var.get_param @bn.running_mean : tensor<4xf32>
  %v = var.get_param @bn.running_var : tensor<4xf32>
  %0 = var.batch_norm %x, %g, %b, %m, %v : tensor<2x4x8x8xbf16>,
      tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  %1:5 = var.batch_norm_train %x, %g, %b, %m, %v : tensor<2x4x8x8xbf16>,
      tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  %2:3 = var.batch_norm_grad %x, %1#0, %g, %1#1, %1#2
      : tensor<2x4x8x8xbf16>, tensor<4xf32>
  return %0, %1#0, %1#1, %1#3, %2#0, %2#1 : tensor<2x4x8x8xbf16>,
      tensor<2x4x8x8xbf16>, tensor<4xf32>, tensor<4xf32>,
      tensor<2x4x8x8xbf16>, tensor<4xf32>
}
