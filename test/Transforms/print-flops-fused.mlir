// Forward FLOPs of var.fused_elementwise (FusedOps.cpp): the sum of its
// steps', each the FLOPs of the op it stands for, so fusion leaves a
// step's FLOPs (the profiler's MFU) unchanged.
// RUN: var-opt %s --var-print-flops --verify-diagnostics -o /dev/null
// RUN: var-opt %s --var-fuse-elementwise --var-print-flops -o /dev/null 2>&1 | FileCheck %s

// add 1, relu 1, silu_grad 4, sigmoid_grad 2, cast 1, dropout 1 per element
// of 2x4x3 = 24: 10 * 24. Unfused, the same ops count 24, 24, 96, 48, 24
// and 24; after --var-fuse-elementwise the one fused op counts their sum.
// CHECK-NOT: remark
// CHECK: remark: forward FLOPs: 240
// CHECK-NEXT: var.add
// CHECK: var.fused_elementwise
// CHECK-NOT: remark
func.func @chain(%x: tensor<2x4x3xf32>, %b: tensor<3xf32>) -> tensor<2x4x3xbf16> {
  // expected-remark @+1 {{forward FLOPs: 24}}
  %0 = var.add %x, %b : tensor<2x4x3xf32>, tensor<3xf32>
  // expected-remark @+1 {{forward FLOPs: 24}}
  %1 = var.relu %0 : tensor<2x4x3xf32>
  // expected-remark @+1 {{forward FLOPs: 96}}
  %2 = var.silu_grad %1, %x : tensor<2x4x3xf32>
  // expected-remark @+1 {{forward FLOPs: 48}}
  %3 = var.sigmoid_grad %2, %1 : tensor<2x4x3xf32>
  // expected-remark @+1 {{forward FLOPs: 24}}
  %4 = var.cast %3 : tensor<2x4x3xf32> to tensor<2x4x3xbf16>
  // expected-remark @+1 {{forward FLOPs: 24}}
  %5 = var.dropout_train %4 p 1.000000e-01 key 2 : tensor<2x4x3xbf16>
  return %5 : tensor<2x4x3xbf16>
}
