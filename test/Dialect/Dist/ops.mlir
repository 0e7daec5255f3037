// Round trip of every dist op through the custom form, twice, and the
// generic form.
//
// RUN: var-opt %s | FileCheck %s
// RUN: var-opt %s | var-opt | FileCheck %s
// RUN: var-opt %s --mlir-print-op-generic | var-opt | FileCheck %s

var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @v : tensor<8xf32> init zeros
// CHECK: dist.bucket @bucket0 params [@w, @b] offsets [0, 128] numel 192 state ["exp_avg", "exp_avg_sq"] : bf16{{$}}
dist.bucket @bucket0 params [@w, @b] offsets [0, 128] numel 192
    state ["exp_avg", "exp_avg_sq"] : bf16
// CHECK: dist.bucket @bucket1 params [@v] offsets [0] numel 64 : f32{{$}}
dist.bucket @bucket1 params [@v] offsets [0] numel 64 : f32

// CHECK-LABEL: func.func @collectives
// CHECK: %[[P:.*]] = dist.pack @bucket0(%{{.*}}, %{{.*}}) : tensor<4x30xbf16>, tensor<4xbf16> -> tensor<192xbf16>{{$}}
// CHECK: dist.pack @bucket0(%{{.*}}, %{{.*}}) accumulate : tensor<4x30xbf16>, tensor<4xbf16> -> tensor<192xbf16>{{$}}
// CHECK: dist.all_reduce %[[P]] : tensor<192xbf16>{{$}}
// CHECK: %[[S:.*]] = dist.reduce_scatter %[[P]] : tensor<192xbf16> -> tensor<?xbf16>{{$}}
// CHECK: dist.reduce_scatter %[[P]] accumulate : tensor<192xbf16> -> tensor<?xbf16>{{$}}
// CHECK: %[[F:.*]] = dist.all_gather %[[S]] : tensor<?xbf16> -> tensor<192xbf16>{{$}}
// CHECK: dist.unpack @bucket0, @b from %[[F]] : tensor<192xbf16> -> tensor<4xbf16>{{$}}
// CHECK: dist.release %[[F]] : tensor<192xbf16>{{$}}
func.func @collectives(%gw: tensor<4x30xbf16>, %gb: tensor<4xbf16>) -> tensor<4xbf16> {
  %p = dist.pack @bucket0(%gw, %gb) : tensor<4x30xbf16>, tensor<4xbf16> -> tensor<192xbf16>
  %acc = dist.pack @bucket0(%gw, %gb) accumulate : tensor<4x30xbf16>, tensor<4xbf16> -> tensor<192xbf16>
  %r = dist.all_reduce %p : tensor<192xbf16>
  %s = dist.reduce_scatter %p : tensor<192xbf16> -> tensor<?xbf16>
  %sa = dist.reduce_scatter %p accumulate : tensor<192xbf16> -> tensor<?xbf16>
  %f = dist.all_gather %s : tensor<?xbf16> -> tensor<192xbf16>
  %b = dist.unpack @bucket0, @b from %f : tensor<192xbf16> -> tensor<4xbf16>
  dist.release %f : tensor<192xbf16>
  return %b : tensor<4xbf16>
}

// CHECK-LABEL: func.func @clipping
// CHECK: %[[SS:.*]] = dist.sum_squares(%{{.*}}, %{{.*}}) : tensor<?xbf16>, tensor<64xf32>{{$}}
// CHECK: %[[ALL:.*]] = dist.all_reduce %[[SS]] sum : tensor<1xf32>{{$}}
// CHECK: %[[C:.*]] = dist.clip_coefficient %[[ALL]] max_norm 1.000000e+00{{$}}
// CHECK: dist.sgd_update @bucket1, %{{.*}} lr %{{.*}} step %{{.*}} clip %[[C]] momentum 0.000000e+00 dampening 0.000000e+00 weight_decay 0.000000e+00 : tensor<64xf32> -> tensor<64xf32>{{$}}
func.func @clipping(%a: tensor<?xbf16>, %b: tensor<64xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  %ss = dist.sum_squares(%a, %b) : tensor<?xbf16>, tensor<64xf32>
  %all = dist.all_reduce %ss sum : tensor<1xf32>
  %c = dist.clip_coefficient %all max_norm 1.0
  %m = dist.sgd_update @bucket1, %b lr %lr step %step clip %c momentum 0.0
      dampening 0.0 weight_decay 0.0 : tensor<64xf32> -> tensor<64xf32>
  return
}

// CHECK-LABEL: func.func @events
// CHECK: dist.record_event 0 on "comm"{{$}}
// CHECK: dist.wait_event "compute" waits 0{{$}}
func.func @events() {
  dist.record_event 0 on "comm"
  dist.wait_event "compute" waits 0
  return
}

// CHECK-LABEL: func.func @updates
// CHECK: %[[L:.*]] = dist.load_params @bucket0 : tensor<?xbf16>{{$}}
// CHECK: %[[D:.*]] = dist.to_device %[[L]] : tensor<?xbf16>{{$}}
// CHECK: %[[H:.*]] = dist.to_host %{{.*}} : tensor<?xbf16>{{$}}
// CHECK: dist.adamw_update @bucket0, %[[H]] lr %{{.*}} step %{{.*}} betas(9.000000e-01, 0.99899999999999999) eps 1.000000e-08 weight_decay 1.000000e-02 on_host : tensor<?xbf16> -> tensor<?xf32>{{$}}
// CHECK: dist.adamw_update @bucket0, %{{.*}} lr %{{.*}} step %{{.*}} betas(0.000000e+00, 5.000000e-01) eps 1.000000e+00 weight_decay 0.000000e+00 : tensor<192xbf16> -> tensor<192xf32>{{$}}
// CHECK: dist.sgd_update @bucket1, %{{.*}} lr %{{.*}} step %{{.*}} momentum 0.000000e+00 dampening 0.000000e+00 weight_decay 0.000000e+00 : tensor<?xf32> -> tensor<?xf32>{{$}}
// CHECK: dist.store_params @bucket0, %{{.*}} : tensor<?xbf16>{{$}}
// CHECK: dist.store_params @bucket1, %{{.*}} : tensor<64xf32>{{$}}
func.func @updates(%g: tensor<?xbf16>, %full: tensor<192xbf16>, %g1: tensor<?xf32>,
                   %p1: tensor<64xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  %l = dist.load_params @bucket0 : tensor<?xbf16>
  %d = dist.to_device %l : tensor<?xbf16>
  %h = dist.to_host %g : tensor<?xbf16>
  %m = dist.adamw_update @bucket0, %h lr %lr step %step betas(0.9, 0.999)
      eps 1.0e-8 weight_decay 0.01 on_host : tensor<?xbf16> -> tensor<?xf32>
  %m2 = dist.adamw_update @bucket0, %full lr %lr step %step betas(0.0, 0.5)
      eps 1.0 weight_decay 0.0 : tensor<192xbf16> -> tensor<192xf32>
  %m3 = dist.sgd_update @bucket1, %g1 lr %lr step %step momentum 0.0
      dampening 0.0 weight_decay 0.0 : tensor<?xf32> -> tensor<?xf32>
  dist.store_params @bucket0, %d : tensor<?xbf16>
  dist.store_params @bucket1, %p1 : tensor<64xf32>
  return
}
