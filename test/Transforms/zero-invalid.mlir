// Bad --var-zero options and steps it cannot partition.
//
// RUN: var-opt %s -split-input-file -verify-diagnostics --var-autodiff --var-optimizer --var-zero="stage=4"
// RUN: not var-opt %s -split-input-file --var-autodiff --var-optimizer --var-zero="stage=2 offload-params=true" 2>&1 | FileCheck %s --check-prefix=PARAMS
// RUN: not var-opt %s -split-input-file --var-autodiff --var-optimizer --var-zero="offload-optimizer=true" 2>&1 | FileCheck %s --check-prefix=OPTIM
// RUN: not var-opt %s -split-input-file --var-autodiff --var-optimizer --var-zero="bucket-mb=0" 2>&1 | FileCheck %s --check-prefix=BUCKET
// RUN: not var-opt %s -split-input-file --var-autodiff --var-optimizer --var-zero="prefetch-buckets=-1" 2>&1 | FileCheck %s --check-prefix=PREFETCH
// RUN: not var-opt %s -split-input-file --var-autodiff --var-optimizer --var-zero="grad-accum=0" 2>&1 | FileCheck %s --check-prefix=ACCUM
// RUN: not var-opt %s -split-input-file --var-autodiff --var-optimizer --var-zero="clip-grad-norm=-1" 2>&1 | FileCheck %s --check-prefix=CLIP
// RUN: not var-opt %s -split-input-file --var-autodiff --var-zero 2>&1 | FileCheck %s --check-prefix=NOOPT
// RUN: not var-opt %s -split-input-file --var-zero 2>&1 | FileCheck %s --check-prefix=NOSTEP
// RUN: not var-opt %s -split-input-file --var-autodiff --var-optimizer --var-zero --var-zero 2>&1 | FileCheck %s --check-prefix=TWICE

// PARAMS: error: parameter offload needs ZeRO stage 3 (only stage 3 shards parameters), got stage 2
// OPTIM: error: optimizer offload needs ZeRO stage 1, 2 or 3 (stage 0 keeps no optimizer shard to offload)
// BUCKET: error: bucket size must be a positive number of MiB (at most 1e9), got 0
// PREFETCH: error: prefetch-buckets must be 0 or more, got -1
// ACCUM: error: grad-accum must be at least 1, got 0
// CLIP: error: clip-grad-norm must be 0 (off) or positive, got -1
// NOOPT: error: the training step has no optimizer updates; run --var-optimizer before --var-zero
// NOSTEP: error: no training step @train_step to partition; run --var-autodiff and --var-optimizer first
// TWICE: error: the module is already partitioned (it has dist.bucket ops)

// expected-error @+1 {{ZeRO stage must be 0, 1, 2 or 3, got 4}}
module {
  var.param @fc.weight : tensor<3x8xf32> init xavier_uniform
  func.func @forward(%x: tensor<4x8xf32>) -> tensor<4x3xf32> {
    %w = var.get_param @fc.weight : tensor<3x8xf32>
    %y = var.linear %x, %w : tensor<4x8xf32>, tensor<3x8xf32>
    return %y : tensor<4x3xf32>
  }
}
