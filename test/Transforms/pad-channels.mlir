// --var-pad-channels: which convolutions get their output channels padded,
// and how every read of a parameter, buffer or filter is padded while the
// parameters keep their shapes.
//
// RUN: var-opt %s -split-input-file --var-pad-channels | FileCheck %s
// RUN: var-opt %s -split-input-file --var-pad-channels="multiple=4 any-layout=true" | FileCheck %s --check-prefix=ANY

// A conv with 3 output channels (and a bias) hands them through batch norm
// and ReLU to a 1x1 conv: 3 -> 8. The filters get 5 zero rows, the bias 5
// zeros, the batch norm's weight, bias and mean zeros and its variance ones,
// the consumer's filters 5 zero input channels.
// CHECK-LABEL: func.func @forward(
// CHECK: %[[W1:.*]] = var.get_param @c1.weight : tensor<3x4x3x3xf32>
// CHECK: %[[B1:.*]] = var.get_param @c1.bias : tensor<3xf32>
// CHECK: %[[Z:.*]] = var.fill 0.000000e+00 : tensor<5x4x3x3xf32>
// CHECK-NEXT: %[[W1P:.*]] = var.concat %[[W1]], %[[Z]] axis 0 : tensor<3x4x3x3xf32>, tensor<5x4x3x3xf32>
// CHECK-NEXT: %[[ZB:.*]] = var.fill 0.000000e+00 : tensor<5xf32>
// CHECK-NEXT: %[[B1P:.*]] = var.concat %[[B1]], %[[ZB]] axis 0 : tensor<3xf32>, tensor<5xf32>
// CHECK-NEXT: %[[C1:.*]] = var.conv %{{.*}}, %[[W1P]], %[[B1P]] padding [1, 1] channels_last : tensor<2x8x8x4xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>
// CHECK: var.concat %{{.*}}, %{{.*}} axis 0 : tensor<3xf32>, tensor<5xf32>
// CHECK: var.concat %{{.*}}, %{{.*}} axis 0 : tensor<3xf32>, tensor<5xf32>
// CHECK: var.concat %{{.*}}, %{{.*}} axis 0 : tensor<3xf32>, tensor<5xf32>
// CHECK: %[[ONE:.*]] = var.fill 1.000000e+00 : tensor<5xf32>
// CHECK-NEXT: %[[VARP:.*]] = var.concat %{{.*}}, %[[ONE]] axis 0 : tensor<3xf32>, tensor<5xf32>
// CHECK-NEXT: %[[BN:.*]] = var.batch_norm %[[C1]], %{{.*}}, %{{.*}}, %{{.*}}, %[[VARP]] channels_last : tensor<2x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
// CHECK-NEXT: %[[R:.*]] = var.relu %[[BN]] : tensor<2x8x8x8xf32>
// CHECK-NEXT: var.get_param @c2.weight : tensor<6x3x1x1xf32>
// CHECK-NEXT: %[[Z2:.*]] = var.fill 0.000000e+00 : tensor<6x5x1x1xf32>
// CHECK-NEXT: %[[W2P:.*]] = var.concat %{{.*}}, %[[Z2]] axis 1 : tensor<6x3x1x1xf32>, tensor<6x5x1x1xf32>
// CHECK-NEXT: %[[C2:.*]] = var.conv %[[R]], %[[W2P]] channels_last : tensor<2x8x8x8xf32>, tensor<6x8x1x1xf32>
// CHECK-NEXT: return %[[C2]] : tensor<2x8x8x6xf32>

// ANY-LABEL: func.func @forward(
// ANY: var.conv %{{.*}}, %{{.*}}, %{{.*}} padding [1, 1] channels_last : tensor<2x8x8x4xf32>, tensor<4x4x3x3xf32>, tensor<4xf32>
// ANY: var.conv %{{.*}}, %{{.*}} channels_last : tensor<2x8x8x4xf32>, tensor<6x4x1x1xf32>
module {
  var.param @c1.weight : tensor<3x4x3x3xf32> init kaiming_normal_fan_in
  var.param @c1.bias : tensor<3xf32> init zeros
  var.param @bn.weight : tensor<3xf32> init ones
  var.param @bn.bias : tensor<3xf32> init zeros
  var.param @bn.running_mean : tensor<3xf32> init zeros buffer
  var.param @bn.running_var : tensor<3xf32> init ones buffer
  var.param @c2.weight : tensor<6x3x1x1xf32> init kaiming_normal_fan_in
  func.func @forward(%x: tensor<2x8x8x4xf32>) -> tensor<2x8x8x6xf32> {
    %w1 = var.get_param @c1.weight : tensor<3x4x3x3xf32>
    %b1 = var.get_param @c1.bias : tensor<3xf32>
    %c1 = var.conv %x, %w1, %b1 padding [1, 1] channels_last : tensor<2x8x8x4xf32>, tensor<3x4x3x3xf32>, tensor<3xf32>
    %g = var.get_param @bn.weight : tensor<3xf32>
    %b = var.get_param @bn.bias : tensor<3xf32>
    %m = var.get_param @bn.running_mean : tensor<3xf32>
    %v = var.get_param @bn.running_var : tensor<3xf32>
    %bn = var.batch_norm %c1, %g, %b, %m, %v channels_last : tensor<2x8x8x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
    %r = var.relu %bn : tensor<2x8x8x3xf32>
    %w2 = var.get_param @c2.weight : tensor<6x3x1x1xf32>
    %c2 = var.conv %r, %w2 channels_last : tensor<2x8x8x3xf32>, tensor<6x3x1x1xf32>
    return %c2 : tensor<2x8x8x6xf32>
  }
}

// -----

// Two convolutions read the same activated channels (and a relu6 and a
// cast lie between): both get zero input channels, from one padding of the
// producer. A conv that already has a multiple keeps its channels.
// CHECK-LABEL: func.func @forward(
// CHECK: var.conv %{{.*}}, %{{.*}} channels_last : tensor<1x4x4x8xbf16>, tensor<8x8x1x1xbf16>
// CHECK: var.concat %{{.*}}, %{{.*}} axis 0 : tensor<5x8x1x1xbf16>, tensor<3x8x1x1xbf16>
// CHECK: var.conv %{{.*}}, %{{.*}} channels_last : tensor<1x4x4x8xbf16>, tensor<8x8x1x1xbf16>
// CHECK-NEXT: var.relu6 %{{.*}} : tensor<1x4x4x8xbf16>
// CHECK-NEXT: var.cast %{{.*}} : tensor<1x4x4x8xbf16> to tensor<1x4x4x8xf32>
// CHECK-NEXT: var.fill 0.000000e+00 : tensor<2x3x1x1xf32>
// CHECK-NEXT: var.concat %{{.*}}, %{{.*}} axis 1 : tensor<2x5x1x1xf32>, tensor<2x3x1x1xf32>
// CHECK-NEXT: var.conv %{{.*}}, %{{.*}} channels_last : tensor<1x4x4x8xf32>, tensor<2x8x1x1xf32>
// CHECK-NEXT: var.fill 0.000000e+00 : tensor<3x3x1x1xf32>
// CHECK-NEXT: var.concat %{{.*}}, %{{.*}} axis 1 : tensor<3x5x1x1xf32>, tensor<3x3x1x1xf32>
// CHECK-NEXT: var.conv %{{.*}}, %{{.*}} channels_last : tensor<1x4x4x8xf32>, tensor<3x8x1x1xf32>
// ANY-LABEL: func.func @forward(
// ANY: var.conv %{{.*}}, %{{.*}} channels_last : tensor<1x4x4x8xf32>, tensor<3x8x1x1xf32>
func.func @forward(%x: tensor<1x4x4x8xbf16>, %w0: tensor<8x8x1x1xbf16>, %w1: tensor<5x8x1x1xbf16>,
                   %w2: tensor<2x5x1x1xf32>, %w3: tensor<3x5x1x1xf32>)
    -> (tensor<1x4x4x2xf32>, tensor<1x4x4x3xf32>) {
  %0 = var.conv %x, %w0 channels_last : tensor<1x4x4x8xbf16>, tensor<8x8x1x1xbf16>
  %1 = var.conv %0, %w1 channels_last : tensor<1x4x4x8xbf16>, tensor<5x8x1x1xbf16>
  %2 = var.relu6 %1 : tensor<1x4x4x5xbf16>
  %3 = var.cast %2 : tensor<1x4x4x5xbf16> to tensor<1x4x4x5xf32>
  %4 = var.conv %3, %w2 channels_last : tensor<1x4x4x5xf32>, tensor<2x5x1x1xf32>
  %5 = var.conv %3, %w3 channels_last : tensor<1x4x4x5xf32>, tensor<3x5x1x1xf32>
  return %4, %5 : tensor<1x4x4x2xf32>, tensor<1x4x4x3xf32>
}

// -----

// Left alone: channels that also reach a residual add, the function's
// result, a depthwise consumer, or a conv of the other layout; and an NCHW
// chain (unless any-layout, which pads it to a multiple of 4).
// CHECK-LABEL: func.func @forward(
// CHECK-NOT: var.concat
// CHECK: return
// ANY-LABEL: func.func @forward(
// ANY-COUNT-2: var.concat
// ANY-NOT: var.concat
// ANY: var.conv %{{.*}}, %{{.*}} : tensor<1x4x4x4xf32>, tensor<2x4x1x1xf32>
// ANY: return
func.func @forward(%x: tensor<1x4x4x8xf32>, %w: tensor<3x8x1x1xf32>, %wa: tensor<3x3x1x1xf32>,
                   %wd: tensor<3x1x3x3xf32>, %xn: tensor<1x8x4x4xf32>,
                   %wn: tensor<3x8x1x1xf32>, %wn2: tensor<2x3x1x1xf32>)
    -> (tensor<1x4x4x3xf32>, tensor<1x4x4x3xf32>, tensor<1x4x4x3xf32>, tensor<1x2x4x4xf32>) {
  %a = var.conv %x, %w channels_last : tensor<1x4x4x8xf32>, tensor<3x8x1x1xf32>
  %a1 = var.conv %a, %wa channels_last : tensor<1x4x4x3xf32>, tensor<3x3x1x1xf32>
  %a2 = var.add %a, %a1 : tensor<1x4x4x3xf32>, tensor<1x4x4x3xf32>
  %b = var.conv %x, %w channels_last : tensor<1x4x4x8xf32>, tensor<3x8x1x1xf32>
  %b1 = var.conv %b, %wa channels_last : tensor<1x4x4x3xf32>, tensor<3x3x1x1xf32>
  %c = var.conv %x, %w channels_last : tensor<1x4x4x8xf32>, tensor<3x8x1x1xf32>
  %c1 = var.conv %c, %wd padding [1, 1] groups 3 channels_last : tensor<1x4x4x3xf32>, tensor<3x1x3x3xf32>
  %n = var.conv %xn, %wn : tensor<1x8x4x4xf32>, tensor<3x8x1x1xf32>
  %n1 = var.conv %n, %wn2 : tensor<1x3x4x4xf32>, tensor<2x3x1x1xf32>
  return %a2, %b, %c1, %n1 : tensor<1x4x4x3xf32>, tensor<1x4x4x3xf32>, tensor<1x4x4x3xf32>, tensor<1x2x4x4xf32>
}
