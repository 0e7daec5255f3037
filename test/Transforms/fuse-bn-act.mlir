// --var-fuse-bn-act: which ReLU, ReLU6 and SiLU fold into the batch norm before
// them, and which of their gradients into the batch norm backward.
// RUN: var-opt %s --var-fuse-bn-act | FileCheck %s

// The training forward: the ReLU6's users read the batch norm.
// CHECK-LABEL: func.func @train_forward(
// CHECK-NEXT: %[[BN:[^,]*]], {{.*}} = var.batch_norm_train %{{.*}} channels_last activation "relu6" :
// CHECK-NEXT: %[[C:.*]] = var.conv %[[BN]],
// CHECK-NEXT: return %[[C]]
func.func @train_forward(%x: tensor<2x4x4x3xf32>, %p: tensor<3xf32>,
                         %w: tensor<3x3x1x1xf32>) -> tensor<2x4x4x3xf32> {
  %0:5 = var.batch_norm_train %x, %p, %p, %p, %p channels_last
    : tensor<2x4x4x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %1 = var.relu6 %0#0 : tensor<2x4x4x3xf32>
  %2 = var.conv %1, %w channels_last : tensor<2x4x4x3xf32>, tensor<3x3x1x1xf32>
  return %2 : tensor<2x4x4x3xf32>
}

// The evaluation form fuses as well.
// CHECK-LABEL: func.func @eval_forward(
// CHECK-NEXT: %[[BN:.*]] = var.batch_norm %{{.*}} activation "relu" :
// CHECK-NEXT: return %[[BN]]
func.func @eval_forward(%x: tensor<2x3xbf16>, %p: tensor<3xf32>) -> tensor<2x3xbf16> {
  %0 = var.batch_norm %x, %p, %p, %p, %p
    : tensor<2x3xbf16>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %1 = var.relu %0 : tensor<2x3xbf16>
  return %1 : tensor<2x3xbf16>
}

// A normalized result with another user keeps its activation apart.
// CHECK-LABEL: func.func @shared_result(
// CHECK-NEXT: var.batch_norm %{{.*}} :
// CHECK-NEXT: var.relu
// CHECK-NEXT: var.add
func.func @shared_result(%x: tensor<2x3xf32>, %p: tensor<3xf32>) -> tensor<2x3xf32> {
  %0 = var.batch_norm %x, %p, %p, %p, %p
    : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %1 = var.relu %0 : tensor<2x3xf32>
  %2 = var.add %0, %1 : tensor<2x3xf32>, tensor<2x3xf32>
  return %2 : tensor<2x3xf32>
}

// Other activations stay where they are.
// CHECK-LABEL: func.func @other_activation(
// CHECK-NEXT: var.batch_norm %{{.*}} :
// CHECK-NEXT: var.sigmoid
func.func @other_activation(%x: tensor<2x3xf32>, %p: tensor<3xf32>) -> tensor<2x3xf32> {
  %0 = var.batch_norm %x, %p, %p, %p, %p
    : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %1 = var.sigmoid %0 : tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}

// The backward: the activation gradient's operands move into the batch norm
// backward, its value (the activation's output) as the activation value.
// CHECK-LABEL: func.func @backward(
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x3xf32>, %[[Z:[^:]*]]: tensor<2x3xf32>, %[[DZ:[^:]*]]: tensor<2x3xf32>
// CHECK-NEXT: %[[G0:[^,]*]], %[[G1:[^,]*]], %[[G2:[^ ]*]] = var.batch_norm_grad %[[X]], %[[DZ]], %{{.*}}, %{{.*}}, %{{.*}} activation "relu6"(%[[Z]]) :
// CHECK-NEXT: return %[[G0]], %[[G1]], %[[G2]]
func.func @backward(%x: tensor<2x3xf32>, %z: tensor<2x3xf32>, %dz: tensor<2x3xf32>,
                    %p: tensor<3xf32>) -> (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>) {
  %0 = var.relu6_grad %z, %dz : tensor<2x3xf32>
  %1:3 = var.batch_norm_grad %x, %0, %p, %p, %p : tensor<2x3xf32>, tensor<3xf32>
  return %1#0, %1#1, %1#2 : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>
}

// channels_last stays on the fused backward.
// CHECK-LABEL: func.func @backward_channels_last(
// CHECK-NEXT: var.batch_norm_grad %{{.*}} channels_last activation "relu"(%{{.*}}) :
func.func @backward_channels_last(%x: tensor<2x2x2x3xbf16>, %z: tensor<2x2x2x3xbf16>,
                                  %dz: tensor<2x2x2x3xbf16>, %p: tensor<3xf32>) -> tensor<2x2x2x3xbf16> {
  %0 = var.relu_grad %z, %dz : tensor<2x2x2x3xbf16>
  %1:3 = var.batch_norm_grad %x, %0, %p, %p, %p channels_last : tensor<2x2x2x3xbf16>, tensor<3xf32>
  return %1#0 : tensor<2x2x2x3xbf16>
}

// An activation gradient with another user is computed on its own.
// CHECK-LABEL: func.func @shared_grad(
// CHECK-NEXT: var.relu_grad
// CHECK-NEXT: var.batch_norm_grad %{{.*}} : tensor<2x3xf32>, tensor<3xf32>{{$}}
func.func @shared_grad(%x: tensor<2x3xf32>, %z: tensor<2x3xf32>, %dz: tensor<2x3xf32>,
                       %p: tensor<3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %0 = var.relu_grad %z, %dz : tensor<2x3xf32>
  %1:3 = var.batch_norm_grad %x, %0, %p, %p, %p : tensor<2x3xf32>, tensor<3xf32>
  return %0, %1#0 : tensor<2x3xf32>, tensor<2x3xf32>
}

// Both rewrites in one step: the backward of the fused forward recomputes
// the normalized value from the forward's bias and masks with it, so that
// it does not read the forward's result.
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x3xf32>, %[[DZ:[^:]*]]: tensor<2x3xf32>, %[[W:[^:]*]]: tensor<3xf32>, %[[B:[^:]*]]: tensor<3xf32>
// CHECK-NEXT: %[[Y:[^,]*]], %[[M:[^,]*]], %[[S:[^,]*]], {{.*}} = var.batch_norm_train %[[X]], %[[W]], %[[B]], {{.*}} activation "relu" :
// CHECK-NEXT: %[[G:[^,]*]], {{.*}} = var.batch_norm_grad %[[X]], %[[DZ]], %[[W]], %[[M]], %[[S]] activation "relu"(%[[B]]) : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>
// CHECK-NEXT: return %[[Y]], %[[G]]
func.func @step(%x: tensor<2x3xf32>, %dz: tensor<2x3xf32>, %w: tensor<3xf32>,
                %b: tensor<3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %0:5 = var.batch_norm_train %x, %w, %b, %w, %w
    : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %1 = var.relu %0#0 : tensor<2x3xf32>
  %2 = var.relu_grad %1, %dz : tensor<2x3xf32>
  %3:3 = var.batch_norm_grad %x, %2, %w, %0#1, %0#2 : tensor<2x3xf32>, tensor<3xf32>
  return %1, %3#0 : tensor<2x3xf32>, tensor<2x3xf32>
}

// A backward with other statistics than the forward's cannot recompute: it
// masks with the activation's output.
// CHECK-LABEL: func.func @step_other_statistics(
// CHECK-NEXT: %[[Y:[^,]*]], {{.*}} = var.batch_norm_train %{{.*}} activation "relu6" :
// CHECK-NEXT: var.batch_norm_grad %{{.*}} activation "relu6"(%[[Y]]) : tensor<2x3xf32>, tensor<3xf32>, tensor<2x3xf32>
func.func @step_other_statistics(%x: tensor<2x3xf32>, %dz: tensor<2x3xf32>,
                                 %p: tensor<3xf32>) -> tensor<2x3xf32> {
  %0:5 = var.batch_norm_train %x, %p, %p, %p, %p
    : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %1 = var.relu6 %0#0 : tensor<2x3xf32>
  %2 = var.relu6_grad %1, %dz : tensor<2x3xf32>
  %3:3 = var.batch_norm_grad %x, %2, %p, %p, %p : tensor<2x3xf32>, tensor<3xf32>
  return %3#0 : tensor<2x3xf32>
}

// SiLU: its gradient reads the normalized value, which the fused forward no
// longer stores, so forward and backward fold together: the backward reads
// the SiLU's output gradient and the forward's bias.
// CHECK-LABEL: func.func @silu_step(
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x3xf32>, %[[DA:[^:]*]]: tensor<2x3xf32>, %[[W:[^:]*]]: tensor<3xf32>, %[[B:[^:]*]]: tensor<3xf32>
// CHECK-NEXT: %[[Y:[^,]*]], %[[M:[^,]*]], %[[S:[^,]*]], {{.*}} = var.batch_norm_train %[[X]], %[[W]], %[[B]], {{.*}} activation "silu" :
// CHECK-NEXT: %[[G:[^,]*]], {{.*}} = var.batch_norm_grad %[[X]], %[[DA]], %[[W]], %[[M]], %[[S]] activation "silu"(%[[B]]) : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>
// CHECK-NEXT: return %[[Y]], %[[G]]
func.func @silu_step(%x: tensor<2x3xf32>, %da: tensor<2x3xf32>, %w: tensor<3xf32>,
                     %b: tensor<3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %0:5 = var.batch_norm_train %x, %w, %b, %w, %w
    : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %1 = var.silu %0#0 : tensor<2x3xf32>
  %2 = var.silu_grad %0#0, %da : tensor<2x3xf32>
  %3:3 = var.batch_norm_grad %x, %2, %w, %0#1, %0#2 : tensor<2x3xf32>, tensor<3xf32>
  return %1, %3#0 : tensor<2x3xf32>, tensor<2x3xf32>
}

// An evaluation step has nothing to recompute.
// CHECK-LABEL: func.func @silu_eval(
// CHECK-NEXT: %[[BN:.*]] = var.batch_norm %{{.*}} channels_last activation "silu" :
// CHECK-NEXT: return %[[BN]]
func.func @silu_eval(%x: tensor<2x2x2x3xbf16>, %p: tensor<3xf32>) -> tensor<2x2x2x3xbf16> {
  %0 = var.batch_norm %x, %p, %p, %p, %p channels_last
    : tensor<2x2x2x3xbf16>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %1 = var.silu %0 : tensor<2x2x2x3xbf16>
  return %1 : tensor<2x2x2x3xbf16>
}

// A SiLU gradient with another user, or feeding another batch norm's
// backward, keeps the normalized value stored: nothing folds.
// CHECK-LABEL: func.func @silu_shared_grad(
// CHECK-NEXT: var.batch_norm_train %{{.*}} :
// CHECK-NEXT: var.silu
// CHECK-NEXT: var.silu_grad
// CHECK-NEXT: var.batch_norm_grad %{{.*}} : tensor<2x3xf32>, tensor<3xf32>{{$}}
func.func @silu_shared_grad(%x: tensor<2x3xf32>, %da: tensor<2x3xf32>, %p: tensor<3xf32>)
    -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %0:5 = var.batch_norm_train %x, %p, %p, %p, %p
    : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %1 = var.silu %0#0 : tensor<2x3xf32>
  %2 = var.silu_grad %0#0, %da : tensor<2x3xf32>
  %3:3 = var.batch_norm_grad %x, %2, %p, %0#1, %0#2 : tensor<2x3xf32>, tensor<3xf32>
  return %1, %2, %3#0 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// CHECK-LABEL: func.func @silu_other_statistics(
// CHECK-NEXT: var.batch_norm_train %{{.*}} :
// CHECK-NEXT: var.silu
// CHECK-NEXT: var.silu_grad
// CHECK-NEXT: var.batch_norm_grad %{{.*}} : tensor<2x3xf32>, tensor<3xf32>{{$}}
func.func @silu_other_statistics(%x: tensor<2x3xf32>, %da: tensor<2x3xf32>, %p: tensor<3xf32>)
    -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %0:5 = var.batch_norm_train %x, %p, %p, %p, %p
    : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %1 = var.silu %0#0 : tensor<2x3xf32>
  %2 = var.silu_grad %0#0, %da : tensor<2x3xf32>
  %3:3 = var.batch_norm_grad %x, %2, %p, %p, %p : tensor<2x3xf32>, tensor<3xf32>
  return %1, %3#0 : tensor<2x3xf32>, tensor<2x3xf32>
}
