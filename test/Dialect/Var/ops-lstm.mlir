// Round trip of var.lstm: every optional attribute and operand form, through
// the custom form, twice, and through the generic form. The custom form prints
// no result types, so each function returns the results it checks: the
// func.return verifier pins the inferred types to the declared signature, and
// the CHECK on the signature pins the printed form.
//
// RUN: var-opt %s | FileCheck %s
// RUN: var-opt %s | var-opt | FileCheck %s
// RUN: var-opt %s --mlir-print-op-generic | var-opt | FileCheck %s

//===----------------------------------------------------------------------===//
// var.lstm
//===----------------------------------------------------------------------===//

// Hidden 32 (128 gate rows): sequence (B, T, 32) and last (B, 32); two layers
// chained.
// CHECK-LABEL: func.func @lstm
// CHECK-SAME: -> (tensor<?x8x32xf32>, tensor<?x32xf32>, tensor<?x8x32xf32>)
// CHECK: %[[SEQ:[a-z_0-9]+]], %{{.*}} = var.lstm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x8x64xf32>, tensor<128x64xf32>, tensor<128x32xf32>, tensor<128xf32>, tensor<128xf32>{{$}}
// CHECK: %{{.*}}, %{{.*}} = var.lstm %[[SEQ]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x8x32xf32>, tensor<128x32xf32>, tensor<128x32xf32>, tensor<128xf32>, tensor<128xf32>{{$}}
func.func @lstm(%x: tensor<?x8x64xf32>, %wih: tensor<128x64xf32>,
                %whh: tensor<128x32xf32>, %b: tensor<128xf32>)
    -> (tensor<?x8x32xf32>, tensor<?x32xf32>, tensor<?x8x32xf32>) {
  %seq, %last = var.lstm %x, %wih, %whh, %b, %b : tensor<?x8x64xf32>,
      tensor<128x64xf32>, tensor<128x32xf32>, tensor<128xf32>, tensor<128xf32>
  %seq2, %last2 = var.lstm %seq, %whh, %whh, %b, %b : tensor<?x8x32xf32>,
      tensor<128x32xf32>, tensor<128x32xf32>, tensor<128xf32>, tensor<128xf32>
  return %seq, %last, %seq2 : tensor<?x8x32xf32>, tensor<?x32xf32>,
      tensor<?x8x32xf32>
}

// Dynamic time and feature dimensions, bf16.
// CHECK-LABEL: func.func @lstm_dynamic
// CHECK-SAME: -> (tensor<2x?x4xbf16>, tensor<2x4xbf16>)
// CHECK: %{{.*}}, %{{.*}} = var.lstm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x?x?xbf16>, tensor<16x3xbf16>, tensor<16x4xbf16>, tensor<16xbf16>, tensor<16xbf16>{{$}}
func.func @lstm_dynamic(%x: tensor<2x?x?xbf16>, %wih: tensor<16x3xbf16>,
                        %whh: tensor<16x4xbf16>, %b: tensor<16xbf16>)
    -> (tensor<2x?x4xbf16>, tensor<2x4xbf16>) {
  %seq, %last = var.lstm %x, %wih, %whh, %b, %b : tensor<2x?x?xbf16>,
      tensor<16x3xbf16>, tensor<16x4xbf16>, tensor<16xbf16>, tensor<16xbf16>
  return %seq, %last : tensor<2x?x4xbf16>, tensor<2x4xbf16>
}
