// Round trip of var.conv: every optional attribute and operand form, through
// the custom form, twice, and through the generic form. The custom form prints
// no result types, so each function returns the results it checks: the
// func.return verifier pins the inferred types to the declared signature, and
// the CHECK on the signature pins the printed form.
//
// RUN: var-opt %s | FileCheck %s
// RUN: var-opt %s | var-opt | FileCheck %s
// RUN: var-opt %s --mlir-print-op-generic | var-opt | FileCheck %s

//===----------------------------------------------------------------------===//
// var.conv
//===----------------------------------------------------------------------===//

// No bias, no attributes: stride 1, padding 0, dilation 1, groups 1.
// CHECK-LABEL: func.func @conv2d_plain
// CHECK-SAME: -> tensor<?x16x6x6xf32>
// CHECK: var.conv %{{.*}}, %{{.*}} : tensor<?x8x8x8xf32>, tensor<16x8x3x3xf32>{{$}}
func.func @conv2d_plain(%x: tensor<?x8x8x8xf32>, %w: tensor<16x8x3x3xf32>)
    -> tensor<?x16x6x6xf32> {
  %0 = var.conv %x, %w : tensor<?x8x8x8xf32>, tensor<16x8x3x3xf32>
  return %0 : tensor<?x16x6x6xf32>
}

// Bias, stride and padding: (32 + 2 - 3) / 2 + 1 = 16 by (20 + 2 - 3) / 1 + 1.
// CHECK-LABEL: func.func @conv2d_bias_stride_padding
// CHECK-SAME: -> tensor<2x16x16x20xf32>
// CHECK: var.conv %{{.*}}, %{{.*}}, %{{.*}} stride [2, 1] padding [1, 1] : tensor<2x8x32x20xf32>, tensor<16x8x3x3xf32>, tensor<16xf32>{{$}}
func.func @conv2d_bias_stride_padding(%x: tensor<2x8x32x20xf32>,
                                      %w: tensor<16x8x3x3xf32>,
                                      %b: tensor<16xf32>)
    -> tensor<2x16x16x20xf32> {
  %0 = var.conv %x, %w, %b stride [2, 1] padding [1, 1]
      : tensor<2x8x32x20xf32>, tensor<16x8x3x3xf32>, tensor<16xf32>
  return %0 : tensor<2x16x16x20xf32>
}

// Dilation 2 makes a 3x3 kernel span 5: 17 - 5 + 1 = 13, 17 + 2*2 - 5 + 1 = 17.
// CHECK-LABEL: func.func @conv2d_dilation
// CHECK-SAME: -> tensor<1x4x13x17xf32>
// CHECK: var.conv %{{.*}}, %{{.*}} padding [0, 2] dilation [2, 2] : tensor<1x8x17x17xf32>, tensor<4x8x3x3xf32>{{$}}
func.func @conv2d_dilation(%x: tensor<1x8x17x17xf32>, %w: tensor<4x8x3x3xf32>)
    -> tensor<1x4x13x17xf32> {
  %0 = var.conv %x, %w padding [0, 2] dilation [2, 2]
      : tensor<1x8x17x17xf32>, tensor<4x8x3x3xf32>
  return %0 : tensor<1x4x13x17xf32>
}

// Grouped (2 groups of 4 input channels) and depthwise (groups = C).
// CHECK-LABEL: func.func @conv2d_groups
// CHECK-SAME: -> (tensor<?x6x8x8xf32>, tensor<?x8x4x4xf32>)
// CHECK: var.conv %{{.*}}, %{{.*}} groups 2 : tensor<?x8x8x8xf32>, tensor<6x4x1x1xf32>{{$}}
// CHECK: var.conv %{{.*}}, %{{.*}}, %{{.*}} stride [2, 2] padding [1, 1] groups 8 : tensor<?x8x8x8xf32>, tensor<8x1x3x3xf32>, tensor<8xf32>{{$}}
func.func @conv2d_groups(%x: tensor<?x8x8x8xf32>, %w: tensor<6x4x1x1xf32>,
                         %dw: tensor<8x1x3x3xf32>, %db: tensor<8xf32>)
    -> (tensor<?x6x8x8xf32>, tensor<?x8x4x4xf32>) {
  %0 = var.conv %x, %w groups 2 : tensor<?x8x8x8xf32>, tensor<6x4x1x1xf32>
  %1 = var.conv %x, %dw, %db stride [2, 2] padding [1, 1] groups 8
      : tensor<?x8x8x8xf32>, tensor<8x1x3x3xf32>, tensor<8xf32>
  return %0, %1 : tensor<?x6x8x8xf32>, tensor<?x8x4x4xf32>
}

// Every optional attribute at once, written explicitly with default values:
// the defaults of stride/padding/dilation are kept (they are optional, not
// default-valued) but `groups 1` is elided.
// CHECK-LABEL: func.func @conv2d_all_attrs
// CHECK-SAME: -> tensor<1x2x5x5xf32>
// CHECK: var.conv %{{.*}}, %{{.*}}, %{{.*}} stride [1, 1] padding [0, 0] dilation [1, 1] : tensor<1x3x5x5xf32>, tensor<2x3x1x1xf32>, tensor<2xf32>{{$}}
func.func @conv2d_all_attrs(%x: tensor<1x3x5x5xf32>, %w: tensor<2x3x1x1xf32>,
                            %b: tensor<2xf32>) -> tensor<1x2x5x5xf32> {
  %0 = var.conv %x, %w, %b stride [1, 1] padding [0, 0] dilation [1, 1]
      groups 1 : tensor<1x3x5x5xf32>, tensor<2x3x1x1xf32>, tensor<2xf32>
  return %0 : tensor<1x2x5x5xf32>
}

// Dynamic channel and spatial dimensions stay dynamic.
// CHECK-LABEL: func.func @conv2d_dynamic
// CHECK-SAME: -> tensor<?x4x?x7xf32>
// CHECK: var.conv %{{.*}}, %{{.*}} stride [2, 2] : tensor<?x?x?x15xf32>, tensor<4x3x3x3xf32>{{$}}
func.func @conv2d_dynamic(%x: tensor<?x?x?x15xf32>, %w: tensor<4x3x3x3xf32>)
    -> tensor<?x4x?x7xf32> {
  %0 = var.conv %x, %w stride [2, 2] : tensor<?x?x?x15xf32>, tensor<4x3x3x3xf32>
  return %0 : tensor<?x4x?x7xf32>
}

// 1-D convolution over (N, C, L).
// CHECK-LABEL: func.func @conv1d
// CHECK-SAME: -> tensor<3x8x50xf32>
// CHECK: var.conv %{{.*}}, %{{.*}}, %{{.*}} stride [2] padding [2] dilation [1] : tensor<3x4x100xf32>, tensor<8x4x5xf32>, tensor<8xf32>{{$}}
func.func @conv1d(%x: tensor<3x4x100xf32>, %w: tensor<8x4x5xf32>,
                  %b: tensor<8xf32>) -> tensor<3x8x50xf32> {
  %0 = var.conv %x, %w, %b stride [2] padding [2] dilation [1]
      : tensor<3x4x100xf32>, tensor<8x4x5xf32>, tensor<8xf32>
  return %0 : tensor<3x8x50xf32>
}

// 3-D convolution over (N, C, D, H, W), bf16.
// CHECK-LABEL: func.func @conv3d
// CHECK-SAME: -> tensor<?x16x8x56x56xbf16>
// CHECK: var.conv %{{.*}}, %{{.*}} stride [1, 2, 2] padding [1, 1, 1] : tensor<?x3x8x112x112xbf16>, tensor<16x3x3x3x3xbf16>{{$}}
func.func @conv3d(%x: tensor<?x3x8x112x112xbf16>, %w: tensor<16x3x3x3x3xbf16>)
    -> tensor<?x16x8x56x56xbf16> {
  %0 = var.conv %x, %w stride [1, 2, 2] padding [1, 1, 1]
      : tensor<?x3x8x112x112xbf16>, tensor<16x3x3x3x3xbf16>
  return %0 : tensor<?x16x8x56x56xbf16>
}

// f16 convolution with a (1 x k) kernel.
// CHECK-LABEL: func.func @conv2d_f16
// CHECK-SAME: -> tensor<2x4x9x7xf16>
// CHECK: var.conv %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x4x9x9xf16>, tensor<4x4x1x3xf16>, tensor<4xf16>{{$}}
func.func @conv2d_f16(%x: tensor<2x4x9x9xf16>, %w: tensor<4x4x1x3xf16>,
                      %b: tensor<4xf16>) -> tensor<2x4x9x7xf16> {
  %0 = var.conv %x, %w, %b
      : tensor<2x4x9x9xf16>, tensor<4x4x1x3xf16>, tensor<4xf16>
  return %0 : tensor<2x4x9x7xf16>
}

// Huge attributes are sized exactly: (1 + 2 * 3000000000 - 1) / 1 + 1.
// CHECK-LABEL: func.func @conv_huge_padding
// CHECK-SAME: -> tensor<1x1x6000000001xf32>
// CHECK: var.conv %{{.*}}, %{{.*}} padding [3000000000] : tensor<1x1x1xf32>, tensor<1x1x1xf32>{{$}}
func.func @conv_huge_padding(%x: tensor<1x1x1xf32>, %w: tensor<1x1x1xf32>)
    -> tensor<1x1x6000000001xf32> {
  %0 = var.conv %x, %w padding [3000000000]
      : tensor<1x1x1xf32>, tensor<1x1x1xf32>
  return %0 : tensor<1x1x6000000001xf32>
}
