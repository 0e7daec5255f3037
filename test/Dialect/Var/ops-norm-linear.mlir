// Round trip of var.batch_norm, var.linear: every optional attribute and
// operand form, through the custom form, twice, and through the generic form.
// The custom form prints no result types, so each function returns the results
// it checks: the func.return verifier pins the inferred types to the declared
// signature, and the CHECK on the signature pins the printed form.
//
// RUN: var-opt %s | FileCheck %s
// RUN: var-opt %s | var-opt | FileCheck %s
// RUN: var-opt %s --mlir-print-op-generic | var-opt | FileCheck %s

// Batch norm reads its statistics from parameters and buffers.
// CHECK: var.param @p.ones
var.param @p.ones : tensor<8xf32> init ones
var.param @p.zeros : tensor<8xf32> init zeros
var.param @bn.running_mean : tensor<8xf32> init zeros buffer
var.param @bn.running_var : tensor<8xf32> init ones buffer

//===----------------------------------------------------------------------===//
// var.batch_norm
//===----------------------------------------------------------------------===//

// Default eps (1e-5) and momentum (0.1) are elided when written explicitly.
// CHECK-LABEL: func.func @batch_norm
// CHECK-SAME: -> (tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>)
// CHECK: var.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>{{$}}
// CHECK: var.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} eps 1.000000e-03 : tensor<?x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>{{$}}
// CHECK: var.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} momentum 0.000000e+00 : tensor<?x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>{{$}}
// CHECK: var.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} eps 1.000000e-01 momentum 1.000000e+00 : tensor<?x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>{{$}}
// CHECK: var.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>{{$}}
func.func @batch_norm(%x: tensor<?x8x4x4xf32>) -> (tensor<?x8x4x4xf32>,
    tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>,
    tensor<?x8x4x4xf32>) {
  %g = var.get_param @p.ones : tensor<8xf32>
  %b = var.get_param @p.zeros : tensor<8xf32>
  %m = var.get_param @bn.running_mean : tensor<8xf32>
  %v = var.get_param @bn.running_var : tensor<8xf32>
  %0 = var.batch_norm %x, %g, %b, %m, %v : tensor<?x8x4x4xf32>, tensor<8xf32>,
      tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %1 = var.batch_norm %x, %g, %b, %m, %v eps 1.0e-3 : tensor<?x8x4x4xf32>,
      tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %2 = var.batch_norm %x, %g, %b, %m, %v momentum 0.0 : tensor<?x8x4x4xf32>,
      tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %3 = var.batch_norm %x, %g, %b, %m, %v eps 0.1 momentum 1.0
      : tensor<?x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>,
        tensor<8xf32>
  %4 = var.batch_norm %x, %g, %b, %m, %v eps 1.0e-5 momentum 0.1
      : tensor<?x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>,
        tensor<8xf32>
  return %0, %1, %2, %3, %4 : tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>,
      tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>
}

// BatchNorm1d (N, C), BatchNorm3d (N, C, D, H, W) in bf16, and a dynamic
// channel count that accepts any parameter length.
// CHECK-LABEL: func.func @batch_norm_ranks
// CHECK-SAME: -> (tensor<?x16xf32>, tensor<2x4x3x5x5xbf16>, tensor<2x?x3xf32>)
// CHECK: var.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>{{$}}
// CHECK: var.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} eps 1.000000e-03 momentum 1.000000e-02 : tensor<2x4x3x5x5xbf16>, tensor<4xbf16>, tensor<4xbf16>, tensor<4xbf16>, tensor<4xbf16>{{$}}
// CHECK: var.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x?x3xf32>, tensor<7xf32>, tensor<7xf32>, tensor<7xf32>, tensor<7xf32>{{$}}
func.func @batch_norm_ranks(%x: tensor<?x16xf32>, %p: tensor<16xf32>,
                            %y: tensor<2x4x3x5x5xbf16>, %q: tensor<4xbf16>,
                            %z: tensor<2x?x3xf32>, %r: tensor<7xf32>)
    -> (tensor<?x16xf32>, tensor<2x4x3x5x5xbf16>, tensor<2x?x3xf32>) {
  %0 = var.batch_norm %x, %p, %p, %p, %p : tensor<?x16xf32>, tensor<16xf32>,
      tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  %1 = var.batch_norm %y, %q, %q, %q, %q eps 1.0e-3 momentum 1.0e-2
      : tensor<2x4x3x5x5xbf16>, tensor<4xbf16>, tensor<4xbf16>, tensor<4xbf16>,
        tensor<4xbf16>
  %2 = var.batch_norm %z, %r, %r, %r, %r : tensor<2x?x3xf32>, tensor<7xf32>,
      tensor<7xf32>, tensor<7xf32>, tensor<7xf32>
  return %0, %1, %2
      : tensor<?x16xf32>, tensor<2x4x3x5x5xbf16>, tensor<2x?x3xf32>
}

//===----------------------------------------------------------------------===//
// var.linear
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @linear
// CHECK-SAME: -> (tensor<?x10xf32>, tensor<?x10xf32>, tensor<2x5x10xf32>, tensor<10xf32>, tensor<?x10xf32>)
// CHECK: var.linear %{{.*}}, %{{.*}} : tensor<?x128xf32>, tensor<10x128xf32>{{$}}
// CHECK: var.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x128xf32>, tensor<10x128xf32>, tensor<10xf32>{{$}}
// CHECK: var.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x5x128xf32>, tensor<10x128xf32>, tensor<10xf32>{{$}}
// CHECK: var.linear %{{.*}}, %{{.*}} : tensor<128xf32>, tensor<10x128xf32>{{$}}
// CHECK: var.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<10x128xf32>, tensor<10xf32>{{$}}
func.func @linear(%x: tensor<?x128xf32>, %y: tensor<2x5x128xf32>,
                  %v: tensor<128xf32>, %d: tensor<?x?xf32>,
                  %w: tensor<10x128xf32>, %b: tensor<10xf32>)
    -> (tensor<?x10xf32>, tensor<?x10xf32>, tensor<2x5x10xf32>, tensor<10xf32>,
        tensor<?x10xf32>) {
  %0 = var.linear %x, %w : tensor<?x128xf32>, tensor<10x128xf32>
  %1 = var.linear %x, %w, %b
      : tensor<?x128xf32>, tensor<10x128xf32>, tensor<10xf32>
  %2 = var.linear %y, %w, %b
      : tensor<2x5x128xf32>, tensor<10x128xf32>, tensor<10xf32>
  %3 = var.linear %v, %w : tensor<128xf32>, tensor<10x128xf32>
  %4 = var.linear %d, %w, %b
      : tensor<?x?xf32>, tensor<10x128xf32>, tensor<10xf32>
  return %0, %1, %2, %3, %4 : tensor<?x10xf32>, tensor<?x10xf32>,
      tensor<2x5x10xf32>, tensor<10xf32>, tensor<?x10xf32>
}

// CHECK-LABEL: func.func @linear_f16
// CHECK-SAME: -> tensor<4x3xf16>
// CHECK: var.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<4x6xf16>, tensor<3x6xf16>, tensor<3xf16>{{$}}
func.func @linear_f16(%x: tensor<4x6xf16>, %w: tensor<3x6xf16>,
                      %b: tensor<3xf16>) -> tensor<4x3xf16> {
  %0 = var.linear %x, %w, %b : tensor<4x6xf16>, tensor<3x6xf16>, tensor<3xf16>
  return %0 : tensor<4x3xf16>
}
