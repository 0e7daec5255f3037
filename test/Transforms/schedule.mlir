// --var-schedule: streams for every op and events at every cross-stream
// dependency, so that gathers, reductions and copies overlap compute.
//
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero="stage=3 bucket-mb=0.0001 offload-optimizer=true" --var-schedule | FileCheck %s --check-prefix=S3
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero="stage=0" --var-schedule | FileCheck %s --check-prefix=S0
// RUN: var-opt %s --var-mixed-precision --var-autodiff --var-optimizer --var-zero="stage=3" --var-schedule | var-opt | FileCheck %s --check-prefix=ROUND

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

// Gathers run on the comm stream; compute waits for each before using it.
// S3-LABEL: func.func @train_step(
// S3: dist.load_params @bucket0 {dist.stream = "comm"}
// S3-NEXT: %[[F0:.*]] = dist.all_gather %{{.*}} {dist.stream = "comm"}
// S3-NEXT: dist.record_event [[G0:[0-9]+]] on "comm"
// S3-NEXT: dist.wait_event "compute" waits [[G0]]
// S3-NEXT: dist.unpack @bucket0, @fc1.weight from %[[F0]] {dist.stream = "compute"}
// The second gather is issued before the first layer runs (prefetch), and
// nothing on compute waits for it until its bucket is used.
// S3: dist.load_params @bucket2 {dist.stream = "comm"}
// S3-NEXT: dist.all_gather
// S3-NEXT: dist.record_event [[G2:[0-9]+]] on "comm"
// S3-NEXT: dist.wait_event "compute" waits [[G2]]
// S3-NEXT: dist.unpack @bucket2
// A gathered bucket is freed on the stream of its last user; the event it
// records is what the next use of that memory waits for.
// S3: var.linear {{.*}}{dist.stream = "compute"}
// S3-NEXT: dist.release %{{.*}} {dist.stream = "compute"}
// S3-NEXT: dist.record_event {{[0-9]+}} on "compute"
// Gradient buckets: the reduce-scatter waits for the pack, and the staging
// buffer is freed on comm without blocking compute.
// S3: dist.pack @bucket2(%{{.*}}) {dist.stream = "compute"}
// S3-NEXT: dist.record_event [[P2:[0-9]+]] on "compute"
// S3-NEXT: dist.wait_event "comm" waits [[P2]]
// S3-NEXT: %[[RS:.*]] = dist.reduce_scatter %{{.*}} {dist.stream = "comm"}
// S3-NEXT: dist.record_event [[R2:[0-9]+]] on "comm"
// S3-NEXT: dist.release %{{.*}} {dist.stream = "comm"}
// S3-NEXT: dist.record_event {{[0-9]+}} on "comm"
// S3-NEXT: var.relu_grad {{.*}}{dist.stream = "compute"}
// Offloaded update: copy to host, update and cast on the host, copy back.
// S3: dist.wait_event "copy" waits [[R2]]
// S3-NEXT: dist.to_host %[[RS]] {dist.stream = "copy"}
// S3-NEXT: dist.record_event [[H:[0-9]+]] on "copy"
// S3-NEXT: dist.wait_event "host" waits [[H]]
// S3-NEXT: dist.adamw_update @bucket2, {{.*}}on_host {dist.stream = "host"}
// S3-NEXT: var.cast {{.*}}{dist.stream = "host"}
// S3-NEXT: dist.record_event [[U:[0-9]+]] on "host"
// S3-NEXT: dist.wait_event "copy" waits [[U]]
// S3-NEXT: dist.to_device {{.*}}{dist.stream = "copy"}
// The new shard is stored only after every reader of the bucket is done.
// S3-NEXT: dist.wait_event "copy" waits {{[0-9]+}}
// S3-NEXT: dist.store_params @bucket2, {{.*}}{dist.stream = "copy"}
// S3: return {dist.stream = "compute"}

// Stage 0: the all-reduce on comm, the update back on compute after it, and
// the store waits for the backward's reads of the parameters.
// S0: dist.pack @bucket0
// S0-NEXT: dist.record_event [[P:[0-9]+]] on "compute"
// S0-NEXT: dist.wait_event "comm" waits [[P]]
// S0-NEXT: dist.all_reduce {{.*}}{dist.stream = "comm"}
// S0-NEXT: dist.record_event [[A:[0-9]+]] on "comm"
// S0-NEXT: dist.wait_event "compute" waits [[A]]
// S0-NEXT: dist.adamw_update @bucket0, {{.*}}{dist.stream = "compute"}
// S0-NEXT: var.cast {{.*}}{dist.stream = "compute"}
// S0-NEXT: dist.store_params @bucket0, {{.*}}{dist.stream = "compute"}

// ROUND: dist.record_event {{[0-9]+}} on "comm"
// ROUND: dist.wait_event "compute" waits {{[0-9]+}}
