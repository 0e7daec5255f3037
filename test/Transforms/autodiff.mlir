// --var-autodiff builds @train_step from @forward: the forward in training
// form, the loss, the backward of every op through DifferentiableOpInterface,
// and a var.param_grad per trainable parameter as soon as it is complete.
//
// RUN: var-opt %s -split-input-file --var-autodiff | FileCheck %s
// RUN: var-opt %s -split-input-file --var-autodiff="label-smoothing=0.1 loss-scale=0.25 train-entry=step" | FileCheck %s --check-prefix=OPTS

// A linear classifier: the input gets no gradient, the bias's gradient sums
// over the batch, and the evaluation step (@forward) is left alone.
// CHECK-LABEL: func.func @forward(%{{.*}}: tensor<4x8xf32>) -> tensor<4x3xf32>
// CHECK-NOT: grad
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[X:[^:]*]]: tensor<4x8xf32> {var.role = "input"}, %[[Y:[^:]*]]: tensor<4xi64> {var.role = "labels"}) -> (tensor<f32>, tensor<4x3xf32>)
// CHECK: %[[W:.*]] = var.get_param @fc.weight
// CHECK: %[[B:.*]] = var.get_param @fc.bias
// CHECK: %[[LOGITS:.*]] = var.linear %[[X]], %[[W]], %[[B]]
// CHECK: %[[LOSS:.*]] = var.softmax_cross_entropy %[[LOGITS]], %[[Y]] : tensor<4x3xf32>, tensor<4xi64>
// CHECK: %[[SEED:.*]] = var.fill 1.000000e+00 : tensor<f32>
// CHECK: %[[DLOGITS:.*]] = var.softmax_cross_entropy_grad %[[LOGITS]], %[[Y]], %[[SEED]] : tensor<4x3xf32>, tensor<4xi64>
// CHECK-NOT: var.linear_grad_input
// CHECK: %[[DW:.*]] = var.linear_grad_weight %[[X]], %[[DLOGITS]]
// CHECK: %[[DB:.*]] = var.reduce_sum %[[DLOGITS]] dims [0] : tensor<4x3xf32>
// CHECK: var.param_grad @fc.bias, %[[DB]] : tensor<3xf32>
// CHECK: var.param_grad @fc.weight, %[[DW]] : tensor<3x8xf32>
// CHECK: return %[[LOSS]], %[[LOGITS]] : tensor<f32>, tensor<4x3xf32>

// OPTS-LABEL: func.func @step(
// OPTS: var.softmax_cross_entropy %{{.*}}, %{{.*}} label_smoothing 1.000000e-01
// OPTS: var.fill 2.500000e-01 : tensor<f32>
// OPTS: var.softmax_cross_entropy_grad %{{.*}}, %{{.*}}, %{{.*}} label_smoothing 1.000000e-01
module {
  var.param @fc.weight : tensor<3x8xf32> init xavier_uniform
  var.param @fc.bias : tensor<3xf32> init zeros
  func.func @forward(%x: tensor<4x8xf32>) -> tensor<4x3xf32> {
    %w = var.get_param @fc.weight : tensor<3x8xf32>
    %b = var.get_param @fc.bias : tensor<3xf32>
    %y = var.linear %x, %w, %b : tensor<4x8xf32>, tensor<3x8xf32>, tensor<3xf32>
    return %y : tensor<4x3xf32>
  }
}

// -----

// A per-frame CNN: batch norm trains on batch statistics and writes its
// running statistics back; dropout gets a key; the first convolution needs
// no input gradient, the second does; time folding and the clip mean are
// undone in reverse.
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[CLIPS:[^:]*]]: tensor<2x4x3x8x8xf32> {var.role = "input"}, %{{[^:]*}}: tensor<2xi64> {var.role = "labels"})
// CHECK: %[[FRAMES:.*]] = var.fold_time %[[CLIPS]]
// CHECK: %[[C1:.*]] = var.conv %[[FRAMES]], %[[W1:.*]] padding [1, 1]
// CHECK: %[[N1:[^,]*]], %[[MEAN:[^,]*]], %[[INVSTD:[^,]*]], %[[RMEAN:[^,]*]], %[[RVAR:[^,]*]] = var.batch_norm_train %[[C1]], %[[G1:[^,]*]], %{{.*}}, %{{.*}}, %{{.*}} momentum 2.000000e-01
// CHECK-NEXT: var.update_buffer @bn1.running_mean, %[[RMEAN]] : tensor<4xf32>
// CHECK-NEXT: var.update_buffer @bn1.running_var, %[[RVAR]] : tensor<4xf32>
// CHECK: %[[R1:.*]] = var.relu %[[N1]]
// CHECK: %[[P1:.*]] = var.max_pool %[[R1]] kernel [2, 2]
// CHECK: %[[C2:.*]] = var.conv %[[P1]], %[[W2:.*]] : tensor<8x4x4x4xf32>, tensor<6x4x3x3xf32>
// CHECK: %[[GAP:.*]] = var.global_avg_pool %[[C2]]
// CHECK: %[[PER:.*]] = var.unfold_time %[[GAP]] frames 4
// CHECK: %[[CLIP:.*]] = var.mean_time %[[PER]]
// CHECK: %[[DROP:.*]] = var.dropout_train %[[CLIP]] p 5.000000e-01 key 0
// CHECK: %[[DROP2:.*]] = var.dropout_train %[[DROP]] p 1.000000e-01 key 1
// CHECK: %[[LOGITS:.*]] = var.linear %[[DROP2]], %[[FW:.*]] :
// CHECK: var.softmax_cross_entropy_grad
// CHECK: %[[DD2:.*]] = var.linear_grad_input %{{.*}}, %[[FW]]
// CHECK: var.linear_grad_weight %[[DROP2]],
// CHECK: var.param_grad @fc.weight
// CHECK: %[[DD:.*]] = var.dropout_grad %[[DD2]] p 1.000000e-01 key 1
// CHECK: %[[DCLIP:.*]] = var.dropout_grad %[[DD]] p 5.000000e-01 key 0
// CHECK: %[[DPER:.*]] = var.mean_time_grad %[[DCLIP]] frames 4 : tensor<2x6xf32>
// CHECK: %[[DGAP:.*]] = var.fold_time %[[DPER]] : tensor<2x4x6xf32>
// CHECK: %[[DC2:.*]] = var.global_avg_pool_grad %[[DGAP]] : tensor<8x6xf32> -> tensor<8x6x2x2xf32>
// CHECK: %[[DP1:.*]] = var.conv_grad_input %[[DC2]], %[[W2]] : tensor<8x6x2x2xf32>, tensor<6x4x3x3xf32> -> tensor<8x4x4x4xf32>
// CHECK: %[[DW2:.*]] = var.conv_grad_weight %[[P1]], %[[DC2]] : tensor<8x4x4x4xf32>, tensor<8x6x2x2xf32> -> tensor<6x4x3x3xf32>
// CHECK: var.param_grad @conv2.weight, %[[DW2]]
// CHECK: %[[DR1:.*]] = var.max_pool_grad %[[R1]], %[[P1]], %[[DP1]] kernel [2, 2] : tensor<8x4x8x8xf32>, tensor<8x4x4x4xf32>
// CHECK: %[[DN1:.*]] = var.relu_grad %[[R1]], %[[DR1]]
// CHECK: %[[DBN:[^,]*]], %[[DG1:[^,]*]], %[[DB1:[^,]*]] = var.batch_norm_grad %[[C1]], %[[DN1]], %[[G1]], %[[MEAN]], %[[INVSTD]]
// CHECK: %[[DW1:.*]] = var.conv_grad_weight %[[FRAMES]], %[[DBN]] padding [1, 1]
// CHECK: var.param_grad @bn1.bias, %[[DB1]]
// CHECK: var.param_grad @bn1.weight, %[[DG1]]
// CHECK: var.param_grad @conv1.weight, %[[DW1]]
// CHECK-NOT: var.conv_grad_input
// CHECK-NOT: var.unfold_time
// CHECK: return
module {
  var.param @conv1.weight : tensor<4x3x3x3xf32> init kaiming_normal_fan_out
  var.param @bn1.weight : tensor<4xf32> init ones
  var.param @bn1.bias : tensor<4xf32> init zeros
  var.param @bn1.running_mean : tensor<4xf32> init zeros buffer
  var.param @bn1.running_var : tensor<4xf32> init ones buffer
  var.param @conv2.weight : tensor<6x4x3x3xf32> init kaiming_normal_fan_out
  var.param @fc.weight : tensor<5x6xf32> init normal(0.01)
  func.func @forward(%clips: tensor<2x4x3x8x8xf32>) -> tensor<2x5xf32> {
    %frames = var.fold_time %clips : tensor<2x4x3x8x8xf32>
    %w1 = var.get_param @conv1.weight : tensor<4x3x3x3xf32>
    %g1 = var.get_param @bn1.weight : tensor<4xf32>
    %b1 = var.get_param @bn1.bias : tensor<4xf32>
    %m1 = var.get_param @bn1.running_mean : tensor<4xf32>
    %v1 = var.get_param @bn1.running_var : tensor<4xf32>
    %c1 = var.conv %frames, %w1 padding [1, 1] : tensor<8x3x8x8xf32>, tensor<4x3x3x3xf32>
    %n1 = var.batch_norm %c1, %g1, %b1, %m1, %v1 momentum 0.2
        : tensor<8x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
    %r1 = var.relu %n1 : tensor<8x4x8x8xf32>
    %p1 = var.max_pool %r1 kernel [2, 2] : tensor<8x4x8x8xf32>
    %w2 = var.get_param @conv2.weight : tensor<6x4x3x3xf32>
    %c2 = var.conv %p1, %w2 : tensor<8x4x4x4xf32>, tensor<6x4x3x3xf32>
    %gap = var.global_avg_pool %c2 : tensor<8x6x2x2xf32>
    %per = var.unfold_time %gap frames 4 : tensor<8x6xf32>
    %clip = var.mean_time %per : tensor<2x4x6xf32>
    %drop = var.dropout %clip p 0.5 : tensor<2x6xf32>
    %drop2 = var.dropout %drop p 0.1 : tensor<2x6xf32>
    %fw = var.get_param @fc.weight : tensor<5x6xf32>
    %logits = var.linear %drop2, %fw : tensor<2x6xf32>, tensor<5x6xf32>
    return %logits : tensor<2x5xf32>
  }
}

// -----

// A parameter read twice and a value used twice: contributions are summed,
// and the parameter's gradient is emitted once, after its first read.
// CHECK-LABEL: func.func @train_step(
// CHECK: %[[W:.*]] = var.get_param @shared
// CHECK: %[[H:.*]] = var.linear %{{.*}}, %[[W]]
// CHECK: %[[W2:.*]] = var.get_param @shared
// CHECK: %[[H2:.*]] = var.linear %[[H]], %[[W2]]
// CHECK: %[[SUM:.*]] = var.add %[[H2]], %[[H]]
// CHECK: %[[DSUM:.*]] = var.softmax_cross_entropy_grad
// CHECK: %[[DHA:.*]] = var.linear_grad_input %[[DSUM]], %[[W2]]
// CHECK: %[[DW2:.*]] = var.linear_grad_weight %[[H]], %[[DSUM]]
// CHECK: %[[DH:.*]] = var.add %[[DSUM]], %[[DHA]]
// CHECK-NOT: var.param_grad
// CHECK: %[[DW1:.*]] = var.linear_grad_weight %{{.*}}, %[[DH]]
// CHECK: %[[DW:.*]] = var.add %[[DW2]], %[[DW1]]
// CHECK: var.param_grad @shared, %[[DW]] : tensor<4x4xf32>
// CHECK-NOT: var.param_grad
module {
  var.param @shared : tensor<4x4xf32> init xavier_uniform
  func.func @forward(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %w = var.get_param @shared : tensor<4x4xf32>
    %h = var.linear %x, %w : tensor<2x4xf32>, tensor<4x4xf32>
    %w2 = var.get_param @shared : tensor<4x4xf32>
    %h2 = var.linear %h, %w2 : tensor<2x4xf32>, tensor<4x4xf32>
    %sum = var.add %h2, %h : tensor<2x4xf32>, tensor<2x4xf32>
    return %sum : tensor<2x4xf32>
  }
}

// -----

// Squeeze-and-excitation: a broadcast product's gradient is summed back to
// each operand's shape; SiLU and hard-swish differentiate from their inputs,
// sigmoid, ReLU6 from their outputs; a reshape is undone by a reshape.
// CHECK-LABEL: func.func @train_step(
// CHECK: %[[X:.*]] = var.silu %[[CONV:.*]] : tensor<2x4x3x3xf32>
// CHECK: %[[S:.*]] = var.sigmoid %{{.*}} : tensor<2x4x1x1xf32>
// CHECK: %[[M:.*]] = var.mul %[[X]], %[[S]]
// CHECK: %[[HS:.*]] = var.hardswish %[[M]]
// CHECK: %[[R6:.*]] = var.relu6 %[[HS]]
// CHECK: %[[F:.*]] = var.flatten %[[R6]]
// CHECK: %[[D6:.*]] = var.reshape %{{.*}} [2, 4, 3, 3] : tensor<2x36xf32>
// CHECK: %[[DHS:.*]] = var.relu6_grad %[[R6]], %[[D6]]
// CHECK: %[[DM:.*]] = var.hardswish_grad %[[M]], %[[DHS]]
// CHECK: %[[DXS:.*]] = var.mul %[[DM]], %[[S]] : tensor<2x4x3x3xf32>, tensor<2x4x1x1xf32>
// CHECK: %[[DSX:.*]] = var.mul %[[DM]], %[[X]] : tensor<2x4x3x3xf32>, tensor<2x4x3x3xf32>
// CHECK: %[[DS:.*]] = var.reduce_sum %[[DSX]] dims [2, 3] keep_dims : tensor<2x4x3x3xf32>
// CHECK: var.sigmoid_grad %[[S]], %[[DS]] : tensor<2x4x1x1xf32>
// CHECK: var.silu_grad %[[CONV]], %{{.*}} : tensor<2x4x3x3xf32>
module {
  var.param @conv.weight : tensor<4x4x1x1xf32> init kaiming_normal_fan_out
  var.param @fc.weight : tensor<3x36xf32> init xavier_uniform
  func.func @forward(%in: tensor<2x4x3x3xf32>) -> tensor<2x3xf32> {
    %w = var.get_param @conv.weight : tensor<4x4x1x1xf32>
    %c = var.conv %in, %w : tensor<2x4x3x3xf32>, tensor<4x4x1x1xf32>
    %x = var.silu %c : tensor<2x4x3x3xf32>
    %p = var.global_avg_pool %x keep_dims : tensor<2x4x3x3xf32>
    %s = var.sigmoid %p : tensor<2x4x1x1xf32>
    %m = var.mul %x, %s : tensor<2x4x3x3xf32>, tensor<2x4x1x1xf32>
    %hs = var.hardswish %m : tensor<2x4x3x3xf32>
    %r6 = var.relu6 %hs : tensor<2x4x3x3xf32>
    %f = var.flatten %r6 : tensor<2x4x3x3xf32>
    %fw = var.get_param @fc.weight : tensor<3x36xf32>
    %y = var.linear %f, %fw : tensor<2x36xf32>, tensor<3x36xf32>
    return %y : tensor<2x3xf32>
  }
}

// -----

// A bias added by broadcast sums over the leading dimensions; concat is
// undone by slices; the input branch of the concat gets no gradient.
// CHECK-LABEL: func.func @train_step(
// CHECK: %[[CAT:.*]] = var.concat %{{.*}}, %[[IN:.*]] axis 1
// CHECK: %[[DCAT:.*]] = var.linear_grad_input
// CHECK: %[[DA:.*]] = var.slice %[[DCAT]] axis 1 offset 0 size 3 : tensor<2x5xf32>
// CHECK-NOT: var.slice
// CHECK: %[[DB:.*]] = var.reduce_sum %[[DA]] dims [0] keep_dims : tensor<2x3xf32>
// CHECK: %[[DBR:.*]] = var.reshape %[[DB]] [3] : tensor<1x3xf32>
// CHECK: var.param_grad @bias, %[[DBR]] : tensor<3xf32>
module {
  var.param @bias : tensor<3xf32> init zeros
  var.param @fc.weight : tensor<2x5xf32> init xavier_uniform
  func.func @forward(%x: tensor<2x3xf32>, %in: tensor<2x2xf32>) -> tensor<2x2xf32> {
    %b = var.get_param @bias : tensor<3xf32>
    %a = var.add %x, %b : tensor<2x3xf32>, tensor<3xf32>
    %cat = var.concat %a, %in axis 1 : tensor<2x3xf32>, tensor<2x2xf32>
    %fw = var.get_param @fc.weight : tensor<2x5xf32>
    %y = var.linear %cat, %fw : tensor<2x5xf32>, tensor<2x5xf32>
    return %y : tensor<2x2xf32>
  }
}

// -----

// CNN-LSTM head: only the last hidden state is used, so the sequence's
// gradient is zero; the recurrent weights get their gradients from lstm_grad.
// CHECK-LABEL: func.func @train_step(
// CHECK: %{{.*}}, %[[LAST:.*]] = var.lstm
// CHECK: %[[DLAST:.*]] = var.linear_grad_input
// CHECK: %[[ZERO:.*]] = var.fill 0.000000e+00 : tensor<2x3x4xf32>
// CHECK: %{{[^,]*}}, %[[DWIH:[^,]*]], %[[DWHH:[^,]*]], %[[DBIH:[^,]*]], %[[DBHH:[^,]*]] = var.lstm_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ZERO]], %[[DLAST]]
// CHECK-DAG: var.param_grad @lstm.weight_ih, %[[DWIH]]
// CHECK-DAG: var.param_grad @lstm.weight_hh, %[[DWHH]]
// CHECK-DAG: var.param_grad @lstm.bias_ih, %[[DBIH]]
// CHECK-DAG: var.param_grad @lstm.bias_hh, %[[DBHH]]
module {
  var.param @lstm.weight_ih : tensor<16x5xf32> init uniform(0.5)
  var.param @lstm.weight_hh : tensor<16x4xf32> init uniform(0.5)
  var.param @lstm.bias_ih : tensor<16xf32> init uniform(0.5)
  var.param @lstm.bias_hh : tensor<16xf32> init uniform(0.5)
  var.param @fc.weight : tensor<7x4xf32> init xavier_uniform
  func.func @forward(%x: tensor<2x3x5xf32>) -> tensor<2x7xf32> {
    %wih = var.get_param @lstm.weight_ih : tensor<16x5xf32>
    %whh = var.get_param @lstm.weight_hh : tensor<16x4xf32>
    %bih = var.get_param @lstm.bias_ih : tensor<16xf32>
    %bhh = var.get_param @lstm.bias_hh : tensor<16xf32>
    %seq, %last = var.lstm %x, %wih, %whh, %bih, %bhh
        : tensor<2x3x5xf32>, tensor<16x5xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf32>
    %fw = var.get_param @fc.weight : tensor<7x4xf32>
    %y = var.linear %last, %fw : tensor<2x4xf32>, tensor<7x4xf32>
    return %y : tensor<2x7xf32>
  }
}

// -----

// A transpose's gradient is the transpose by the inverse permutation (a
// 3-cycle, so the inverse is not the forward's own permutation); the clip's
// transpose from (B, C, T) to (B, T, C) gets no backward, its input has none.
// CHECK-LABEL: func.func @train_step(
// CHECK: %[[XT:.*]] = var.transpose %{{.*}} [0, 2, 1] : tensor<2x4x3xf32>
// CHECK: %[[H:.*]] = var.linear %[[XT]]
// CHECK: %[[THERE:.*]] = var.transpose %[[H]] [1, 2, 0] : tensor<2x3x5xf32>
// CHECK: %[[BACK:.*]] = var.transpose %[[THERE]] [2, 0, 1] : tensor<3x5x2xf32>
// CHECK: %[[DF:.*]] = var.linear_grad_input
// CHECK: %[[DBACK:.*]] = var.reshape %[[DF]] [2, 3, 5] : tensor<2x15xf32>
// CHECK: %[[DTHERE:.*]] = var.transpose %[[DBACK]] [1, 2, 0] : tensor<2x3x5xf32>
// CHECK: %[[DH:.*]] = var.transpose %[[DTHERE]] [2, 0, 1] : tensor<3x5x2xf32>
// CHECK-NOT: var.transpose
// CHECK: %[[DW:.*]] = var.linear_grad_weight %[[XT]], %[[DH]] : tensor<2x3x4xf32>, tensor<2x3x5xf32>
// CHECK: var.param_grad @proj.weight, %[[DW]] : tensor<5x4xf32>
module {
  var.param @proj.weight : tensor<5x4xf32> init xavier_uniform
  var.param @fc.weight : tensor<3x15xf32> init xavier_uniform
  func.func @forward(%x: tensor<2x4x3xf32>) -> tensor<2x3xf32> {
    %xt = var.transpose %x [0, 2, 1] : tensor<2x4x3xf32>
    %pw = var.get_param @proj.weight : tensor<5x4xf32>
    %h = var.linear %xt, %pw : tensor<2x3x4xf32>, tensor<5x4xf32>
    %there = var.transpose %h [1, 2, 0] : tensor<2x3x5xf32>
    %back = var.transpose %there [2, 0, 1] : tensor<3x5x2xf32>
    %f = var.flatten %back : tensor<2x3x5xf32>
    %fw = var.get_param @fc.weight : tensor<3x15xf32>
    %y = var.linear %f, %fw : tensor<2x15xf32>, tensor<3x15xf32>
    return %y : tensor<2x3xf32>
  }
}
