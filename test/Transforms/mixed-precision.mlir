// --var-mixed-precision with bf16 (the default): the forward's float inputs
// are cast to bf16 at the top, trainable weights are read as bf16 compute
// copies, batch norm keeps f32 parameters, every type is re-inferred, and the
// results are cast back to f32, so the function type does not change. The
// training step built from it has bf16 gradients for the bf16-read weights,
// f32 ones for batch norm's, and an f32 loss; the optimizer updates the f32
// masters from them. With precision=fp32 nothing changes. Errors are in
// mixed-precision-invalid.mlir.
//
// RUN: var-opt %s -split-input-file --var-mixed-precision | FileCheck %s
// RUN: var-opt %s -split-input-file --var-mixed-precision | var-opt -split-input-file | FileCheck %s
// RUN: var-opt %s -split-input-file --var-mixed-precision --var-specialize-batch=batch=2 --var-autodiff | FileCheck %s --check-prefix=TRAIN
// RUN: var-opt %s -split-input-file --var-mixed-precision --var-specialize-batch=batch=2 --var-autodiff --var-optimizer | FileCheck %s --check-prefix=ADAMW
// RUN: var-opt %s -split-input-file --var-mixed-precision=precision=fp32 | FileCheck %s --check-prefix=FP32

// A per-frame CNN, batch still dynamic.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[CLIPS:.*]]: tensor<?x2x3x8x8xf32>) -> tensor<?x5xf32>
// CHECK-NEXT: %[[X:.*]] = var.cast %[[CLIPS]] : tensor<?x2x3x8x8xf32> to tensor<?x2x3x8x8xbf16>
// CHECK-NEXT: %[[FRAMES:.*]] = var.fold_time %[[X]] : tensor<?x2x3x8x8xbf16>
// CHECK-NEXT: %[[W1:.*]] = var.get_param @conv1.weight : tensor<4x3x3x3xbf16>
// CHECK-NEXT: %[[G1:.*]] = var.get_param @bn1.weight : tensor<4xf32>
// CHECK-NEXT: %[[B1:.*]] = var.get_param @bn1.bias : tensor<4xf32>
// CHECK-NEXT: %[[M1:.*]] = var.get_param @bn1.running_mean : tensor<4xf32>
// CHECK-NEXT: %[[V1:.*]] = var.get_param @bn1.running_var : tensor<4xf32>
// CHECK-NEXT: %[[C1:.*]] = var.conv %[[FRAMES]], %[[W1]] padding [1, 1] : tensor<?x3x8x8xbf16>, tensor<4x3x3x3xbf16>
// CHECK-NEXT: %[[N1:.*]] = var.batch_norm %[[C1]], %[[G1]], %[[B1]], %[[M1]], %[[V1]] : tensor<?x4x8x8xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
// CHECK-NEXT: var.relu %[[N1]] : tensor<?x4x8x8xbf16>
// CHECK: var.mean_time %{{.*}} : tensor<?x2x4xbf16>
// CHECK: %[[FW:.*]] = var.get_param @fc.weight : tensor<5x4xbf16>
// CHECK-NEXT: %[[FB:.*]] = var.get_param @fc.bias : tensor<5xbf16>
// CHECK-NEXT: %[[Y:.*]] = var.linear %{{.*}}, %[[FW]], %[[FB]] : tensor<?x4xbf16>, tensor<5x4xbf16>, tensor<5xbf16>
// CHECK-NEXT: %[[LOGITS:.*]] = var.cast %[[Y]] : tensor<?x5xbf16> to tensor<?x5xf32>
// CHECK-NEXT: return %[[LOGITS]] : tensor<?x5xf32>

// The batch is specialized after the casts are in: the casts re-infer too.
// TRAIN-LABEL: func.func @train_step(
// TRAIN-SAME: %[[CLIPS:[^:]*]]: tensor<2x2x3x8x8xf32> {var.role = "input"}, %[[LABELS:[^:]*]]: tensor<2xi64> {var.role = "labels"}) -> (tensor<f32>, tensor<2x5xf32>)
// TRAIN: var.cast %[[CLIPS]] : tensor<2x2x3x8x8xf32> to tensor<2x2x3x8x8xbf16>
// TRAIN: var.batch_norm_train %{{.*}} : tensor<4x4x8x8xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
// TRAIN-NEXT: var.update_buffer @bn1.running_mean, %{{.*}} : tensor<4xf32>
// TRAIN-NEXT: var.update_buffer @bn1.running_var, %{{.*}} : tensor<4xf32>
// TRAIN: %[[Y:.*]] = var.linear %{{.*}} : tensor<2x4xbf16>, tensor<5x4xbf16>, tensor<5xbf16>
// TRAIN-NEXT: %[[LOGITS:.*]] = var.cast %[[Y]] : tensor<2x5xbf16> to tensor<2x5xf32>
// TRAIN-NEXT: %[[LOSS:.*]] = var.softmax_cross_entropy %[[LOGITS]], %[[LABELS]] : tensor<2x5xf32>, tensor<2xi64>
// TRAIN: %[[DLOGITS:.*]] = var.softmax_cross_entropy_grad %[[LOGITS]], %[[LABELS]], %{{.*}} : tensor<2x5xf32>, tensor<2xi64>
// TRAIN-NEXT: var.cast %[[DLOGITS]] : tensor<2x5xf32> to tensor<2x5xbf16>
// TRAIN: var.param_grad @fc.bias, %{{.*}} : tensor<5xbf16>
// TRAIN-NEXT: var.param_grad @fc.weight, %{{.*}} : tensor<5x4xbf16>
// TRAIN: var.batch_norm_grad %{{.*}} : tensor<4x4x8x8xbf16>, tensor<4xf32>
// TRAIN: var.param_grad @bn1.bias, %{{.*}} : tensor<4xf32>
// TRAIN-NEXT: var.param_grad @bn1.weight, %{{.*}} : tensor<4xf32>
// TRAIN-NEXT: var.param_grad @conv1.weight, %{{.*}} : tensor<4x3x3x3xbf16>
// TRAIN-NEXT: return %[[LOSS]], %[[LOGITS]] : tensor<f32>, tensor<2x5xf32>

// The parameters and the optimizer state stay f32; the updates take the
// bf16 gradients.
// ADAMW: var.param @conv1.weight : tensor<4x3x3x3xf32>
// ADAMW: var.optimizer_state @conv1.weight.exp_avg : tensor<4x3x3x3xf32> of @conv1.weight "exp_avg"
// ADAMW-LABEL: func.func @train_step(
// ADAMW: var.adamw_update @fc.bias, %{{.*}} : tensor<5xbf16>
// ADAMW-NEXT: var.adamw_update @fc.weight, %{{.*}} : tensor<5x4xbf16>
// ADAMW-NEXT: var.adamw_update @bn1.bias, %{{.*}} : tensor<4xf32>
// ADAMW-NEXT: var.adamw_update @bn1.weight, %{{.*}} : tensor<4xf32>
// ADAMW-NEXT: var.adamw_update @conv1.weight, %{{.*}} : tensor<4x3x3x3xbf16>
// ADAMW-NEXT: return %{{.*}}, %{{.*}} : tensor<f32>, tensor<2x5xf32>

// FP32-LABEL: func.func @forward
// FP32-SAME: (%{{.*}}: tensor<?x2x3x8x8xf32>) -> tensor<?x5xf32>
// FP32-NOT: var.cast
// FP32-NOT: bf16
// FP32: var.conv %{{.*}}, %{{.*}} padding [1, 1] : tensor<?x3x8x8xf32>, tensor<4x3x3x3xf32>
// FP32-NOT: var.cast
// FP32-NOT: bf16
// FP32: return %{{.*}} : tensor<?x5xf32>
module {
  var.param @conv1.weight : tensor<4x3x3x3xf32> init kaiming_normal_fan_out
  var.param @bn1.weight : tensor<4xf32> init ones
  var.param @bn1.bias : tensor<4xf32> init zeros
  var.param @bn1.running_mean : tensor<4xf32> init zeros buffer
  var.param @bn1.running_var : tensor<4xf32> init ones buffer
  var.param @fc.weight : tensor<5x4xf32> init normal(0.01)
  var.param @fc.bias : tensor<5xf32> init zeros
  func.func @forward(%clips: tensor<?x2x3x8x8xf32>) -> tensor<?x5xf32> {
    %frames = var.fold_time %clips : tensor<?x2x3x8x8xf32>
    %w1 = var.get_param @conv1.weight : tensor<4x3x3x3xf32>
    %g1 = var.get_param @bn1.weight : tensor<4xf32>
    %b1 = var.get_param @bn1.bias : tensor<4xf32>
    %m1 = var.get_param @bn1.running_mean : tensor<4xf32>
    %v1 = var.get_param @bn1.running_var : tensor<4xf32>
    %c1 = var.conv %frames, %w1 padding [1, 1]
        : tensor<?x3x8x8xf32>, tensor<4x3x3x3xf32>
    %n1 = var.batch_norm %c1, %g1, %b1, %m1, %v1 : tensor<?x4x8x8xf32>,
        tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
    %r1 = var.relu %n1 : tensor<?x4x8x8xf32>
    %gap = var.global_avg_pool %r1 : tensor<?x4x8x8xf32>
    %per = var.unfold_time %gap frames 2 : tensor<?x4xf32>
    %clip = var.mean_time %per : tensor<?x2x4xf32>
    %fw = var.get_param @fc.weight : tensor<5x4xf32>
    %fb = var.get_param @fc.bias : tensor<5xf32>
    %logits = var.linear %clip, %fw, %fb
        : tensor<?x4xf32>, tensor<5x4xf32>, tensor<5xf32>
    return %logits : tensor<?x5xf32>
  }
}

// -----

// A batch-norm weight that also computes: the read stays f32 for the batch
// norm and a cast feeds the multiply, so the two gradient contributions meet
// in f32. A buffer that computes is cast as well (buffers are not read as
// compute copies). An unused input gets no cast.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>, %{{.*}}: tensor<?x5xf32>) -> tensor<?x3xf32>
// CHECK-NEXT: %[[XB:.*]] = var.cast %[[X]] : tensor<?x4xf32> to tensor<?x4xbf16>
// CHECK-NEXT: %[[G:.*]] = var.get_param @bn.weight : tensor<4xf32>
// CHECK-NEXT: %[[GB:.*]] = var.cast %[[G]] : tensor<4xf32> to tensor<4xbf16>
// CHECK-NOT: var.cast
// CHECK: %[[N:.*]] = var.batch_norm %[[XB]], %[[G]], %{{.*}} : tensor<?x4xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
// CHECK-NEXT: %[[S:.*]] = var.mul %[[N]], %[[GB]] : tensor<?x4xbf16>, tensor<4xbf16>
// CHECK-NEXT: %[[O:.*]] = var.get_param @shift : tensor<4xf32>
// CHECK-NEXT: %[[OB:.*]] = var.cast %[[O]] : tensor<4xf32> to tensor<4xbf16>
// CHECK-NEXT: var.add %[[S]], %[[OB]] : tensor<?x4xbf16>, tensor<4xbf16>
// CHECK-NEXT: var.get_param @fc.weight : tensor<3x4xbf16>
// CHECK-NEXT: %[[Y:.*]] = var.linear %{{.*}} : tensor<?x4xbf16>, tensor<3x4xbf16>
// CHECK-NEXT: %[[LOGITS:.*]] = var.cast %[[Y]] : tensor<?x3xbf16> to tensor<?x3xf32>
// CHECK-NEXT: return %[[LOGITS]] : tensor<?x3xf32>

// The multiply's bf16 gradient goes back through the cast to f32 and is
// summed with the batch norm's f32 weight gradient.
// TRAIN-LABEL: func.func @train_step(
// TRAIN: %[[G:.*]] = var.get_param @bn.weight : tensor<4xf32>
// TRAIN: var.param_grad @fc.weight, %{{.*}} : tensor<3x4xbf16>
// TRAIN: %[[DMUL:.*]] = var.reshape %{{.*}} [4] : tensor<1x4xbf16>
// TRAIN: %{{[^,]*}}, %[[DG:[^,]*]], %[[DB:[^,]*]] = var.batch_norm_grad %{{.*}}, %{{.*}}, %[[G]], %{{.*}}, %{{.*}} : tensor<2x4xbf16>, tensor<4xf32>
// TRAIN-NEXT: var.param_grad @bn.bias, %[[DB]] : tensor<4xf32>
// TRAIN-NEXT: %[[DGB:.*]] = var.cast %[[DMUL]] : tensor<4xbf16> to tensor<4xf32>
// TRAIN-NEXT: %[[SUM:.*]] = var.add %[[DG]], %[[DGB]] : tensor<4xf32>, tensor<4xf32>
// TRAIN-NEXT: var.param_grad @bn.weight, %[[SUM]] : tensor<4xf32>
// TRAIN-NOT: @shift
// TRAIN: return

// ADAMW-LABEL: func.func @train_step(
// ADAMW: var.adamw_update @fc.weight, %{{.*}} : tensor<3x4xbf16>
// ADAMW-NEXT: var.adamw_update @bn.bias, %{{.*}} : tensor<4xf32>
// ADAMW-NEXT: var.adamw_update @bn.weight, %{{.*}} : tensor<4xf32>

// FP32-LABEL: func.func @forward
// FP32-NOT: var.cast
// FP32-NOT: bf16
// FP32: return %{{.*}} : tensor<?x3xf32>
module {
  var.param @bn.weight : tensor<4xf32> init ones
  var.param @bn.bias : tensor<4xf32> init zeros
  var.param @bn.running_mean : tensor<4xf32> init zeros buffer
  var.param @bn.running_var : tensor<4xf32> init ones buffer
  var.param @shift : tensor<4xf32> init zeros buffer
  var.param @fc.weight : tensor<3x4xf32> init xavier_uniform
  func.func @forward(%x: tensor<?x4xf32>, %unused: tensor<?x5xf32>)
      -> tensor<?x3xf32> {
    %g = var.get_param @bn.weight : tensor<4xf32>
    %b = var.get_param @bn.bias : tensor<4xf32>
    %m = var.get_param @bn.running_mean : tensor<4xf32>
    %v = var.get_param @bn.running_var : tensor<4xf32>
    %n = var.batch_norm %x, %g, %b, %m, %v : tensor<?x4xf32>, tensor<4xf32>,
        tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
    %s = var.mul %n, %g : tensor<?x4xf32>, tensor<4xf32>
    %o = var.get_param @shift : tensor<4xf32>
    %t = var.add %s, %o : tensor<?x4xf32>, tensor<4xf32>
    %w = var.get_param @fc.weight : tensor<3x4xf32>
    %y = var.linear %t, %w : tensor<?x4xf32>, tensor<3x4xf32>
    return %y : tensor<?x3xf32>
  }
}

// -----

// Only the entry is converted, and only its float inputs are cast.
// CHECK-LABEL: func.func @helper
// CHECK-SAME: (%{{.*}}: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: var.relu %{{.*}} : tensor<2x3xf32>
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %{{.*}}: tensor<2xi64>) -> tensor<2x4xf32>
// CHECK-NEXT: %[[XB:.*]] = var.cast %[[X]] : tensor<2x3xf32> to tensor<2x3xbf16>
// CHECK-NEXT: %[[W:.*]] = var.get_param @fc.weight : tensor<4x3xbf16>
// CHECK-NEXT: %[[Y:.*]] = var.linear %[[XB]], %[[W]] : tensor<2x3xbf16>, tensor<4x3xbf16>
// CHECK-NEXT: %[[YF:.*]] = var.cast %[[Y]] : tensor<2x4xbf16> to tensor<2x4xf32>
// CHECK-NEXT: return %[[YF]] : tensor<2x4xf32>

// TRAIN-LABEL: func.func @train_step(
// TRAIN-SAME: tensor<2x3xf32> {var.role = "input"}, %{{.*}}: tensor<2xi64> {var.role = "input"}
// TRAIN: var.param_grad @fc.weight, %{{.*}} : tensor<4x3xbf16>
module {
  var.param @fc.weight : tensor<4x3xf32> init xavier_uniform
  func.func @helper(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    %y = var.relu %x : tensor<2x3xf32>
    return %y : tensor<2x3xf32>
  }
  func.func @forward(%x: tensor<2x3xf32>, %frame_ids: tensor<2xi64>)
      -> tensor<2x4xf32> {
    %w = var.get_param @fc.weight : tensor<4x3xf32>
    %y = var.linear %x, %w : tensor<2x3xf32>, tensor<4x3xf32>
    return %y : tensor<2x4xf32>
  }
}
