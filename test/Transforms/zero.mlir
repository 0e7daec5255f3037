// --var-zero partitions the training step: buckets in execution order,
// gradients packed and reduced per bucket as soon as they are complete,
// flat updates on the rank's shard, explicit casts, stage 3 gathers.
//
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero="stage=0" | FileCheck %s --check-prefix=S0
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero="stage=1" | FileCheck %s --check-prefix=S1
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero="stage=2" | FileCheck %s --check-prefix=S2
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero="stage=3 bucket-mb=0.0001" | FileCheck %s --check-prefix=S3
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero="stage=3 bucket-mb=0.0001 prefetch-buckets=0" | FileCheck %s --check-prefix=S3P0
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero="stage=2 offload-optimizer=true" | FileCheck %s --check-prefix=OFF2
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero="stage=3 offload-optimizer=true offload-params=true" | FileCheck %s --check-prefix=OFF3
// RUN: var-opt %s --var-mixed-precision="precision=fp32" --var-autodiff --var-optimizer="optimizer=sgd momentum=0" --var-zero="stage=1" | FileCheck %s --check-prefix=FP32
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero="stage=3 bucket-mb=0.0001" | var-opt | FileCheck %s --check-prefix=S3

module {
  var.param @fc1.weight : tensor<16x8xf32> init xavier_uniform
  var.param @fc1.bias : tensor<16xf32> init zeros
  var.param @fc2.weight : tensor<3x16xf32> init xavier_uniform
  func.func @forward(%x: tensor<4x8xf32>) -> tensor<4x3xf32> {
    %w1 = var.get_param @fc1.weight : tensor<16x8xf32>
    %b1 = var.get_param @fc1.bias : tensor<16xf32>
    %h = var.linear %x, %w1, %b1 : tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>
    %r = var.relu %h : tensor<4x16xf32>
    %w2 = var.get_param @fc2.weight : tensor<3x16xf32>
    %y = var.linear %r, %w2 : tensor<4x16xf32>, tensor<3x16xf32>
    return %y : tensor<4x3xf32>
  }
}

// Stage 0: one bucket of the three parameters at 64-element offsets (25 MiB
// holds them all); the gradients are packed once the last is complete and
// all-reduced; the whole bucket is updated, cast to bf16 and stored.
// S0: module attributes {{{.*}}dist.zero_stage = 0 : i64}
// S0: dist.bucket @bucket0 params [@fc1.weight, @fc1.bias, @fc2.weight] offsets [0, 128, 192] numel 256 state ["exp_avg", "exp_avg_sq"] : bf16
// S0-NOT: var.optimizer_state
// S0-LABEL: func.func @train_step(
// S0-SAME: %[[LR:[^:]*]]: tensor<f32> {var.role = "lr"}, %[[STEP:[^:]*]]: tensor<i64> {var.role = "step"})
// S0: var.get_param @fc1.weight : tensor<16x8xbf16>
// S0: %[[DW2:.*]] = var.linear_grad_weight
// S0: %[[DW1:.*]] = var.linear_grad_weight
// S0-NEXT: %[[DB1:.*]] = var.reduce_sum
// S0-NEXT: %[[PACK:.*]] = dist.pack @bucket0(%[[DW1]], %[[DB1]], %[[DW2]]) : tensor<16x8xbf16>, tensor<16xbf16>, tensor<3x16xbf16> -> tensor<256xbf16>
// S0-NEXT: %[[RED:.*]] = dist.all_reduce %[[PACK]] : tensor<256xbf16>
// S0-NEXT: %[[M:.*]] = dist.adamw_update @bucket0, %[[RED]] lr %[[LR]] step %[[STEP]] betas(9.000000e-01, 0.99899999999999999) eps 1.000000e-08 weight_decay 1.000000e-02 : tensor<256xbf16> -> tensor<256xf32>
// S0-NEXT: %[[C:.*]] = var.cast %[[M]] : tensor<256xf32> to tensor<256xbf16>
// S0-NEXT: dist.store_params @bucket0, %[[C]] : tensor<256xbf16>
// S0-NEXT: return
// S0-NOT: var.adamw_update

// Stage 1: reduce-scatter to the rank's shard, update the shard, cast,
// all-gather the new parameters. The full gradient bucket persists.
// S1: dist.bucket @bucket0 params [@fc1.weight, @fc1.bias, @fc2.weight] offsets [0, 128, 192] numel 256
// S1: %[[PACK:.*]] = dist.pack @bucket0
// S1-NEXT: %[[RS:.*]] = dist.reduce_scatter %[[PACK]] : tensor<256xbf16> -> tensor<?xbf16>
// S1-NEXT: %[[M:.*]] = dist.adamw_update @bucket0, %[[RS]] lr %{{.*}} : tensor<?xbf16> -> tensor<?xf32>
// S1-NEXT: %[[C:.*]] = var.cast %[[M]] : tensor<?xf32> to tensor<?xbf16>
// S1-NEXT: %[[AG:.*]] = dist.all_gather %[[C]] : tensor<?xbf16> -> tensor<256xbf16>
// S1-NEXT: dist.store_params @bucket0, %[[AG]] : tensor<256xbf16>
// S1-NEXT: return
// S1-NOT: dist.release

// Stage 2: the same, but the full gradient bucket is staging, released as
// soon as its reduce-scatter is issued.
// S2: %[[PACK:.*]] = dist.pack @bucket0
// S2-NEXT: %[[RS:.*]] = dist.reduce_scatter %[[PACK]] : tensor<256xbf16> -> tensor<?xbf16>
// S2-NEXT: dist.release %[[PACK]] : tensor<256xbf16>
// S2-NEXT: %[[M:.*]] = dist.adamw_update @bucket0, %[[RS]]
// S2-NEXT: %[[C:.*]] = var.cast %[[M]]
// S2-NEXT: %[[AG:.*]] = dist.all_gather %[[C]]
// S2-NEXT: dist.store_params @bucket0, %[[AG]]

// Stage 3 with one bucket per parameter: each bucket is gathered one bucket
// ahead of its first use, in the forward and again in the backward (fc1's
// weight is not needed there), and released after its last use; gradients
// are reduce-scattered as each completes; shards are stored without a gather.
// S3: dist.bucket @bucket0 params [@fc1.weight] offsets [0] numel 128
// S3: dist.bucket @bucket1 params [@fc1.bias] offsets [0] numel 64
// S3: dist.bucket @bucket2 params [@fc2.weight] offsets [0] numel 64
// The evaluation forward gathers its buckets too: no rank holds them whole.
// S3-LABEL: func.func @forward(
// S3-NOT: var.get_param
// S3: %[[EF0:.*]] = dist.all_gather %{{.*}} : tensor<?xbf16> -> tensor<128xbf16>
// S3-NEXT: dist.unpack @bucket0, @fc1.weight from %[[EF0]]
// S3: dist.release %[[EF0]]
// S3-LABEL: func.func @train_step(
// S3-NOT: var.get_param
// S3: %[[SH0:.*]] = dist.load_params @bucket0 : tensor<?xbf16>
// S3-NEXT: %[[F0:.*]] = dist.all_gather %[[SH0]] : tensor<?xbf16> -> tensor<128xbf16>
// S3-NEXT: %[[W1:.*]] = dist.unpack @bucket0, @fc1.weight from %[[F0]] : tensor<128xbf16> -> tensor<16x8xbf16>
// S3-NEXT: %[[SH1:.*]] = dist.load_params @bucket1 : tensor<?xbf16>
// S3-NEXT: %[[F1:.*]] = dist.all_gather %[[SH1]]
// S3-NEXT: %[[B1:.*]] = dist.unpack @bucket1, @fc1.bias from %[[F1]]
// S3-NEXT: %[[SH2:.*]] = dist.load_params @bucket2
// S3-NEXT: %[[F2:.*]] = dist.all_gather %[[SH2]]
// S3-NEXT: %[[W2:.*]] = dist.unpack @bucket2, @fc2.weight from %[[F2]]
// S3-NEXT: %[[H:.*]] = var.linear %{{.*}}, %[[W1]], %[[B1]]
// S3-DAG: dist.release %[[F0]] : tensor<128xbf16>
// S3-DAG: dist.release %[[F1]] : tensor<64xbf16>
// S3: var.linear %{{.*}}, %[[W2]]
// S3-NEXT: dist.release %[[F2]]
// S3: var.softmax_cross_entropy_grad
// S3: %[[BS2:.*]] = dist.load_params @bucket2
// S3-NEXT: %[[BF2:.*]] = dist.all_gather %[[BS2]]
// S3-NEXT: %[[BW2:.*]] = dist.unpack @bucket2, @fc2.weight from %[[BF2]]
// S3-NEXT: var.linear_grad_input %{{.*}}, %[[BW2]]
// S3-NEXT: dist.release %[[BF2]]
// S3-NOT: dist.load_params @bucket0
// S3: %[[P2:.*]] = dist.pack @bucket2
// S3-NEXT: dist.reduce_scatter %[[P2]]
// S3-NEXT: dist.release %[[P2]]
// S3: dist.pack @bucket0
// S3-NEXT: dist.reduce_scatter
// S3-NEXT: dist.release
// S3: dist.pack @bucket1
// S3-NEXT: dist.reduce_scatter
// S3-NEXT: dist.release
// S3: %[[U:.*]] = dist.adamw_update @bucket2
// S3-NEXT: %[[C:.*]] = var.cast %[[U]] : tensor<?xf32> to tensor<?xbf16>
// S3-NEXT: dist.store_params @bucket2, %[[C]] : tensor<?xbf16>

// Without prefetch, the second layer's bucket is gathered right before it.
// S3P0: dist.all_gather
// S3P0: dist.all_gather
// S3P0-NEXT: dist.unpack @bucket1
// S3P0-NEXT: var.linear
// S3P0: dist.load_params @bucket2
// S3P0-NEXT: dist.all_gather
// S3P0-NEXT: dist.unpack @bucket2
// S3P0-NEXT: var.linear

// Optimizer offload: the gradient shard goes to the host, the update runs
// there, and the new bf16 shard comes back before the all-gather.
// OFF2: %[[RS:.*]] = dist.reduce_scatter
// OFF2-NEXT: dist.release
// OFF2-NEXT: %[[H:.*]] = dist.to_host %[[RS]] : tensor<?xbf16>
// OFF2-NEXT: %[[M:.*]] = dist.adamw_update @bucket0, %[[H]] {{.*}} on_host : tensor<?xbf16> -> tensor<?xf32>
// OFF2-NEXT: %[[C:.*]] = var.cast %[[M]]
// OFF2-NEXT: %[[D:.*]] = dist.to_device %[[C]] : tensor<?xbf16>
// OFF2-NEXT: %[[AG:.*]] = dist.all_gather %[[D]]
// OFF2-NEXT: dist.store_params @bucket0, %[[AG]]

// Parameter offload too: shards live on the host, so each gather starts
// with a copy to the device and the updated shard stays on the host.
// OFF3: dist.offload_optimizer = true, dist.offload_params = true
// OFF3: %[[S:.*]] = dist.load_params @bucket0 : tensor<?xbf16>
// OFF3-NEXT: %[[D:.*]] = dist.to_device %[[S]] : tensor<?xbf16>
// OFF3-NEXT: dist.all_gather %[[D]]
// OFF3: dist.adamw_update @bucket0, %{{.*}} on_host
// OFF3-NEXT: %[[C:.*]] = var.cast
// OFF3-NEXT: dist.store_params @bucket0, %[[C]] : tensor<?xbf16>

// FP32 and plain SGD: no cast, no state.
// FP32: dist.bucket @bucket0 params [@fc1.weight, @fc1.bias, @fc2.weight] offsets [0, 128, 192] numel 256 : f32
// FP32: %[[M:.*]] = dist.sgd_update @bucket0, %{{.*}} momentum 0.000000e+00 dampening 0.000000e+00 weight_decay 1.000000e-02 : tensor<?xf32> -> tensor<?xf32>
// FP32-NEXT: %[[AG:.*]] = dist.all_gather %[[M]] : tensor<?xf32> -> tensor<256xf32>
// FP32-NEXT: dist.store_params @bucket0, %[[AG]]
