// Errors of --var-pad-channels: a multiple below 1, a missing entry.
// RUN: var-opt %s -split-input-file -verify-diagnostics --var-pad-channels=multiple=0
// RUN: not var-opt %s --var-pad-channels=entry=encoder 2>&1 | FileCheck %s --check-prefix=MISSING

// MISSING: error: no function @encoder to pad channels of

// expected-error@+1 {{pad channels to a multiple of at least 1, not 0}}
module {
  func.func @forward(%x: tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> {
    return %x : tensor<1x4x4x8xf32>
  }
}
