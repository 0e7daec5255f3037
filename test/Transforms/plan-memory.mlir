// --var-plan-memory: arena offsets from liveness. Values alive at the same
// time never overlap; dead values' memory is reused; parameter views,
// gradient buckets and masters take no arena space.
//
// RUN: var-opt %s -split-input-file --var-plan-memory | FileCheck %s

// A chain of 256-byte values: each lives until the next is made, so two
// slots alternate; the input stays live for the add at the end.
// CHECK-LABEL: func.func @chain(
// CHECK-SAME: %{{.*}}: tensor<64xf32> {dist.offset = 0 : i64}
// CHECK-SAME: attributes {dist.arena_bytes = 768 : i64}
// CHECK: var.relu %{{.*}} {dist.offsets = [[[A:[0-9]+]]]}
// CHECK-NEXT: var.sigmoid %{{.*}} {dist.offsets = [[[B:[0-9]+]]]}
// CHECK-NEXT: var.relu %{{.*}} {dist.offsets = [[[A]]]}
// CHECK-NEXT: var.add %{{.*}} {dist.offsets = [[[B]]]}
func.func @chain(%x: tensor<64xf32>) -> tensor<64xf32> {
  %a = var.relu %x : tensor<64xf32>
  %b = var.sigmoid %a : tensor<64xf32>
  %c = var.relu %b : tensor<64xf32>
  %d = var.add %c, %x : tensor<64xf32>, tensor<64xf32>
  return %d : tensor<64xf32>
}

// -----

// Parameter reads, packed gradients and collectives live in model-state
// buffers: no offsets. A value read on another stream lives to the end.
var.param @w : tensor<64xf32> init zeros
dist.bucket @bucket0 params [@w] offsets [0] numel 64 : f32
// CHECK-LABEL: func.func @views(
// CHECK-SAME: attributes {dist.arena_bytes = 260 : i64}
// CHECK: var.get_param @w {dist.stream = "compute"}
// CHECK: var.relu %{{.*}} {dist.offsets = [0], dist.stream = "compute"}
// CHECK: dist.pack @bucket0(%{{.*}}) {dist.stream = "compute"}
// CHECK: dist.sum_squares(%{{.*}}) {dist.offsets = [256], dist.stream = "compute"}
// CHECK: dist.all_reduce %{{.*}} sum {dist.stream = "comm"}
// The second relu reuses the first one's slot; the sum of squares, read by
// the comm stream, keeps its own to the end.
// CHECK: var.relu %{{.*}} {dist.offsets = [0], dist.stream = "compute"}
func.func @views() -> tensor<64xf32> {
  %w = var.get_param @w {dist.stream = "compute"} : tensor<64xf32>
  %g = var.relu %w {dist.stream = "compute"} : tensor<64xf32>
  %p = dist.pack @bucket0(%g) {dist.stream = "compute"} : tensor<64xf32> -> tensor<64xf32>
  %ss = dist.sum_squares(%p) {dist.stream = "compute"} : tensor<64xf32>
  %all = dist.all_reduce %ss sum {dist.stream = "comm"} : tensor<1xf32>
  %h = var.relu %w {dist.stream = "compute"} : tensor<64xf32>
  return %h : tensor<64xf32>
}

