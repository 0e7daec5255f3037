// Round trip of var.param (every initializer, buffers, element types),
// var.get_param: every optional attribute and operand form, through the custom
// form, twice, and through the generic form. The custom form prints no result
// types, so each function returns the results it checks: the func.return
// verifier pins the inferred types to the declared signature, and the CHECK on
// the signature pins the printed form.
//
// RUN: var-opt %s | FileCheck %s
// RUN: var-opt %s | var-opt | FileCheck %s
// RUN: var-opt %s --mlir-print-op-generic | var-opt | FileCheck %s

//===----------------------------------------------------------------------===//
// var.param: every initializer, arguments, buffers, element types
//===----------------------------------------------------------------------===//

// CHECK: var.param @p.zeros : tensor<8xf32> init zeros{{$}}
var.param @p.zeros : tensor<8xf32> init zeros
// CHECK-NEXT: var.param @p.ones : tensor<8xf32> init ones{{$}}
var.param @p.ones : tensor<8xf32> init ones
// CHECK-NEXT: var.param @p.normal : tensor<8x4xf32> init normal(1.000000e-02){{$}}
var.param @p.normal : tensor<8x4xf32> init normal(0.01)
// CHECK-NEXT: var.param @p.normal_rank1 : tensor<8xf32> init normal(2.000000e+00){{$}}
var.param @p.normal_rank1 : tensor<8xf32> init normal(2.0)
// CHECK-NEXT: var.param @p.uniform : tensor<8x4xf32> init uniform(5.000000e-01){{$}}
var.param @p.uniform : tensor<8x4xf32> init uniform(0.5)
// CHECK-NEXT: var.param @p.kaiming_in : tensor<16x8x3x3xf32> init kaiming_normal_fan_in{{$}}
var.param @p.kaiming_in : tensor<16x8x3x3xf32> init kaiming_normal_fan_in
// CHECK-NEXT: var.param @p.kaiming_out : tensor<16x8x3x3xf32> init kaiming_normal_fan_out{{$}}
var.param @p.kaiming_out : tensor<16x8x3x3xf32> init kaiming_normal_fan_out
// CHECK-NEXT: var.param @p.kaiming_uniform : tensor<16x8xf32> init kaiming_uniform{{$}}
var.param @p.kaiming_uniform : tensor<16x8xf32> init kaiming_uniform
// CHECK-NEXT: var.param @p.xavier : tensor<16x8x3x3x3xf32> init xavier_uniform{{$}}
var.param @p.xavier : tensor<16x8x3x3x3xf32> init xavier_uniform
// CHECK-NEXT: var.param @bn.running_mean : tensor<8xf32> init zeros buffer{{$}}
var.param @bn.running_mean : tensor<8xf32> init zeros buffer
// CHECK-NEXT: var.param @bn.running_var : tensor<8xf32> init ones buffer{{$}}
var.param @bn.running_var : tensor<8xf32> init ones buffer
// CHECK-NEXT: var.param @bn.num_batches_tracked : tensor<i64> init zeros buffer{{$}}
var.param @bn.num_batches_tracked : tensor<i64> init zeros buffer
// CHECK-NEXT: var.param @p.int_buffer : tensor<4x2xi32> init ones buffer{{$}}
var.param @p.int_buffer : tensor<4x2xi32> init ones buffer
// CHECK-NEXT: var.param @p.normal_buffer : tensor<4xf32> init normal(1.000000e+00) buffer{{$}}
var.param @p.normal_buffer : tensor<4xf32> init normal(1.0) buffer
// CHECK-NEXT: var.param @p.bf16 : tensor<4x4xbf16> init xavier_uniform{{$}}
var.param @p.bf16 : tensor<4x4xbf16> init xavier_uniform
// CHECK-NEXT: var.param @p.f16 : tensor<4xf16> init uniform(1.000000e-01){{$}}
var.param @p.f16 : tensor<4xf16> init uniform(0.1)
// A state_dict key may be a single segment; a segment may start with a digit
// or '_'.
// CHECK-NEXT: var.param @weight : tensor<2x2xf32> init zeros{{$}}
var.param @weight : tensor<2x2xf32> init zeros
// CHECK-NEXT: var.param @features.0.1._w : tensor<2xf32> init ones{{$}}
var.param @features.0.1._w : tensor<2xf32> init ones
// nn.Sequential keys start with a digit; the symbol is then quoted.
// CHECK-NEXT: var.param @"0.weight" : tensor<2x2xf32> init kaiming_normal_fan_in{{$}}
var.param @"0.weight" : tensor<2x2xf32> init kaiming_normal_fan_in

//===----------------------------------------------------------------------===//
// var.get_param
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @get_param()
// CHECK-SAME: -> (tensor<16x8x3x3xf32>, tensor<i64>, tensor<4x2xi32>, tensor<4x4xbf16>, tensor<4xf16>)
// CHECK: %{{.*}} = var.get_param @p.kaiming_in : tensor<16x8x3x3xf32>
// CHECK: %{{.*}} = var.get_param @bn.num_batches_tracked : tensor<i64>
// CHECK: %{{.*}} = var.get_param @p.int_buffer : tensor<4x2xi32>
// CHECK: %{{.*}} = var.get_param @p.bf16 : tensor<4x4xbf16>
// CHECK: %{{.*}} = var.get_param @p.f16 : tensor<4xf16>
func.func @get_param() -> (tensor<16x8x3x3xf32>, tensor<i64>, tensor<4x2xi32>,
                           tensor<4x4xbf16>, tensor<4xf16>) {
  %0 = var.get_param @p.kaiming_in : tensor<16x8x3x3xf32>
  %1 = var.get_param @bn.num_batches_tracked : tensor<i64>
  %2 = var.get_param @p.int_buffer : tensor<4x2xi32>
  %3 = var.get_param @p.bf16 : tensor<4x4xbf16>
  %4 = var.get_param @p.f16 : tensor<4xf16>
  return %0, %1, %2, %3, %4 : tensor<16x8x3x3xf32>, tensor<i64>,
      tensor<4x2xi32>, tensor<4x4xbf16>, tensor<4xf16>
}
