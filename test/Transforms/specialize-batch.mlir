// --var-specialize-batch with batch 4 on the default entry @forward: the
// leading `?` of every tensor argument becomes 4, every op's result type is
// re-inferred in program order, and the function type follows. The custom
// form prints operand types, so each op's CHECK line shows the type inferred
// for the op before it. Option handling (entry, batch 0, defaults) is in
// specialize-batch-options.mlir.
//
// RUN: var-opt %s --var-specialize-batch=batch=4 -split-input-file -verify-diagnostics | FileCheck %s

// A per-frame CNN over 8-frame clips, like models/basic_cnn.mlir.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%{{.*}}: tensor<4x8x3x32x32xf32>) -> tensor<4x10xf32>
// CHECK: var.fold_time %{{.*}} : tensor<4x8x3x32x32xf32>
// CHECK: var.conv %{{.*}}, %{{.*}} stride [2, 2] padding [1, 1] : tensor<32x3x32x32xf32>, tensor<16x3x3x3xf32>
// CHECK: var.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<32x16x16x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
// CHECK: var.relu %{{.*}} : tensor<32x16x16x16xf32>
// CHECK: var.max_pool %{{.*}} kernel [2, 2] : tensor<32x16x16x16xf32>
// CHECK: var.global_avg_pool %{{.*}} : tensor<32x16x8x8xf32>
// CHECK: var.unfold_time %{{.*}} frames 8 : tensor<32x16xf32>
// CHECK: var.mean_time %{{.*}} : tensor<4x8x16xf32>
// CHECK: var.dropout %{{.*}} p 5.000000e-01 : tensor<4x16xf32>
// CHECK: var.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<4x16xf32>, tensor<10x16xf32>, tensor<10xf32>
// CHECK: return %{{.*}} : tensor<4x10xf32>
var.param @conv1.weight : tensor<16x3x3x3xf32> init kaiming_normal_fan_out
var.param @bn1.weight : tensor<16xf32> init ones
var.param @bn1.bias : tensor<16xf32> init zeros
var.param @bn1.running_mean : tensor<16xf32> init zeros buffer
var.param @bn1.running_var : tensor<16xf32> init ones buffer
var.param @fc.weight : tensor<10x16xf32> init normal(1.000000e-02)
var.param @fc.bias : tensor<10xf32> init zeros

func.func @forward(%clips: tensor<?x8x3x32x32xf32>) -> tensor<?x10xf32> {
  %frames = var.fold_time %clips : tensor<?x8x3x32x32xf32>
  %w1 = var.get_param @conv1.weight : tensor<16x3x3x3xf32>
  %g1 = var.get_param @bn1.weight : tensor<16xf32>
  %b1 = var.get_param @bn1.bias : tensor<16xf32>
  %m1 = var.get_param @bn1.running_mean : tensor<16xf32>
  %v1 = var.get_param @bn1.running_var : tensor<16xf32>
  %c1 = var.conv %frames, %w1 stride [2, 2] padding [1, 1]
      : tensor<?x3x32x32xf32>, tensor<16x3x3x3xf32>
  %n1 = var.batch_norm %c1, %g1, %b1, %m1, %v1 : tensor<?x16x16x16xf32>,
      tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  %r1 = var.relu %n1 : tensor<?x16x16x16xf32>
  %p1 = var.max_pool %r1 kernel [2, 2] : tensor<?x16x16x16xf32>
  %feat = var.global_avg_pool %p1 : tensor<?x16x8x8xf32>
  %per_frame = var.unfold_time %feat frames 8 : tensor<?x16xf32>
  %clip = var.mean_time %per_frame : tensor<?x8x16xf32>
  %drop = var.dropout %clip p 5.000000e-01 : tensor<?x16xf32>
  %fw = var.get_param @fc.weight : tensor<10x16xf32>
  %fb = var.get_param @fc.bias : tensor<10xf32>
  %logits = var.linear %drop, %fw, %fb
      : tensor<?x16xf32>, tensor<10x16xf32>, tensor<10xf32>
  return %logits : tensor<?x10xf32>
}

// -----

// Only the leading dimension is specialized: other dynamic dimensions stay
// dynamic, and arguments that are static, scalar, rank-0 or have a static
// leading dimension are left alone. Other functions are not touched.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%{{.*}}: tensor<4x?x16xf32>, %{{.*}}: tensor<2x?xf32>, %{{.*}}: tensor<f32>, %{{.*}}: i64, %{{.*}}: tensor<4x?x?x?xf32>)
// CHECK-SAME: -> (tensor<4x?x16xf32>, tensor<4x?xf32>, tensor<4x8x?x?xf32>, tensor<2x?xf32>)
// CHECK: var.relu %{{.*}} : tensor<4x?x16xf32>
// CHECK: var.flatten %{{.*}} : tensor<4x?x16xf32>
// CHECK: var.conv %{{.*}}, %{{.*}} : tensor<4x?x?x?xf32>, tensor<8x3x1x1xf32>
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<4x?x16xf32>, tensor<4x?xf32>, tensor<4x8x?x?xf32>, tensor<2x?xf32>
// CHECK-LABEL: func.func @helper
// CHECK-SAME: (%{{.*}}: tensor<?x16xf32>) -> tensor<?x16xf32>
// CHECK: var.sigmoid %{{.*}} : tensor<?x16xf32>
func.func @forward(%x: tensor<?x?x16xf32>, %s: tensor<2x?xf32>,
                   %scalar: tensor<f32>, %n: i64, %img: tensor<?x?x?x?xf32>)
    -> (tensor<?x?x16xf32>, tensor<?x?xf32>, tensor<?x8x?x?xf32>,
        tensor<2x?xf32>) {
  %w = var.get_param @w : tensor<8x3x1x1xf32>
  %0 = var.relu %x : tensor<?x?x16xf32>
  %1 = var.flatten %0 : tensor<?x?x16xf32>
  %2 = var.conv %img, %w : tensor<?x?x?x?xf32>, tensor<8x3x1x1xf32>
  return %0, %1, %2, %s : tensor<?x?x16xf32>, tensor<?x?xf32>,
      tensor<?x8x?x?xf32>, tensor<2x?xf32>
}
var.param @w : tensor<8x3x1x1xf32> init kaiming_uniform

func.func @helper(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %0 = var.sigmoid %x : tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// -----

// The ops whose result shape depends on the batch in other ways: fold_time
// multiplies it, unfold_time divides it, reshape's -1 and concat along the
// batch absorb it, lstm and the loss carry it, broadcasting stretches a
// batch of 1.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%{{.*}}: tensor<4x6x5xf32>, %{{.*}}: tensor<4x96xbf16>, %{{.*}}: tensor<4xi64>, %{{.*}}: tensor<1x5xf32>)
// CHECK-SAME: -> (tensor<24x5xf32>, tensor<12x2x5xf32>, tensor<4x96x1x1xbf16>, tensor<8x96xbf16>, tensor<4x6x4xf32>, tensor<4x4xf32>, tensor<f32>, tensor<4x6x5xf32>, tensor<384xbf16>)
// CHECK: var.fold_time %{{.*}} : tensor<4x6x5xf32>
// CHECK: var.unfold_time %{{.*}} frames 2 : tensor<24x5xf32>
// CHECK: var.reshape %{{.*}} [-1, 96, 1, 1] : tensor<4x96xbf16>
// CHECK: var.concat %{{.*}}, %{{.*}} axis 0 : tensor<4x96xbf16>, tensor<4x96xbf16>
// CHECK: var.lstm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<4x6x5xf32>, tensor<16x5xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf32>
// CHECK: var.linear %{{.*}}, %{{.*}} : tensor<4x4xf32>, tensor<10x4xf32>
// CHECK: var.softmax_cross_entropy %{{.*}}, %{{.*}} : tensor<4x10xf32>, tensor<4xi64>
// CHECK: var.add %{{.*}}, %{{.*}} : tensor<4x6x5xf32>, tensor<1x5xf32>
// CHECK: var.reshape %{{.*}} [-1] : tensor<4x96xbf16>
func.func @forward(%x: tensor<?x6x5xf32>, %h: tensor<?x96xbf16>,
                   %labels: tensor<?xi64>, %one: tensor<1x5xf32>)
    -> (tensor<?x5xf32>, tensor<?x2x5xf32>, tensor<?x96x1x1xbf16>,
        tensor<?x96xbf16>, tensor<?x6x4xf32>, tensor<?x4xf32>, tensor<f32>,
        tensor<?x6x5xf32>, tensor<?xbf16>) {
  %wih = var.get_param @lstm.weight_ih_l0 : tensor<16x5xf32>
  %whh = var.get_param @lstm.weight_hh_l0 : tensor<16x4xf32>
  %bih = var.get_param @lstm.bias_ih_l0 : tensor<16xf32>
  %bhh = var.get_param @lstm.bias_hh_l0 : tensor<16xf32>
  %fw = var.get_param @fc.weight : tensor<10x4xf32>
  %0 = var.fold_time %x : tensor<?x6x5xf32>
  %1 = var.unfold_time %0 frames 2 : tensor<?x5xf32>
  %2 = var.reshape %h [-1, 96, 1, 1] : tensor<?x96xbf16>
  %3 = var.concat %h, %h axis 0 : tensor<?x96xbf16>, tensor<?x96xbf16>
  %seq, %last = var.lstm %x, %wih, %whh, %bih, %bhh : tensor<?x6x5xf32>,
      tensor<16x5xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf32>
  %logits = var.linear %last, %fw : tensor<?x4xf32>, tensor<10x4xf32>
  %loss = var.softmax_cross_entropy %logits, %labels
      : tensor<?x10xf32>, tensor<?xi64>
  %4 = var.add %x, %one : tensor<?x6x5xf32>, tensor<1x5xf32>
  %5 = var.reshape %h [-1] : tensor<?x96xbf16>
  return %0, %1, %2, %3, %seq, %last, %loss, %4, %5
      : tensor<?x5xf32>, tensor<?x2x5xf32>, tensor<?x96x1x1xbf16>,
        tensor<?x96xbf16>, tensor<?x6x4xf32>, tensor<?x4xf32>, tensor<f32>,
        tensor<?x6x5xf32>, tensor<?xbf16>
}
var.param @lstm.weight_ih_l0 : tensor<16x5xf32> init uniform(5.000000e-01)
var.param @lstm.weight_hh_l0 : tensor<16x4xf32> init uniform(5.000000e-01)
var.param @lstm.bias_ih_l0 : tensor<16xf32> init zeros
var.param @lstm.bias_hh_l0 : tensor<16xf32> init zeros
var.param @fc.weight : tensor<10x4xf32> init xavier_uniform

// -----

// A function with no tensor arguments and no results is left as it is.
// CHECK-LABEL: func.func @forward()
// CHECK-NEXT: return
func.func @forward() {
  return
}

// -----

// A static forward stays static.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%{{.*}}: tensor<2x3xf32>) -> tensor<2x3xf32>
func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = var.relu6 %x : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

// -----

// expected-error @+1 {{no function @forward to specialize}}
module {
  func.func @main(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
    return %x : tensor<?x3xf32>
  }
}

// -----

// A var.param named `forward` is not a function.
// expected-error @+1 {{no function @forward to specialize}}
module {
  var.param @forward : tensor<3xf32> init zeros
}

// -----

// expected-error @+1 {{cannot specialize a function without a body}}
func.func private @forward(tensor<?x3xf32>) -> tensor<?x3xf32>

// -----

// 8 frames do not divide a batch of 4 clips.
func.func @forward(%feat: tensor<?x128xf32>) -> tensor<?x8x128xf32> {
  // expected-error @+2 {{'var.unfold_time' op leading dimension 4 is not a multiple of frames 8}}
  // expected-error @+1 {{'var.unfold_time' op has no valid type for batch size 4}}
  %0 = var.unfold_time %feat frames 8 : tensor<?x128xf32>
  return %0 : tensor<?x8x128xf32>
}

// -----

// After a fold, 3 frames do not divide 4 * 2 = 8 either; the error is at the
// unfold, not at the ops before it.
func.func @forward(%x: tensor<?x2x5xf32>) -> tensor<?x3x5xf32> {
  %0 = var.fold_time %x : tensor<?x2x5xf32>
  %1 = var.relu %0 : tensor<?x5xf32>
  // expected-error @+2 {{'var.unfold_time' op leading dimension 8 is not a multiple of frames 3}}
  // expected-error @+1 {{'var.unfold_time' op has no valid type for batch size 4}}
  %2 = var.unfold_time %1 frames 3 : tensor<?x5xf32>
  return %2 : tensor<?x3x5xf32>
}

// -----

func.func @forward(%x: tensor<?x8xf32>) -> tensor<3x?xf32> {
  // expected-error @+2 {{'var.reshape' op cannot reshape 32 elements (4x8) into (3x-1)}}
  // expected-error @+1 {{'var.reshape' op has no valid type for batch size 4}}
  %0 = var.reshape %x [3, -1] : tensor<?x8xf32>
  return %0 : tensor<3x?xf32>
}

// -----

// A batch-sized operand meets a tensor with a fixed batch of 2 (which the
// unspecialized inference took for the batch).
var.param @anchor : tensor<2x3xf32> init zeros
func.func @forward(%x: tensor<?x3xf32>) -> tensor<2x3xf32> {
  %a = var.get_param @anchor : tensor<2x3xf32>
  // expected-error @+2 {{'var.add' op shapes (4x3) and (2x3) do not broadcast}}
  // expected-error @+1 {{'var.add' op has no valid type for batch size 4}}
  %0 = var.add %x, %a : tensor<?x3xf32>, tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @forward(%x: tensor<?x3xf32>, %y: tensor<2x3xf32>) -> tensor<2x6xf32> {
  // expected-error @+2 {{'var.concat' op input 1 has size 2 in dimension 0 where input 0 has 4}}
  // expected-error @+1 {{'var.concat' op has no valid type for batch size 4}}
  %0 = var.concat %x, %y axis 1 : tensor<?x3xf32>, tensor<2x3xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @forward(%logits: tensor<?x10xf32>, %labels: tensor<8xi64>) -> tensor<f32> {
  // expected-error @+2 {{'var.softmax_cross_entropy' op batch of logits (4) and labels (8) differ}}
  // expected-error @+1 {{'var.softmax_cross_entropy' op has no valid type for batch size 4}}
  %0 = var.softmax_cross_entropy %logits, %labels : tensor<?x10xf32>, tensor<8xi64>
  return %0 : tensor<f32>
}

// -----

// An op that does not infer its result types cannot be re-typed.
func.func @helper(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  return %x : tensor<?x3xf32>
}
func.func @forward(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  // expected-error @+1 {{'func.call' op does not infer its result types, so its batch cannot be specialized}}
  %0 = func.call @helper(%x) : (tensor<?x3xf32>) -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}
