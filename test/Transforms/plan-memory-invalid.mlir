// --var-plan-memory needs static shapes.
//
// RUN: var-opt %s --var-plan-memory -verify-diagnostics

// expected-error @+1 {{value of type 'tensor<?x4xf32>' has no static size; specialize the batch first}}
func.func @dynamic(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  return %x : tensor<?x4xf32>
}
