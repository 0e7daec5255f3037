// Options of --var-specialize-batch: `entry` picks the function, `batch`
// defaults to 1 and must be at least 1, `entry` defaults to forward.
//
// RUN: var-opt %s --var-specialize-batch="batch=2 entry=encoder" | FileCheck %s --check-prefix=ENTRY
// RUN: var-opt %s --var-specialize-batch=entry=encoder | FileCheck %s --check-prefix=DEFAULT
// RUN: var-opt %s --var-specialize-batch="batch=3" | FileCheck %s --check-prefix=FORWARD
// RUN: not var-opt %s --var-specialize-batch="batch=0 entry=encoder" 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not var-opt %s --var-specialize-batch="batch=-2 entry=encoder" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// RUN: not var-opt %s --var-specialize-batch="batch=2 entry=decoder" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not var-opt %s --var-specialize-batch="batch=2 entry=fc.weight" 2>&1 | FileCheck %s --check-prefix=NOT-FUNC

// Only the entry function is specialized.
// ENTRY-LABEL: func.func @encoder
// ENTRY-SAME: (%{{.*}}: tensor<2x4x16xf32>) -> tensor<2x4x8xf32>
// ENTRY: var.linear %{{.*}}, %{{.*}} : tensor<2x4x16xf32>, tensor<8x16xf32>
// ENTRY-LABEL: func.func @forward
// ENTRY-SAME: (%{{.*}}: tensor<?x16xf32>) -> tensor<?x8xf32>
// ENTRY: var.linear %{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<8x16xf32>

// DEFAULT-LABEL: func.func @encoder
// DEFAULT-SAME: (%{{.*}}: tensor<1x4x16xf32>) -> tensor<1x4x8xf32>
// DEFAULT-LABEL: func.func @forward
// DEFAULT-SAME: (%{{.*}}: tensor<?x16xf32>) -> tensor<?x8xf32>

// FORWARD-LABEL: func.func @encoder
// FORWARD-SAME: (%{{.*}}: tensor<?x4x16xf32>) -> tensor<?x4x8xf32>
// FORWARD-LABEL: func.func @forward
// FORWARD-SAME: (%{{.*}}: tensor<3x16xf32>) -> tensor<3x8xf32>
// FORWARD: var.linear %{{.*}}, %{{.*}} : tensor<3x16xf32>, tensor<8x16xf32>

// ZERO: error: batch size must be at least 1, got 0
// NEGATIVE: error: batch size must be at least 1, got -2
// MISSING: error: no function @decoder to specialize
// NOT-FUNC: error: no function @fc.weight to specialize

var.param @fc.weight : tensor<8x16xf32> init kaiming_uniform

func.func @encoder(%x: tensor<?x4x16xf32>) -> tensor<?x4x8xf32> {
  %w = var.get_param @fc.weight : tensor<8x16xf32>
  %0 = var.linear %x, %w : tensor<?x4x16xf32>, tensor<8x16xf32>
  return %0 : tensor<?x4x8xf32>
}

func.func @forward(%x: tensor<?x16xf32>) -> tensor<?x8xf32> {
  %w = var.get_param @fc.weight : tensor<8x16xf32>
  %0 = var.linear %x, %w : tensor<?x16xf32>, tensor<8x16xf32>
  return %0 : tensor<?x8xf32>
}
