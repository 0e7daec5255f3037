// An expected-error for every verifier rule of the dist dialect.
//
// RUN: var-opt %s -split-input-file -verify-diagnostics

// bucket element type
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
// expected-error @+1 {{'dist.bucket' op element type 'i32' is not a float type}}
dist.bucket @x params [@w] offsets [0] numel 128 : i32

// -----

// empty bucket
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
// expected-error @+1 {{'dist.bucket' op holds no parameters}}
dist.bucket @x params [] offsets [] numel 64 : bf16

// -----

// offset count
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
// expected-error @+1 {{'dist.bucket' op has 2 parameters but 1 offsets}}
dist.bucket @x params [@w, @b] offsets [0] numel 192 : bf16

// -----

// unaligned offset
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
// expected-error @+1 {{'dist.bucket' op offsets must increase and be multiples of 64, got 120 after 0}}
dist.bucket @x params [@w, @b] offsets [0, 120] numel 192 : bf16

// -----

// decreasing offset
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
// expected-error @+1 {{'dist.bucket' op offsets must increase and be multiples of 64, got 0 after 128}}
dist.bucket @x params [@w, @b] offsets [128, 0] numel 192 : bf16

// -----

// numel short
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
// expected-error @+1 {{'dist.bucket' op numel 128 ends before the last parameter's offset 128}}
dist.bucket @x params [@w, @b] offsets [0, 128] numel 128 : bf16

// -----

// duplicate
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
// expected-error @+1 {{'dist.bucket' op lists parameter @w twice}}
dist.bucket @x params [@w, @w] offsets [0, 128] numel 256 : bf16

// -----

// undefined param
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
// expected-error @+1 {{'dist.bucket' op references undefined parameter @nope}}
dist.bucket @x params [@nope] offsets [0] numel 64 : bf16

// -----

// buffer
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
// expected-error @+1 {{'dist.bucket' op parameter @m is a buffer; buckets hold trainable parameters}}
dist.bucket @x params [@m] offsets [0] numel 64 : bf16

// -----

// overrun
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
// expected-error @+1 {{'dist.bucket' op parameter @w (120 elements at offset 0) overruns its slot, which ends at 64}}
dist.bucket @x params [@w, @b] offsets [0, 64] numel 128 : bf16

// -----

// pack undefined
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
dist.bucket @bk params [@w, @b] offsets [0, 128] numel 192 state ["exp_avg", "exp_avg_sq"] : bf16
func.func @f(%g: tensor<4xbf16>) {
  // expected-error @+1 {{'dist.pack' op references undefined bucket @nope}}
  %p = dist.pack @nope(%g) : tensor<4xbf16> -> tensor<64xbf16>
  return
}

// -----

// pack result
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
dist.bucket @bk params [@w, @b] offsets [0, 128] numel 192 state ["exp_avg", "exp_avg_sq"] : bf16
func.func @f(%gw: tensor<4x30xbf16>, %gb: tensor<4xbf16>) {
  // expected-error @+1 {{'dist.pack' op result type 'tensor<128xbf16>' is not the full bucket @bk ('tensor<192xbf16>')}}
  %p = dist.pack @bk(%gw, %gb) : tensor<4x30xbf16>, tensor<4xbf16> -> tensor<128xbf16>
  return
}

// -----

// pack count
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
dist.bucket @bk params [@w, @b] offsets [0, 128] numel 192 state ["exp_avg", "exp_avg_sq"] : bf16
func.func @f(%gw: tensor<4x30xbf16>) {
  // expected-error @+1 {{'dist.pack' op packs 1 gradients into bucket @bk of 2 parameters}}
  %p = dist.pack @bk(%gw) : tensor<4x30xbf16> -> tensor<192xbf16>
  return
}

// -----

// pack grad type
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
dist.bucket @bk params [@w, @b] offsets [0, 128] numel 192 state ["exp_avg", "exp_avg_sq"] : bf16
func.func @f(%gw: tensor<4x30xf32>, %gb: tensor<4xbf16>) {
  // expected-error @+1 {{'dist.pack' op gradient type 'tensor<4x30xf32>' does not fit parameter @w in bucket @bk of 'bf16'}}
  %p = dist.pack @bk(%gw, %gb) : tensor<4x30xf32>, tensor<4xbf16> -> tensor<192xbf16>
  return
}

// -----

// unpack operand
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
dist.bucket @bk params [@w, @b] offsets [0, 128] numel 192 state ["exp_avg", "exp_avg_sq"] : bf16
func.func @f(%f: tensor<?xbf16>) {
  // expected-error @+1 {{'dist.unpack' op operand type 'tensor<?xbf16>' is not the full bucket @bk ('tensor<192xbf16>')}}
  %b = dist.unpack @bk, @b from %f : tensor<?xbf16> -> tensor<4xbf16>
  return
}

// -----

// unpack param
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
dist.bucket @bk params [@w, @b] offsets [0, 128] numel 192 state ["exp_avg", "exp_avg_sq"] : bf16
func.func @f(%f: tensor<192xbf16>) {
  // expected-error @+1 {{'dist.unpack' op parameter @m is not in bucket @bk}}
  %b = dist.unpack @bk, @m from %f : tensor<192xbf16> -> tensor<4xbf16>
  return
}

// -----

// unpack result
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
dist.bucket @bk params [@w, @b] offsets [0, 128] numel 192 state ["exp_avg", "exp_avg_sq"] : bf16
func.func @f(%f: tensor<192xbf16>) {
  // expected-error @+1 {{'dist.unpack' op result type 'tensor<4xf32>' is not parameter @b in 'bf16'}}
  %b = dist.unpack @bk, @b from %f : tensor<192xbf16> -> tensor<4xf32>
  return
}

// -----

// reduce_scatter
func.func @f(%f: tensor<?xbf16>) {
  // expected-error @+1 {{'dist.reduce_scatter' op goes between a full bucket (static size) and a shard (dynamic size) of one element type, got 'tensor<?xbf16>' -> 'tensor<?xbf16>'}}
  %s = dist.reduce_scatter %f : tensor<?xbf16> -> tensor<?xbf16>
  return
}

// -----

// all_gather
func.func @f(%s: tensor<?xbf16>) {
  // expected-error @+1 {{'dist.all_gather' op goes between a full bucket (static size) and a shard (dynamic size) of one element type, got 'tensor<?xbf16>' -> 'tensor<64xf32>'}}
  %f = dist.all_gather %s : tensor<?xbf16> -> tensor<64xf32>
  return
}

// -----

// load
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
dist.bucket @bk params [@w, @b] offsets [0, 128] numel 192 state ["exp_avg", "exp_avg_sq"] : bf16
func.func @f() {
  // expected-error @+1 {{'dist.load_params' op result type 'tensor<64xbf16>' is neither bucket @bk ('tensor<192xbf16>') nor its shard ('tensor<?xbf16>')}}
  %l = dist.load_params @bk : tensor<64xbf16>
  return
}

// -----

// store
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
dist.bucket @bk params [@w, @b] offsets [0, 128] numel 192 state ["exp_avg", "exp_avg_sq"] : bf16
func.func @f(%v: tensor<?xf32>) {
  // expected-error @+1 {{'dist.store_params' op value type 'tensor<?xf32>' is neither bucket @bk ('tensor<192xbf16>') nor its shard ('tensor<?xbf16>')}}
  dist.store_params @bk, %v : tensor<?xf32>
  return
}

// -----

// update grad
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
dist.bucket @bk params [@w, @b] offsets [0, 128] numel 192 state ["exp_avg", "exp_avg_sq"] : bf16
func.func @f(%g: tensor<64xbf16>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'dist.adamw_update' op grad type 'tensor<64xbf16>' is neither bucket @bk ('tensor<192xbf16>') nor its shard ('tensor<?xbf16>')}}
  %m = dist.adamw_update @bk, %g lr %lr step %step betas(0.9, 0.999) eps 1.0e-8 weight_decay 0.0 : tensor<64xbf16> -> tensor<64xf32>
  return
}

// -----

// update result
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
dist.bucket @bk params [@w, @b] offsets [0, 128] numel 192 state ["exp_avg", "exp_avg_sq"] : bf16
func.func @f(%g: tensor<?xbf16>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'dist.adamw_update' op result type 'tensor<?xbf16>' must be the f32 master of grad type 'tensor<?xbf16>'}}
  %m = dist.adamw_update @bk, %g lr %lr step %step betas(0.9, 0.999) eps 1.0e-8 weight_decay 0.0 : tensor<?xbf16> -> tensor<?xbf16>
  return
}

// -----

// update state
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
dist.bucket @bk params [@w, @b] offsets [0, 128] numel 192 state ["exp_avg", "exp_avg_sq"] : bf16
func.func @f(%g: tensor<?xbf16>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'dist.sgd_update' op bucket @bk keeps state [exp_avg, exp_avg_sq], this optimizer needs [momentum_buffer]}}
  %m = dist.sgd_update @bk, %g lr %lr step %step momentum 0.9 dampening 0.0 weight_decay 0.0 : tensor<?xbf16> -> tensor<?xf32>
  return
}

// -----

// update undefined
var.param @w : tensor<4x30xf32> init xavier_uniform
var.param @b : tensor<4xf32> init zeros
var.param @m : tensor<4xf32> init zeros buffer
dist.bucket @bk params [@w, @b] offsets [0, 128] numel 192 state ["exp_avg", "exp_avg_sq"] : bf16
func.func @f(%g: tensor<?xbf16>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'dist.adamw_update' op references undefined bucket @nope}}
  %m = dist.adamw_update @nope, %g lr %lr step %step betas(0.9, 0.999) eps 1.0e-8 weight_decay 0.0 : tensor<?xbf16> -> tensor<?xf32>
  return
}

// -----

// bad stream
func.func @f() {
  // expected-error @+1 {{'dist.record_event' op stream "gpu" is not compute, comm, copy or host}}
  dist.record_event 0 on "gpu"
  return
}

// -----

// negative event
func.func @f() {
  // expected-error @+1 {{'dist.wait_event' op event number must not be negative, got -1}}
  dist.wait_event "comm" waits -1
  return
}

// -----

// max_norm
func.func @f(%s: tensor<1xf32>) {
  // expected-error @+1 {{'dist.clip_coefficient' op max_norm must be positive and finite, got 0}}
  %c = dist.clip_coefficient %s max_norm 0.0
  return
}
