// Round trip of the batch norm ops' fused `activation` (var-fuse-bn-act).
// RUN: var-opt %s | var-opt | FileCheck %s

// CHECK-LABEL: func.func @forward
// CHECK: var.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} activation "relu6" : tensor<2x4x3x3xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>{{$}}
// CHECK: var.batch_norm_train %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} channels_last activation "relu" : tensor<2x3x3x4xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>{{$}}
func.func @forward(%x: tensor<2x4x3x3xbf16>, %xl: tensor<2x3x3x4xbf16>,
                   %p: tensor<4xf32>) {
  %0 = var.batch_norm %x, %p, %p, %p, %p activation "relu6"
    : tensor<2x4x3x3xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  %1:5 = var.batch_norm_train %xl, %p, %p, %p, %p channels_last activation "relu"
    : tensor<2x3x3x4xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return
}

// CHECK-LABEL: func.func @backward
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x4x3x3xbf16>, %[[DZ:[^:]*]]: tensor<2x4x3x3xbf16>, %[[Z:[^:]*]]: tensor<2x4x3x3xbf16>
// CHECK: var.batch_norm_grad %[[X]], %[[DZ]], %{{.*}}, %{{.*}}, %{{.*}} activation "relu6"(%[[Z]]) : tensor<2x4x3x3xbf16>, tensor<4xf32>, tensor<2x4x3x3xbf16>{{$}}
// CHECK: var.batch_norm_grad %[[X]], %[[DZ]], %{{.*}}, %{{.*}}, %{{.*}} activation "relu"(%{{.*}}) : tensor<2x4x3x3xbf16>, tensor<4xf32>, tensor<4xf32>{{$}}
// CHECK: var.batch_norm_grad %[[X]], %[[DZ]], %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x4x3x3xbf16>, tensor<4xf32>{{$}}
func.func @backward(%x: tensor<2x4x3x3xbf16>, %dz: tensor<2x4x3x3xbf16>,
                    %z: tensor<2x4x3x3xbf16>, %p: tensor<4xf32>) {
  %0:3 = var.batch_norm_grad %x, %dz, %p, %p, %p activation "relu6"(%z)
    : tensor<2x4x3x3xbf16>, tensor<4xf32>, tensor<2x4x3x3xbf16>
  // A ReLU's value may be the forward's bias, as SiLU's is.
  %2:3 = var.batch_norm_grad %x, %dz, %p, %p, %p activation "relu"(%p)
    : tensor<2x4x3x3xbf16>, tensor<4xf32>, tensor<4xf32>
  %1:3 = var.batch_norm_grad %x, %dz, %p, %p, %p
    : tensor<2x4x3x3xbf16>, tensor<4xf32>
  return
}

// SiLU's backward reads the forward's bias.
// CHECK-LABEL: func.func @silu
// CHECK: var.batch_norm_train %{{.*}} channels_last activation "silu" :
// CHECK: var.batch_norm_grad %{{.*}} channels_last activation "silu"(%{{.*}}) : tensor<2x3x3x4xbf16>, tensor<4xf32>, tensor<4xf32>{{$}}
func.func @silu(%x: tensor<2x3x3x4xbf16>, %dz: tensor<2x3x3x4xbf16>, %p: tensor<4xf32>) {
  %0:5 = var.batch_norm_train %x, %p, %p, %p, %p channels_last activation "silu"
    : tensor<2x3x3x4xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  %1:3 = var.batch_norm_grad %x, %dz, %p, %p, %p channels_last activation "silu"(%p)
    : tensor<2x3x3x4xbf16>, tensor<4xf32>, tensor<4xf32>
  return
}
