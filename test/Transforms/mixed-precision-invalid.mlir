// What --var-mixed-precision refuses, each with a diagnostic that says why.
// RUN: var-opt %s -split-input-file --var-mixed-precision -verify-diagnostics
// RUN: not var-opt %s -split-input-file --var-mixed-precision="precision=fp8" 2>&1 | FileCheck %s --check-prefix=PRECISION
// RUN: not var-opt %s -split-input-file --var-mixed-precision="precision=bf16 entry=missing" 2>&1 | FileCheck %s --check-prefix=ENTRY
// RUN: not var-opt %s -split-input-file --var-mixed-precision="precision=fp32 entry=missing" 2>&1 | FileCheck %s --check-prefix=ENTRY
// RUN: not var-opt %s -split-input-file --var-mixed-precision --var-mixed-precision 2>&1 | FileCheck %s --check-prefix=TWICE

// PRECISION: error: unknown precision 'fp8' (expected bf16 or fp32)
// ENTRY: error: no function @missing to set the precision of
// TWICE: error: @forward already computes in bf16 (a result of 'var.cast' is 'tensor<2x3xbf16>'); --var-mixed-precision applies once, to an fp32 forward

// expected-error @below {{no function @forward to set the precision of}}
module {
  func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    return %x : tensor<2x3xf32>
  }
}

// -----

module {
  // expected-error @below {{cannot change the precision of a function without a body}}
  func.func private @forward(tensor<2x3xf32>) -> tensor<2x3xf32>
}

// -----

// A bf16 argument: the pass ran already, or the model was written in bf16.
module {
  // expected-error @below {{@forward already computes in bf16 (argument #0 is 'tensor<2x3xbf16>'); --var-mixed-precision applies once, to an fp32 forward}}
  func.func @forward(%x: tensor<2x3xbf16>) -> tensor<2x3xbf16> {
    %y = var.relu %x : tensor<2x3xbf16>
    return %y : tensor<2x3xbf16>
  }
}

// -----

module {
  var.param @fc.weight : tensor<4x3xf32> init xavier_uniform
  // expected-error @below {{@forward already computes in bf16 (a result of 'var.get_param' is 'tensor<4x3xbf16>'); --var-mixed-precision applies once, to an fp32 forward}}
  func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x4xf32> {
    // expected-note @below {{computed here}}
    %w = var.get_param @fc.weight : tensor<4x3xbf16>
    %xb = var.cast %x : tensor<2x3xf32> to tensor<2x3xbf16>
    %y = var.linear %xb, %w : tensor<2x3xbf16>, tensor<4x3xbf16>
    %yf = var.cast %y : tensor<2x4xbf16> to tensor<2x4xf32>
    return %yf : tensor<2x4xf32>
  }
}

// -----

// An op that cannot re-infer its types cannot be retyped.
module {
  func.func @helper(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    return %x : tensor<2x3xf32>
  }
  func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    // expected-error @below {{'func.call' op does not infer its result types, so mixed precision cannot retype it}}
    %y = func.call @helper(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    return %y : tensor<2x3xf32>
  }
}

// -----

// An explicit f32 value (a round trip through f16) next to bf16
// activations: the op reports why, and the pass says what it was doing.
module {
  func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    %h = var.cast %x : tensor<2x3xf32> to tensor<2x3xf16>
    %g = var.cast %h : tensor<2x3xf16> to tensor<2x3xf32>
    // expected-error @+2 {{'var.add' op operands have different element types 'bf16' and 'f32'}}
    // expected-error @+1 {{'var.add' op has no valid type when the forward computes in bf16}}
    %y = var.add %x, %g : tensor<2x3xf32>, tensor<2x3xf32>
    return %y : tensor<2x3xf32>
  }
}

// -----

// A valid forward: the first application succeeds, the second (TWICE) finds
// the cast of the input.
module {
  func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    %y = var.relu %x : tensor<2x3xf32>
    return %y : tensor<2x3xf32>
  }
}
