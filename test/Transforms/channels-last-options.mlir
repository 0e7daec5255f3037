// Options of --var-channels-last: `entry` picks the function (default
// forward); only that function changes; a missing entry is an error.
//
// RUN: var-opt %s --var-channels-last | FileCheck %s --check-prefix=FORWARD
// RUN: var-opt %s --var-channels-last=entry=encoder | FileCheck %s --check-prefix=ENTRY
// RUN: not var-opt %s --var-channels-last=entry=decoder 2>&1 | FileCheck %s --check-prefix=MISSING

// FORWARD-LABEL: func.func @encoder
// FORWARD-NEXT: var.conv %{{.*}}, %{{.*}} : tensor<1x3x8x8xf32>
// FORWARD-LABEL: func.func @forward
// FORWARD-NEXT: var.transpose
// FORWARD-NEXT: var.conv %{{.*}}, %{{.*}} channels_last : tensor<1x8x8x3xf32>

// ENTRY-LABEL: func.func @encoder
// ENTRY-NEXT: var.transpose
// ENTRY-NEXT: var.conv %{{.*}}, %{{.*}} channels_last : tensor<1x8x8x3xf32>
// ENTRY-LABEL: func.func @forward
// ENTRY-NEXT: var.conv %{{.*}}, %{{.*}} : tensor<1x3x8x8xf32>

// MISSING: error: no function @decoder to make channels-last

func.func @encoder(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>)
    -> tensor<1x4x6x6xf32> {
  %0 = var.conv %x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return %0 : tensor<1x4x6x6xf32>
}

func.func @forward(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>)
    -> tensor<1x4x6x6xf32> {
  %0 = var.conv %x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>
  return %0 : tensor<1x4x6x6xf32>
}
