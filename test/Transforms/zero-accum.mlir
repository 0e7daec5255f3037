// Gradient accumulation under --var-zero: @accumulate_step runs the first
// K-1 micro-batches (no update, and at stages 0-1 no communication);
// @train_step accumulates the same way, then communicates and updates.
//
// RUN: var-opt %s --var-mixed-precision --var-autodiff="loss-scale=0.25" --var-optimizer --var-zero="stage=1 grad-accum=4" | FileCheck %s --check-prefix=S1
// RUN: var-opt %s --var-mixed-precision --var-autodiff="loss-scale=0.25" --var-optimizer --var-zero="stage=3 grad-accum=4" | FileCheck %s --check-prefix=S3
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero="stage=2" | FileCheck %s --check-prefix=NONE

module {
  var.param @fc1.weight : tensor<16x8xf32> init xavier_uniform
  var.param @fc2.weight : tensor<3x16xf32> init xavier_uniform
  func.func @forward(%x: tensor<4x8xf32>) -> tensor<4x3xf32> {
    %w1 = var.get_param @fc1.weight : tensor<16x8xf32>
    %h = var.linear %x, %w1 : tensor<4x8xf32>, tensor<16x8xf32>
    %w2 = var.get_param @fc2.weight : tensor<3x16xf32>
    %y = var.linear %h, %w2 : tensor<4x16xf32>, tensor<3x16xf32>
    return %y : tensor<4x3xf32>
  }
}

// S1: dist.grad_accum = 4 : i64
// S1-LABEL: func.func @train_step(
// S1: var.fill 2.500000e-01 : tensor<f32>
// S1: %[[P:.*]] = dist.pack @bucket0(%{{.*}}, %{{.*}}) accumulate : tensor<16x8xbf16>, tensor<3x16xbf16> -> tensor<192xbf16>
// S1-NEXT: %[[RS:.*]] = dist.reduce_scatter %[[P]] : tensor<192xbf16> -> tensor<?xbf16>
// S1-NEXT: dist.adamw_update @bucket0, %[[RS]]
// S1-LABEL: func.func @accumulate_step(
// S1-SAME: {var.role = "labels"}) -> (tensor<f32>, tensor<4x3xf32>)
// S1: dist.pack @bucket0(%{{.*}}, %{{.*}}) accumulate
// S1-NOT: dist.
// S1: return

// S3-LABEL: func.func @train_step(
// S3: %[[P:.*]] = dist.pack @bucket0(%{{.*}}, %{{.*}}) : tensor<16x8xbf16>, tensor<3x16xbf16> -> tensor<192xbf16>
// S3-NEXT: %[[RS:.*]] = dist.reduce_scatter %[[P]] accumulate : tensor<192xbf16> -> tensor<?xbf16>
// S3-NEXT: dist.release %[[P]]
// S3-NEXT: dist.adamw_update @bucket0, %[[RS]]
// S3-LABEL: func.func @accumulate_step(
// S3: dist.load_params @bucket0
// S3-NEXT: dist.all_gather
// S3: %[[P:.*]] = dist.pack @bucket0
// S3-NEXT: dist.reduce_scatter %[[P]] accumulate
// S3-NEXT: dist.release %[[P]]
// S3-NOT: dist.
// S3: return

// NONE-NOT: accumulate
