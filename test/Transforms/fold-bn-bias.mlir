// --var-fold-bn-bias: which convolution biases leave the convolution for the
// running mean, and which bias gradients become zero.
// RUN: var-opt %s --var-fold-bn-bias | FileCheck %s

// A bf16 training step: the convolution loses its bias, the running mean
// gets momentum * bias (cast to f32), the bias gradient is zero.
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x4x4x3xbf16>, %[[W:[^:]*]]: tensor<8x3x1x1xbf16>, %[[B:[^:]*]]: tensor<8xbf16>, %[[P:[^:]*]]: tensor<8xf32>, %[[DY:[^:]*]]: tensor<2x4x4x8xbf16>
// CHECK-NEXT: %[[C:.*]] = var.conv %[[X]], %[[W]] channels_last : tensor<2x4x4x3xbf16>, tensor<8x3x1x1xbf16>
// CHECK-NEXT: %[[Y:[^,]*]], %[[MEAN:[^,]*]], %[[INVSTD:[^,]*]], %[[NEWMEAN:[^,]*]], %[[NEWVAR:[^ ]*]] = var.batch_norm_train %[[C]], %[[P]], %[[P]], %[[P]], %[[P]] momentum 2.500000e-01 channels_last
// CHECK-NEXT: %[[BF:.*]] = var.cast %[[B]] : tensor<8xbf16> to tensor<8xf32>
// CHECK-NEXT: %[[M:.*]] = var.fill 2.500000e-01 : tensor<8xf32>
// CHECK-NEXT: %[[MB:.*]] = var.mul %[[BF]], %[[M]]
// CHECK-NEXT: %[[RM:.*]] = var.add %[[NEWMEAN]], %[[MB]]
// CHECK-NEXT: %[[DX:[^,]*]], {{.*}} = var.batch_norm_grad %[[C]], %[[DY]], %[[P]], %[[MEAN]], %[[INVSTD]] channels_last
// CHECK-NEXT: %[[ZERO:.*]] = var.fill 0.000000e+00 : tensor<8xbf16>
// CHECK-NEXT: return %[[Y]], %[[RM]], %[[NEWVAR]], %[[DX]], %[[ZERO]]
func.func @train_step(%x: tensor<2x4x4x3xbf16>, %w: tensor<8x3x1x1xbf16>,
                      %b: tensor<8xbf16>, %p: tensor<8xf32>,
                      %dy: tensor<2x4x4x8xbf16>)
    -> (tensor<2x4x4x8xbf16>, tensor<8xf32>, tensor<8xf32>,
        tensor<2x4x4x8xbf16>, tensor<8xbf16>) {
  %c = var.conv %x, %w, %b channels_last
    : tensor<2x4x4x3xbf16>, tensor<8x3x1x1xbf16>, tensor<8xbf16>
  %bn:5 = var.batch_norm_train %c, %p, %p, %p, %p momentum 0.25 channels_last
    : tensor<2x4x4x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %g:3 = var.batch_norm_grad %c, %dy, %p, %bn#1, %bn#2 channels_last
    : tensor<2x4x4x8xbf16>, tensor<8xf32>
  %db = var.reduce_sum %g#0 dims [0, 1, 2] : tensor<2x4x4x8xbf16>
  return %bn#0, %bn#3, %bn#4, %g#0, %db
    : tensor<2x4x4x8xbf16>, tensor<8xf32>, tensor<8xf32>,
      tensor<2x4x4x8xbf16>, tensor<8xbf16>
}

// FP32, channels first: no cast; the sum over (N, H, W) is zero.
// CHECK-LABEL: func.func @channels_first(
// CHECK-NEXT: %[[C:.*]] = var.conv %{{[^,]*}}, %{{[^,]*}} : tensor<2x3x4x4xf32>, tensor<8x3x1x1xf32>
// CHECK-NEXT: %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[NEWMEAN:[^,]*]], {{.*}} = var.batch_norm_train %[[C]],
// CHECK-NEXT: %[[M:.*]] = var.fill 1.000000e-01 : tensor<8xf32>
// CHECK-NEXT: var.mul %{{.*}}, %[[M]]
// CHECK-NEXT: var.add %[[NEWMEAN]],
// CHECK-NEXT: var.batch_norm_grad %[[C]],
// CHECK-NEXT: var.fill 0.000000e+00 : tensor<8xf32>
// CHECK-NOT: var.reduce_sum
func.func @channels_first(%x: tensor<2x3x4x4xf32>, %w: tensor<8x3x1x1xf32>,
                          %b: tensor<8xf32>, %dy: tensor<2x8x4x4xf32>)
    -> (tensor<2x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>) {
  %c = var.conv %x, %w, %b
    : tensor<2x3x4x4xf32>, tensor<8x3x1x1xf32>, tensor<8xf32>
  %bn:5 = var.batch_norm_train %c, %b, %b, %b, %b
    : tensor<2x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %g:3 = var.batch_norm_grad %c, %dy, %b, %bn#1, %bn#2
    : tensor<2x8x4x4xf32>, tensor<8xf32>
  %db = var.reduce_sum %g#0 dims [0, 2, 3] : tensor<2x8x4x4xf32>
  return %bn#0, %bn#3, %db : tensor<2x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>
}

// A convolution whose result another op reads keeps its bias; a sum that
// keeps the channels' dimensions out, or sums another dimension set, or a
// tensor that is no batch norm input gradient, stays. A batch norm input
// gradient's per-channel sum is zero whatever made the input.
// CHECK-LABEL: func.func @kept(
// CHECK-NEXT: %[[C:.*]] = var.conv %{{[^,]*}}, %{{[^,]*}}, %{{[^ ]*}} channels_last
// CHECK-NEXT: var.batch_norm_train %[[C]],
// CHECK-NEXT: var.batch_norm_grad
// CHECK-NEXT: var.add %[[C]], %[[C]]
// CHECK-NEXT: var.reduce_sum %{{.*}} dims [0, 1, 2] keep_dims
// CHECK-NEXT: var.reduce_sum %{{.*}} dims [0, 1]
// CHECK-NEXT: var.reduce_sum %{{.*}} dims [0, 1, 2] :
// CHECK-NEXT: var.fill 0.000000e+00 : tensor<8xf32>
// CHECK-NEXT: return
func.func @kept(%x: tensor<2x4x4x3xf32>, %w: tensor<8x3x1x1xf32>,
                %b: tensor<8xf32>, %dy: tensor<2x4x4x8xf32>)
    -> (tensor<2x4x4x8xf32>, tensor<2x4x4x8xf32>, tensor<1x1x1x8xf32>,
        tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %c = var.conv %x, %w, %b channels_last
    : tensor<2x4x4x3xf32>, tensor<8x3x1x1xf32>, tensor<8xf32>
  %bn:5 = var.batch_norm_train %c, %b, %b, %b, %b channels_last
    : tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %g:3 = var.batch_norm_grad %c, %dy, %b, %bn#1, %bn#2 channels_last
    : tensor<2x4x4x8xf32>, tensor<8xf32>
  %other = var.add %c, %c : tensor<2x4x4x8xf32>, tensor<2x4x4x8xf32>
  %s1 = var.reduce_sum %g#0 dims [0, 1, 2] keep_dims : tensor<2x4x4x8xf32>
  %s2 = var.reduce_sum %g#0 dims [0, 1] : tensor<2x4x4x8xf32>
  %s3 = var.reduce_sum %dy dims [0, 1, 2] : tensor<2x4x4x8xf32>
  %s4 = var.reduce_sum %g#0 dims [0, 1, 2] : tensor<2x4x4x8xf32>
  return %other, %bn#0, %s1, %s2, %s3, %s4
    : tensor<2x4x4x8xf32>, tensor<2x4x4x8xf32>, tensor<1x1x1x8xf32>,
      tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
}

// Layouts that disagree, and a saved mean that another op reads, keep the
// bias.
// CHECK-LABEL: func.func @mismatch(
// CHECK-NEXT: var.conv %{{[^,]*}}, %{{[^,]*}}, %{{[^ ]*}} channels_last
// CHECK-NEXT: var.batch_norm_train
// CHECK-NEXT: var.conv %{{[^,]*}}, %{{[^,]*}}, %{{[^ ]*}} channels_last
// CHECK-NEXT: var.batch_norm_train
// CHECK-NEXT: return
func.func @mismatch(%x: tensor<2x4x4x3xf32>, %w: tensor<4x3x1x1xf32>,
                    %b: tensor<4xf32>) -> (tensor<2x4x4x4xf32>, tensor<4xf32>,
                                           tensor<2x4x4x4xf32>) {
  %c = var.conv %x, %w, %b channels_last
    : tensor<2x4x4x3xf32>, tensor<4x3x1x1xf32>, tensor<4xf32>
  %bn:5 = var.batch_norm_train %c, %b, %b, %b, %b
    : tensor<2x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  %c2 = var.conv %x, %w, %b channels_last
    : tensor<2x4x4x3xf32>, tensor<4x3x1x1xf32>, tensor<4xf32>
  %bn2:5 = var.batch_norm_train %c2, %b, %b, %b, %b channels_last
    : tensor<2x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return %bn#0, %bn2#1, %bn2#0 : tensor<2x4x4x4xf32>, tensor<4xf32>, tensor<2x4x4x4xf32>
}
