// Gradient clipping under --var-zero: the global L2 norm of the reduced
// gradients (summed over ranks where each holds a shard) scales every update.
//
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero="stage=0 clip-grad-norm=1.0" | FileCheck %s --check-prefix=S0
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero="stage=2 clip-grad-norm=0.5 bucket-mb=0.0001 offload-optimizer=true" | FileCheck %s --check-prefix=S2
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero="stage=1 clip-grad-norm=1.0 grad-accum=2" | FileCheck %s --check-prefix=ACC
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero | FileCheck %s --check-prefix=OFF

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

// Stage 0: every rank holds the whole reduced gradient; no extra collective.
// S0: dist.clip_grad_norm = 1.000000e+00 : f64
// S0: %[[R:.*]] = dist.all_reduce %{{.*}} : tensor<192xbf16>
// S0-NEXT: %[[SS:.*]] = dist.sum_squares(%[[R]]) : tensor<192xbf16>
// S0-NEXT: %[[C:.*]] = dist.clip_coefficient %[[SS]] max_norm 1.000000e+00
// S0-NEXT: dist.adamw_update @bucket0, %[[R]] lr %{{.*}} step %{{.*}} clip %[[C]] betas

// Stage 2, two buckets, offloaded: the shards' squares are summed over ranks,
// and the coefficient goes to the host with the gradients.
// S2: %[[G1:.*]] = dist.reduce_scatter
// S2: %[[G0:.*]] = dist.reduce_scatter
// S2: %[[SS:.*]] = dist.sum_squares(%[[G1]], %[[G0]]) : tensor<?xbf16>, tensor<?xbf16>
// S2-NEXT: %[[ALL:.*]] = dist.all_reduce %[[SS]] sum : tensor<1xf32>
// S2-NEXT: %[[C:.*]] = dist.clip_coefficient %[[ALL]] max_norm 5.000000e-01
// S2-NEXT: %[[CH:.*]] = dist.to_host %[[C]] : tensor<1xf32>
// S2: dist.adamw_update @bucket1, %{{.*}} clip %[[CH]] {{.*}} on_host
// S2: dist.adamw_update @bucket0, %{{.*}} clip %[[CH]] {{.*}} on_host

// The norm is only taken on the micro-step that updates.
// ACC-LABEL: func.func @train_step(
// ACC: dist.clip_coefficient
// ACC-LABEL: func.func @accumulate_step(
// ACC-NOT: dist.sum_squares
// ACC-NOT: dist.clip_coefficient
// ACC: return

// OFF-NOT: dist.sum_squares
// OFF-NOT: clip %
