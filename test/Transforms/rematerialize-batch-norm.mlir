// --var-rematerialize's batch-norms: which training batch norm results get a
// var.batch_norm_apply at their late reads.
// RUN: var-opt %s --var-rematerialize="batch-norms=1" | FileCheck %s
// RUN: var-opt %s --var-rematerialize="batch-norms=2" | FileCheck %s --check-prefix=TWO
// RUN: var-opt %s --var-rematerialize | FileCheck %s --check-prefix=NONE

// Two conv -> batch norm -> relu -> conv stages, the second smaller: each
// result is read by the next convolution, then, after a long stretch, by
// that convolution's weight gradient, and the batch norm backward reads
// input, weight, bias and statistics later still. With batch-norms=1 only
// the larger result is recomputed, right before its weight gradient.
// CHECK-LABEL: func.func @largest(
// CHECK-SAME: %[[X1:[^:]*]]: tensor<2x8x8x8xf32>, %[[X2:[^:]*]]: tensor<2x8x4x4xf32>, %[[P:[^:]*]]: tensor<8xf32>
// CHECK: %[[A:[^,]*]], %[[AM:[^,]*]], %[[AI:[^,]*]], {{.*}} = var.batch_norm_train %[[X1]]
// CHECK: %[[B:[^,]*]], {{.*}} = var.batch_norm_train %[[X2]]
// CHECK-NOT: var.batch_norm_apply
// CHECK: var.conv_grad_weight %[[B]],
// CHECK-NOT: var.batch_norm_apply
// CHECK: var.batch_norm_grad %[[X2]]
// CHECK-NEXT: %[[R:.*]] = var.batch_norm_apply %[[X1]], %[[P]], %[[P]], %[[AM]], %[[AI]] activation "relu" : tensor<2x8x8x8xf32>, tensor<8xf32>{{$}}
// CHECK-NEXT: var.conv_grad_weight %[[R]], %{{.*}}
// CHECK-NEXT: var.batch_norm_grad %[[X1]]
// With batch-norms=2 both are, each before its own late read.
// TWO-LABEL: func.func @largest(
// TWO: var.batch_norm_train
// TWO: %[[B:[^,]*]], %[[BM:[^,]*]], %[[BI:[^,]*]], {{.*}} = var.batch_norm_train
// TWO: %[[S:.*]] = var.batch_norm_apply %{{.*}}, %[[BM]], %[[BI]] activation "relu"
// TWO-NEXT: var.conv_grad_weight %[[S]]
// TWO: %[[R:.*]] = var.batch_norm_apply
// TWO-NEXT: var.conv_grad_weight %[[R]]
// Without the option none is.
// NONE-LABEL: func.func @largest(
// NONE-NOT: var.batch_norm_apply
// NONE-LABEL: func.func @same_size(
func.func @largest(%x1: tensor<2x8x8x8xf32>, %x2: tensor<2x8x4x4xf32>,
                   %p: tensor<8xf32>, %k: tensor<8x8x1x1xf32>,
                   %g1: tensor<2x8x8x8xf32>)
    -> (tensor<2x8x8x8xf32>, tensor<8x8x1x1xf32>, tensor<2x8x4x4xf32>,
        tensor<8x8x1x1xf32>, tensor<2x8x8x8xf32>) {
  %a:5 = var.batch_norm_train %x1, %p, %p, %p, %p activation "relu" : tensor<2x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %y1 = var.conv %a#0, %k : tensor<2x8x8x8xf32>, tensor<8x8x1x1xf32>
  %b:5 = var.batch_norm_train %x2, %p, %p, %p, %p activation "relu" : tensor<2x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %y2 = var.conv %b#0, %k : tensor<2x8x4x4xf32>, tensor<8x8x1x1xf32>
  %0 = var.relu %y2 : tensor<2x8x4x4xf32>
  %1 = var.relu %0 : tensor<2x8x4x4xf32>
  %2 = var.relu %1 : tensor<2x8x4x4xf32>
  %gw2 = var.conv_grad_weight %b#0, %2 : tensor<2x8x4x4xf32>, tensor<2x8x4x4xf32> -> tensor<8x8x1x1xf32>
  %gb:3 = var.batch_norm_grad %x2, %2, %p, %b#1, %b#2 activation "relu"(%p) : tensor<2x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>
  %gw1 = var.conv_grad_weight %a#0, %g1 : tensor<2x8x8x8xf32>, tensor<2x8x8x8xf32> -> tensor<8x8x1x1xf32>
  %ga:3 = var.batch_norm_grad %x1, %g1, %p, %a#1, %a#2 activation "relu"(%p) : tensor<2x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>
  return %y1, %gw2, %gb#0, %gw1, %ga#0 : tensor<2x8x8x8xf32>, tensor<8x8x1x1xf32>, tensor<2x8x4x4xf32>, tensor<8x8x1x1xf32>, tensor<2x8x8x8xf32>
}

// Results of the same size go in program order: the first is recomputed,
// here one without an activation, in channels-last layout.
// CHECK-LABEL: func.func @same_size(
// CHECK: %[[A:[^,]*]], %[[AM:[^,]*]], %[[AI:[^,]*]], {{.*}} = var.batch_norm_train %[[X1:[^,]*]],
// CHECK: %[[R:.*]] = var.batch_norm_apply %[[X1]], %{{.*}}, %{{.*}}, %[[AM]], %[[AI]] channels_last : tensor<2x4x4x8xf32>, tensor<8xf32>{{$}}
// CHECK-NEXT: var.conv_grad_weight %[[R]]
// CHECK-NOT: var.batch_norm_apply
func.func @same_size(%x1: tensor<2x4x4x8xf32>, %x2: tensor<2x4x4x8xf32>,
                     %p: tensor<8xf32>, %k: tensor<8x8x1x1xf32>,
                     %g: tensor<2x4x4x8xf32>)
    -> (tensor<2x4x4x8xf32>, tensor<2x4x4x8xf32>, tensor<8x8x1x1xf32>,
        tensor<2x4x4x8xf32>, tensor<8x8x1x1xf32>, tensor<2x4x4x8xf32>) {
  %a:5 = var.batch_norm_train %x1, %p, %p, %p, %p channels_last : tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %y1 = var.conv %a#0, %k channels_last : tensor<2x4x4x8xf32>, tensor<8x8x1x1xf32>
  %b:5 = var.batch_norm_train %x2, %p, %p, %p, %p channels_last : tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %y2 = var.conv %b#0, %k channels_last : tensor<2x4x4x8xf32>, tensor<8x8x1x1xf32>
  %0 = var.relu %g : tensor<2x4x4x8xf32>
  %1 = var.relu %0 : tensor<2x4x4x8xf32>
  %2 = var.relu %1 : tensor<2x4x4x8xf32>
  %gw1 = var.conv_grad_weight %a#0, %2 channels_last : tensor<2x4x4x8xf32>, tensor<2x4x4x8xf32> -> tensor<8x8x1x1xf32>
  %ga:3 = var.batch_norm_grad %x1, %2, %p, %a#1, %a#2 channels_last : tensor<2x4x4x8xf32>, tensor<8xf32>
  %gw2 = var.conv_grad_weight %b#0, %2 channels_last : tensor<2x4x4x8xf32>, tensor<2x4x4x8xf32> -> tensor<8x8x1x1xf32>
  %gb:3 = var.batch_norm_grad %x2, %2, %p, %b#1, %b#2 channels_last : tensor<2x4x4x8xf32>, tensor<8xf32>
  return %y1, %y2, %gw1, %ga#0, %gw2, %gb#0 : tensor<2x4x4x8xf32>, tensor<2x4x4x8xf32>, tensor<8x8x1x1xf32>, tensor<2x4x4x8xf32>, tensor<8x8x1x1xf32>, tensor<2x4x4x8xf32>
}

// A result that only the forward reads (the backward masks with the bias)
// has no late reads to recompute for.
// CHECK-LABEL: func.func @forward_only(
// CHECK-NOT: var.batch_norm_apply
func.func @forward_only(%x: tensor<2x8x4x4xf32>, %p: tensor<8xf32>,
                        %k: tensor<8x8x1x1xf32>)
    -> (tensor<2x8x4x4xf32>, tensor<2x8x4x4xf32>) {
  %a:5 = var.batch_norm_train %x, %p, %p, %p, %p activation "relu" : tensor<2x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %y = var.conv %a#0, %k : tensor<2x8x4x4xf32>, tensor<8x8x1x1xf32>
  %0 = var.relu %y : tensor<2x8x4x4xf32>
  %1 = var.relu %0 : tensor<2x8x4x4xf32>
  %ga:3 = var.batch_norm_grad %x, %1, %p, %a#1, %a#2 activation "relu"(%p) : tensor<2x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>
  return %y, %ga#0 : tensor<2x8x4x4xf32>, tensor<2x8x4x4xf32>
}

// The batch norm's input is not read at or after the late read (no batch
// norm backward follows): a copy would keep it alive instead, so the result
// is kept.
// CHECK-LABEL: func.func @input_dies(
// CHECK-NOT: var.batch_norm_apply
// CHECK: return
func.func @input_dies(%x: tensor<2x8x4x4xf32>, %p: tensor<8xf32>,
                      %k: tensor<8x8x1x1xf32>)
    -> (tensor<2x8x4x4xf32>, tensor<8x8x1x1xf32>, tensor<8xf32>) {
  %a:5 = var.batch_norm_train %x, %p, %p, %p, %p activation "relu" : tensor<2x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %y = var.conv %a#0, %k : tensor<2x8x4x4xf32>, tensor<8x8x1x1xf32>
  %0 = var.relu %y : tensor<2x8x4x4xf32>
  %1 = var.relu %0 : tensor<2x8x4x4xf32>
  %2 = var.relu %1 : tensor<2x8x4x4xf32>
  %gw = var.conv_grad_weight %a#0, %2 : tensor<2x8x4x4xf32>, tensor<2x8x4x4xf32> -> tensor<8x8x1x1xf32>
  %s = var.add %a#1, %a#2 : tensor<8xf32>, tensor<8xf32>
  %t = var.add %s, %p : tensor<8xf32>, tensor<8xf32>
  return %y, %gw, %t : tensor<2x8x4x4xf32>, tensor<8x8x1x1xf32>, tensor<8xf32>
}
