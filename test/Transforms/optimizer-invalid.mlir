// What --var-optimizer refuses.
// RUN: not var-opt %s --var-optimizer 2>&1 | FileCheck %s --check-prefix=NOSTEP
// RUN: not var-opt %s --var-autodiff --var-optimizer="optimizer=lamb" 2>&1 | FileCheck %s --check-prefix=KIND
// RUN: not var-opt %s --var-autodiff --var-optimizer="beta1=1.0" 2>&1 | FileCheck %s --check-prefix=BETA
// RUN: not var-opt %s --var-autodiff --var-optimizer="eps=0" 2>&1 | FileCheck %s --check-prefix=EPS
// RUN: not var-opt %s --var-autodiff --var-optimizer="weight-decay=-1" 2>&1 | FileCheck %s --check-prefix=WD
// RUN: not var-opt %s --var-autodiff --var-optimizer="optimizer=sgd momentum=1.5" 2>&1 | FileCheck %s --check-prefix=MOMENTUM
// RUN: not var-opt %s --var-autodiff --var-optimizer="optimizer=sgd momentum=0 nesterov=true" 2>&1 | FileCheck %s --check-prefix=NESTEROV
// RUN: not var-opt %s --var-autodiff --var-optimizer --var-optimizer 2>&1 | FileCheck %s --check-prefix=TWICE

// NOSTEP: error: no training step @train_step; run --var-autodiff first
// KIND: error: unknown optimizer 'lamb' (expected adamw or sgd)
// BETA: error: AdamW betas must be in [0, 1), got (1.000000e+00, 9.990000e-01)
// EPS: error: AdamW eps must be positive, got 0.000000e+00
// WD: error: weight decay must be in [0, 1], got -1.000000e+00
// MOMENTUM: error: SGD momentum and dampening must be in [0, 1], got 1.500000e+00 and 0.000000e+00
// NESTEROV: error: Nesterov momentum needs momentum > 0 and dampening 0
// TWICE: error: already has optimizer updates
module {
  var.param @w : tensor<3x3xf32> init zeros
  func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    %w = var.get_param @w : tensor<3x3xf32>
    %y = var.linear %x, %w : tensor<2x3xf32>, tensor<3x3xf32>
    return %y : tensor<2x3xf32>
  }
}
