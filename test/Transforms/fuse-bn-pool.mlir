// --var-fuse-bn-pool: which training batch norms pool their result as they
// make it.
// RUN: var-opt %s --var-fuse-bn-pool | FileCheck %s

// The vgg pair: a batch norm with its ReLU whose result only the pool
// reads becomes one op at the batch norm's place, with both ops'
// attributes; the pool's and the batch norm's other results keep their
// readers.
// CHECK-LABEL: func.func @pair(
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x8x8x8xbf16>, %[[P:[^:]*]]: tensor<8xf32>, %[[G:[^:]*]]: tensor<2x4x4x8xbf16>
// CHECK-NEXT: %[[O:[^,]*]], %[[I:[^,]*]], %[[M:[^,]*]], %[[S:[^,]*]], %[[RM:[^,]*]], %[[RV:[^ ]*]] = var.batch_norm_train_max_pool %[[X]], %[[P]], %[[P]], %[[P]], %[[P]] eps 1.000000e-03 momentum 2.000000e-01 activation "relu" kernel [2, 2] channels_last : tensor<2x8x8x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
// CHECK-NEXT: %[[D:.*]] = var.max_pool_grad_indices %[[I]], %[[G]] kernel [2, 2] channels_last
// CHECK-NEXT: return %[[O]], %[[D]], %[[M]], %[[S]], %[[RM]], %[[RV]]
// CHECK-NOT: var.batch_norm_train %
// CHECK-NOT: var.max_pool_with_indices
func.func @pair(%x: tensor<2x8x8x8xbf16>, %p: tensor<8xf32>, %g: tensor<2x4x4x8xbf16>)
    -> (tensor<2x4x4x8xbf16>, tensor<2x8x8x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %y:5 = var.batch_norm_train %x, %p, %p, %p, %p eps 1.0e-3 momentum 0.2 channels_last activation "relu" : tensor<2x8x8x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %o:2 = var.max_pool_with_indices %y#0 kernel [2, 2] channels_last : tensor<2x8x8x8xbf16>
  %dx = var.max_pool_grad_indices %o#1, %g kernel [2, 2] channels_last : tensor<2x4x4x8xi8>, tensor<2x4x4x8xbf16> -> tensor<2x8x8x8xbf16>
  return %o#0, %dx, %y#1, %y#2, %y#3, %y#4 : tensor<2x4x4x8xbf16>, tensor<2x8x8x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
}

// Channels-first, no activation, an overlapping padded window: fused too,
// the window carried over as written.
// CHECK-LABEL: func.func @channels_first_window(
// CHECK-NEXT: = var.batch_norm_train_max_pool %{{.*}} kernel [3, 3] stride [2, 2] padding [1, 1] : tensor<1x4x9x9xf32>
// CHECK-NEXT: return
func.func @channels_first_window(%x: tensor<1x4x9x9xf32>, %p: tensor<4xf32>)
    -> (tensor<1x4x5x5xf32>, tensor<1x4x5x5xi8>, tensor<4xf32>) {
  %y:5 = var.batch_norm_train %x, %p, %p, %p, %p : tensor<1x4x9x9xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  %o:2 = var.max_pool_with_indices %y#0 kernel [3, 3] stride [2, 2] padding [1, 1] : tensor<1x4x9x9xf32>
  return %o#0, %o#1, %y#1 : tensor<1x4x5x5xf32>, tensor<1x4x5x5xi8>, tensor<4xf32>
}

// The normalized result has another reader (here the function's result; a
// residual add or a var.max_pool_grad alike): it must be stored, so the
// pair stays.
// CHECK-LABEL: func.func @result_read_elsewhere(
// CHECK-NEXT: var.batch_norm_train %
// CHECK-NEXT: var.max_pool_with_indices %
// CHECK-NOT: var.batch_norm_train_max_pool
func.func @result_read_elsewhere(%x: tensor<2x8x8x8xbf16>, %p: tensor<8xf32>)
    -> (tensor<2x4x4x8xbf16>, tensor<2x8x8x8xbf16>) {
  %y:5 = var.batch_norm_train %x, %p, %p, %p, %p channels_last activation "relu" : tensor<2x8x8x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %o:2 = var.max_pool_with_indices %y#0 kernel [2, 2] channels_last : tensor<2x8x8x8xbf16>
  return %o#0, %y#0 : tensor<2x4x4x8xbf16>, tensor<2x8x8x8xbf16>
}

// A channels-last batch norm read by a channels-first pool (the tensor's
// last dimension normalized, its second pooled over): one op cannot say
// both, so the pair stays.
// CHECK-LABEL: func.func @layouts_differ(
// CHECK-NEXT: var.batch_norm_train %{{.*}} channels_last
// CHECK-NEXT: var.max_pool_with_indices %{{.*}} kernel [2, 2] :
// CHECK-NOT: var.batch_norm_train_max_pool
func.func @layouts_differ(%x: tensor<2x8x8x8xbf16>, %p: tensor<8xf32>)
    -> (tensor<2x8x4x4xbf16>, tensor<8xf32>) {
  %y:5 = var.batch_norm_train %x, %p, %p, %p, %p channels_last : tensor<2x8x8x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %o:2 = var.max_pool_with_indices %y#0 kernel [2, 2] : tensor<2x8x8x8xbf16>
  return %o#0, %y#1 : tensor<2x8x4x4xbf16>, tensor<8xf32>
}

// A plain var.max_pool (no backward that reads indices) and a pool of
// something other than a batch norm's result stay.
// CHECK-LABEL: func.func @not_a_pair(
// CHECK-NEXT: var.batch_norm_train %
// CHECK-NEXT: var.max_pool %
// CHECK-NEXT: var.relu
// CHECK-NEXT: var.max_pool_with_indices %
// CHECK-NOT: var.batch_norm_train_max_pool
func.func @not_a_pair(%x: tensor<2x8x8x8xbf16>, %p: tensor<8xf32>)
    -> (tensor<2x4x4x8xbf16>, tensor<2x4x4x8xbf16>) {
  %y:5 = var.batch_norm_train %x, %p, %p, %p, %p channels_last : tensor<2x8x8x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %a = var.max_pool %y#0 kernel [2, 2] channels_last : tensor<2x8x8x8xbf16>
  %r = var.relu %x : tensor<2x8x8x8xbf16>
  %o:2 = var.max_pool_with_indices %r kernel [2, 2] channels_last : tensor<2x8x8x8xbf16>
  return %a, %o#0 : tensor<2x4x4x8xbf16>, tensor<2x4x4x8xbf16>
}
