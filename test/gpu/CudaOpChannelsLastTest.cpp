// The CUDA kernels' channels_last calls against the CPU backend's (which
// CpuChannelsLastTest ties, bit for bit, to the channels-first ops), in f32
// and bf16, forward and backward: convolutions (with bias, strided, grouped,
// depthwise and pointwise on their own paths, dilated, 1-D, the (1, 3, 3)
// and (3, 1, 1) 3-D convolutions that run as 2-D ones, a full 3-D one),
// pools, global pools and batch norm with channel counts that are not
// multiples of 32 (CudaChannelsLastRepeatTest: that they repeat bit for
// bit). Without a GPU every case is skipped, and ctest counts it as
// skipped.
#include "runtime/cuda/CudaBackend.h"
#include "test/gpu/CudaOpCheck.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace {

using namespace var::gputest;
using var::exec::Backend;

class CudaChannelsLastTest
    : public CudaBackendTest<::testing::TestWithParam<CaseId>> {};

/// Every case in compute type `t`, each with `channels_last`; shapes are
/// as the call sees them: activations (N, spatial..., C), weights
/// (O, I/groups, k...), per-channel tensors (C).
Cases buildCases(DType t) {
  const DType f32 = DType::F32;
  std::vector<std::pair<std::string, Call>> cases;
  auto add = [&](std::string name, Call call) {
    call.attributes.push_back(unit("channels_last"));
    cases.emplace_back(std::move(name), std::move(call));
  };

  std::vector<ConvCase> convs = {
      {"conv2d",
       {2, 9, 9, 16},
       {24, 16, 3, 3},
       {2, 5, 5, 24},
       {ints("stride", {2, 2}), ints("padding", {1, 1})},
       true},
      {"conv2d_rgb_stem",
       {2, 9, 9, 3},
       {6, 3, 3, 3},
       {2, 9, 9, 6},
       {ints("padding", {1, 1})},
       true},
      {"conv2d_grouped",
       {2, 8, 8, 8},
       {12, 4, 3, 3},
       {2, 8, 8, 12},
       {ints("padding", {1, 1}), integer("groups", 2)},
       false},
      {"conv2d_depthwise",
       {2, 10, 10, 16},
       {16, 1, 3, 3},
       {2, 5, 5, 16},
       {ints("stride", {2, 2}), ints("padding", {1, 1}), integer("groups", 16)},
       false},
      {"conv2d_pointwise",
       {4, 6, 6, 16},
       {24, 16, 1, 1},
       {4, 6, 6, 24},
       {},
       true},
      {"conv2d_dilated",
       {1, 11, 11, 4},
       {4, 4, 3, 3},
       {1, 7, 7, 4},
       {ints("dilation", {2, 2})},
       false},
      {"conv1d", {2, 10, 3}, {4, 3, 3}, {2, 8, 4}, {}, false},
      // R(2+1)D: spatial (1, 3, 3) and temporal (3, 1, 1) convolutions,
      // which run as 2-D NHWC ones, and a temporal one over one frame.
      {"conv3d_spatial",
       {2, 3, 8, 8, 8},
       {16, 8, 1, 3, 3},
       {2, 3, 4, 4, 16},
       {ints("stride", {1, 2, 2}), ints("padding", {0, 1, 1})},
       false},
      {"conv3d_temporal",
       {2, 4, 5, 5, 16},
       {8, 16, 3, 1, 1},
       {2, 2, 5, 5, 8},
       {ints("stride", {2, 1, 1}), ints("padding", {1, 0, 0})},
       false},
      {"conv3d_one_frame",
       {2, 1, 4, 4, 8},
       {8, 8, 3, 1, 1},
       {2, 1, 4, 4, 8},
       {ints("padding", {1, 0, 0})},
       false},
      {"conv3d_full",
       {2, 4, 6, 6, 4},
       {8, 4, 3, 3, 3},
       {2, 4, 6, 6, 8},
       {ints("padding", {1, 1, 1})},
       true},
      // Depthwise convolutions run on DepthwiseKernels.cu: the tile
      // kernels (40 and 24 channels here), the general ones at 4, 2 and 1
      // channels a thread (18, 37 and 8 or 6 channels with dilation or a
      // 1-D or full 3-D window), odd sizes, and enough output rows for
      // several chunks of the backward filter.
      {"depthwise_3x3_s1",
       {2, 9, 9, 40},
       {40, 1, 3, 3},
       {2, 9, 9, 40},
       {ints("padding", {1, 1}), integer("groups", 40)},
       true},
      {"depthwise_3x3_s2",
       {2, 11, 11, 18},
       {18, 1, 3, 3},
       {2, 6, 6, 18},
       {ints("stride", {2, 2}), ints("padding", {1, 1}), integer("groups", 18)},
       false},
      {"depthwise_5x5_s2",
       {2, 13, 12, 37},
       {37, 1, 5, 5},
       {2, 7, 6, 37},
       {ints("stride", {2, 2}), ints("padding", {2, 2}), integer("groups", 37)},
       false},
      {"depthwise_dilated_asymmetric",
       {1, 10, 11, 8},
       {8, 1, 3, 2},
       {1, 8, 4, 8},
       {ints("stride", {1, 2}), ints("padding", {1, 0}),
        ints("dilation", {2, 3}), integer("groups", 8)},
       false},
      {"depthwise_1d",
       {2, 15, 6},
       {6, 1, 3},
       {2, 13, 6},
       {integer("groups", 6)},
       false},
      {"depthwise_3d",
       {2, 4, 6, 5, 12},
       {12, 1, 3, 3, 3},
       {2, 4, 6, 5, 12},
       {ints("padding", {1, 1, 1}), integer("groups", 12)},
       false},
      {"depthwise_many_chunks",
       {4, 30, 30, 24},
       {24, 1, 3, 3},
       {4, 30, 30, 24},
       {ints("padding", {1, 1}), integer("groups", 24)},
       false},
      // The tile kernels (C % 8 == 0, 3x3 and 5x5 at stride 1 and 2, 1x3x3
      // and 3x1x1): 8 channels a thread and runs of 4 columns, widths
      // that are not multiples of 4 and narrower than a run, both phases
      // of the stride-2 gather (padding even and odd), channels in 1, 2,
      // 12 and 18 packs and in 75 (kh, pack) lanes (two slices of the
      // backward filter's lanes), batch > 1.
      {"depthwise_tile_3x3_s1_c8",
       {3, 7, 9, 8},
       {8, 1, 3, 3},
       {3, 7, 9, 8},
       {ints("padding", {1, 1}), integer("groups", 8)},
       true},
      {"depthwise_tile_3x3_s1_narrow",
       {2, 5, 2, 8},
       {8, 1, 3, 3},
       {2, 5, 2, 8},
       {ints("padding", {1, 1}), integer("groups", 8)},
       false},
      {"depthwise_tile_3x3_s2_c16",
       {2, 11, 10, 16},
       {16, 1, 3, 3},
       {2, 6, 5, 16},
       {ints("stride", {2, 2}), ints("padding", {1, 1}), integer("groups", 16)},
       false},
      {"depthwise_tile_3x3_s2_pad0",
       {2, 9, 10, 16},
       {16, 1, 3, 3},
       {2, 4, 4, 16},
       {ints("stride", {2, 2}), integer("groups", 16)},
       false},
      {"depthwise_tile_3x3_s2_narrow",
       {2, 5, 3, 8},
       {8, 1, 3, 3},
       {2, 3, 2, 8},
       {ints("stride", {2, 2}), ints("padding", {1, 1}), integer("groups", 8)},
       false},
      {"depthwise_tile_3x3_s1_c144",
       {2, 14, 14, 144},
       {144, 1, 3, 3},
       {2, 14, 14, 144},
       {ints("padding", {1, 1}), integer("groups", 144)},
       false},
      {"depthwise_tile_3x3_s2_c96",
       {2, 14, 14, 96},
       {96, 1, 3, 3},
       {2, 7, 7, 96},
       {ints("stride", {2, 2}), ints("padding", {1, 1}), integer("groups", 96)},
       false},
      {"depthwise_tile_5x5_s1_c96",
       {2, 7, 11, 96},
       {96, 1, 5, 5},
       {2, 7, 11, 96},
       {ints("padding", {2, 2}), integer("groups", 96)},
       false},
      {"depthwise_tile_5x5_s2_c144",
       {2, 9, 13, 144},
       {144, 1, 5, 5},
       {2, 5, 7, 144},
       {ints("stride", {2, 2}), ints("padding", {2, 2}),
        integer("groups", 144)},
       false},
      {"depthwise_tile_5x5_s2_pad1",
       {2, 9, 12, 16},
       {16, 1, 5, 5},
       {2, 4, 5, 16},
       {ints("stride", {2, 2}), ints("padding", {1, 1}), integer("groups", 16)},
       false},
      {"depthwise_tile_c200_lane_slices",
       {2, 6, 7, 200},
       {200, 1, 3, 3},
       {2, 6, 7, 200},
       {ints("padding", {1, 1}), integer("groups", 200)},
       false},
      {"depthwise_tile_3d_spatial",
       {2, 3, 8, 9, 16},
       {16, 1, 1, 3, 3},
       {2, 3, 4, 5, 16},
       {ints("stride", {1, 2, 2}), ints("padding", {0, 1, 1}),
        integer("groups", 16)},
       false},
      {"depthwise_tile_3d_temporal",
       {2, 5, 3, 5, 16},
       {16, 1, 3, 1, 1},
       {2, 5, 3, 5, 16},
       {ints("padding", {1, 0, 0}), integer("groups", 16)},
       false},
      {"depthwise_tile_3d_temporal_s2",
       {2, 5, 3, 5, 8},
       {8, 1, 3, 1, 1},
       {2, 3, 3, 5, 8},
       {ints("stride", {2, 1, 1}), ints("padding", {1, 0, 0}),
        integer("groups", 8)},
       false},
      // Beside the tile kernels: 12 channels (not packs of 8) on the
      // general kernels.
      {"depthwise_c12_general",
       {2, 8, 9, 12},
       {12, 1, 3, 3},
       {2, 8, 9, 12},
       {ints("padding", {1, 1}), integer("groups", 12)},
       false},
      // Pointwise convolutions run as cuBLAS products.
      {"pointwise_24_144",
       {2, 7, 7, 24},
       {144, 24, 1, 1},
       {2, 7, 7, 144},
       {},
       true},
      {"pointwise_3_8", {3, 5, 5, 3}, {8, 3, 1, 1}, {3, 5, 5, 8}, {}, true},
      {"pointwise_3d",
       {2, 3, 4, 4, 16},
       {8, 16, 1, 1, 1},
       {2, 3, 4, 4, 8},
       {},
       false},
      {"pointwise_1d", {2, 9, 5}, {7, 5, 1}, {2, 9, 7}, {}, false},
      // Stems: inputs of a few channels run through cuDNN on a copy
      // zero-padded to 16 bytes a pixel (8 channels in bf16, 4 in f32;
      // ConvScratchKernels.h) backward data, and at most 4 channels forward
      // and backward filter as patch GEMMs (fused in bf16:
      // ConvStemKernels.h; ConvPatchKernels.h), else all three through
      // cuDNN:
      // vgg's 3 -> 64, MobileNetV2's and EfficientNet's 3 -> 32 at stride
      // 2, one channel, five (two 16-byte chunks a pixel in f32), twelve
      // (two in bf16, none in f32), a strided one-tap filter (copied only
      // because padded), R(2+1)D's (1, 7, 7) 3 -> 45 stem (a 2-D
      // convolution over N * D images) and a full 3-D one.
      {"stem_c3_k64",
       {2, 12, 13, 3},
       {64, 3, 3, 3},
       {2, 12, 13, 64},
       {ints("padding", {1, 1})},
       false},
      {"stem_c3_s2",
       {2, 15, 16, 3},
       {32, 3, 3, 3},
       {2, 8, 8, 32},
       {ints("stride", {2, 2}), ints("padding", {1, 1})},
       false},
      {"stem_c3_s2_bias",
       {3, 9, 8, 3},
       {16, 3, 3, 3},
       {3, 5, 4, 16},
       {ints("stride", {2, 2}), ints("padding", {1, 1})},
       true},
      {"stem_c1", {3, 9, 10, 1}, {8, 1, 5, 5}, {3, 5, 6, 8}, {}, true},
      {"stem_c5",
       {2, 7, 8, 5},
       {12, 5, 3, 3},
       {2, 7, 4, 12},
       {ints("stride", {1, 2}), ints("padding", {1, 1})},
       true},
      {"stem_c12", {2, 6, 6, 12}, {8, 12, 3, 3}, {2, 4, 4, 8}, {}, false},
      {"stem_c3_one_tap_s2",
       {2, 8, 8, 3},
       {6, 3, 1, 1},
       {2, 4, 4, 6},
       {ints("stride", {2, 2})},
       false},
      {"stem3d_r2plus1d",
       {2, 3, 12, 12, 3},
       {45, 3, 1, 7, 7},
       {2, 3, 6, 6, 45},
       {ints("stride", {1, 2, 2}), ints("padding", {0, 3, 3})},
       false},
      // bf16 stems of at most 64 output channels run fused
      // (ConvStemKernels.h), 64 output pixels of a row a tile: rows of
      // three tiles (64, 64, 22) at stride 1 and of two (64, 6) at stride
      // 2, the last one partial.
      {"stem_c3_k64_wide",
       {2, 5, 150, 3},
       {64, 3, 3, 3},
       {2, 5, 150, 64},
       {ints("padding", {1, 1})},
       false},
      {"stem_c3_s2_wide",
       {3, 6, 139, 3},
       {32, 3, 3, 3},
       {3, 3, 70, 32},
       {ints("stride", {2, 2}), ints("padding", {1, 1})},
       true},
      {"stem3d_full",
       {2, 4, 6, 5, 3},
       {8, 3, 3, 3, 3},
       {2, 4, 6, 5, 8},
       {ints("padding", {1, 1, 1})},
       true},
      // Backward data of convolutions that stride only over D, (k, 1, 1)
      // windows (R(2+1)D's temporal downsampling), runs as a forward
      // convolution of the gradient spread over zero frames: stride 2 and
      // 3, with and without padding, and spread gradients of 7 MiB (bf16)
      // and 14 MiB (f32) a sample, 2 and 3 chunks of at most 16 MiB.
      {"temporal_s2",
       {2, 8, 5, 5, 16},
       {24, 16, 3, 1, 1},
       {2, 4, 5, 5, 24},
       {ints("stride", {2, 1, 1}), ints("padding", {1, 0, 0})},
       false},
      {"temporal_s3_unpadded",
       {3, 9, 2, 3, 8},
       {8, 8, 3, 1, 1},
       {3, 3, 2, 3, 8},
       {ints("stride", {3, 1, 1})},
       false},
      {"temporal_s2_chunks",
       {3, 8, 48, 48, 8},
       {192, 8, 3, 1, 1},
       {3, 4, 48, 48, 192},
       {ints("stride", {2, 1, 1}), ints("padding", {1, 0, 0})},
       false},
      // Forward and backward filter of stems of at most 4 channels run as
      // patch GEMMs (ConvPatchKernels.h), in chunks of 48 MiB of patches:
      // this one has 409,600 rows of 147 taps' channels, 6 chunks in f32,
      // the filter gradient summed over them; in bf16 it runs fused, 7,680
      // tiles (three a row), 15 a block of the filter gradient.
      {"stem3d_patch_chunks",
       {4, 4, 160, 160, 3},
       {8, 3, 1, 7, 7},
       {4, 4, 160, 160, 8},
       {ints("padding", {0, 3, 3})},
       false},
  };
  for (const ConvCase &c : convs)
    addConvCalls(t, c, add);
  // A padded stem whose tensors that the copies read or write start off a
  // 16-byte boundary (cuDNN sees the others): input and weight forward,
  // weight and result backward data, input and result backward filter.
  addConvCalls(t,
               {"stem_c3_misaligned",
                {2, 7, 9, 3},
                {16, 3, 3, 3},
                {2, 7, 9, 16},
                {ints("padding", {1, 1})},
                false},
               [&](std::string name, Call call) {
                 uint32_t copied = call.op == "var.conv"              ? 0b011
                                   : call.op == "var.conv_grad_input" ? 0b110
                                                                      : 0b101;
                 add(std::move(name), misaligned(std::move(call), copied));
               });
  // A tile kernel's shape with every tensor misaligned: the general
  // kernels, one channel a thread.
  addConvCalls(t,
               {"depthwise_tile_shape_misaligned",
                {2, 7, 9, 16},
                {16, 1, 3, 3},
                {2, 7, 9, 16},
                {ints("padding", {1, 1}), integer("groups", 16)},
                false},
               [&](std::string name, Call call) {
                 add(std::move(name), misaligned(std::move(call)));
               });

  std::vector<PoolCase> pools = {
      {"pool2d",
       {2, 9, 9, 3},
       {2, 5, 5, 3},
       {ints("kernel", {3, 3}), ints("stride", {2, 2}),
        ints("padding", {1, 1})}},
      {"pool2d_c40", {2, 8, 8, 40}, {2, 4, 4, 40}, {ints("kernel", {2, 2})}},
      {"pool2d_remainder",
       {2, 7, 9, 40},
       {2, 3, 4, 40},
       {ints("kernel", {2, 2})}},
      {"pool2d_overlap_remainder",
       {2, 8, 8, 5},
       {2, 3, 3, 5},
       {ints("kernel", {3, 3}), ints("stride", {2, 2})}},
      {"pool2d_gaps",
       {1, 8, 8, 4},
       {1, 3, 3, 4},
       {ints("kernel", {2, 2}), ints("stride", {3, 3})}},
      {"pool1d", {2, 11, 3}, {2, 5, 3}, {ints("kernel", {2})}},
      {"pool3d", {1, 4, 6, 6, 5}, {1, 2, 3, 3, 5}, {ints("kernel", {2, 2, 2})}},
      {"pool3d_spatial",
       {1, 3, 7, 6, 5},
       {1, 3, 3, 3, 5},
       {ints("kernel", {1, 2, 2})}},
      {"pool3d_remainder",
       {1, 5, 5, 7, 3},
       {1, 2, 2, 3, 3},
       {ints("kernel", {2, 2, 2})}},
  };
  for (const PoolCase &p : pools)
    addPoolCalls(t, p, add);
  // Ties, signed zeros and NaN, tiled and overlapping windows.
  std::vector<PoolCase> tiePools = {
      {"2d", {2, 7, 9, 3}, {2, 3, 4, 3}, {ints("kernel", {2, 2})}},
      {"2d_overlap",
       {2, 9, 9, 3},
       {2, 5, 5, 3},
       {ints("kernel", {3, 3}), ints("stride", {2, 2}),
        ints("padding", {1, 1})}},
      {"3d", {1, 3, 5, 7, 2}, {1, 3, 2, 3, 2}, {ints("kernel", {1, 2, 2})}},
  };
  for (const PoolCase &p : tiePools)
    addMaxPoolTieCalls(t, p, add);
  // The 16-byte vector kernels (PoolVectorKernels.cu: C % 8 == 0 in bf16,
  // C % 4 == 0 in f32): windows 2x2 and 3x3 (unrolled, padding taps
  // clamped) and others (2x3, 3x2, 1-D); windows apart (the backward
  // writes each input once: remainders, gaps, padding) or overlapping (max
  // backward on the scalar gather, average backward gathering vectors);
  // 3-D. C = 12 takes the vectors in f32 only.
  std::vector<PoolCase> vectorPools = {
      {"vec_2x2_c8", {2, 8, 8, 8}, {2, 4, 4, 8}, {ints("kernel", {2, 2})}},
      {"vec_2x2_c16_remainder",
       {2, 9, 7, 16},
       {2, 4, 3, 16},
       {ints("kernel", {2, 2})}},
      {"vec_2x2_c64", {3, 10, 12, 64}, {3, 5, 6, 64}, {ints("kernel", {2, 2})}},
      {"vec_3x3_s2_pad1_c16",
       {2, 9, 10, 16},
       {2, 5, 5, 16},
       {ints("kernel", {3, 3}), ints("stride", {2, 2}),
        ints("padding", {1, 1})}},
      {"vec_3x3_s3_pad1_c8",
       {2, 10, 11, 8},
       {2, 4, 4, 8},
       {ints("kernel", {3, 3}), ints("stride", {3, 3}),
        ints("padding", {1, 1})}},
      {"vec_2x2_s3_gaps_c8",
       {1, 8, 9, 8},
       {1, 3, 3, 8},
       {ints("kernel", {2, 2}), ints("stride", {3, 3})}},
      {"vec_2x3_c8", {2, 6, 10, 8}, {2, 3, 3, 8}, {ints("kernel", {2, 3})}},
      {"vec_3x2_s1_c8",
       {1, 5, 6, 8},
       {1, 3, 5, 8},
       {ints("kernel", {3, 2}), ints("stride", {1, 1})}},
      {"vec_1d_c8", {2, 11, 8}, {2, 5, 8}, {ints("kernel", {2})}},
      {"vec_1d_s2_pad1_c16",
       {2, 10, 16},
       {2, 5, 16},
       {ints("kernel", {3}), ints("stride", {2}), ints("padding", {1})}},
      {"vec_3d_c8",
       {1, 4, 6, 6, 8},
       {1, 2, 3, 3, 8},
       {ints("kernel", {2, 2, 2})}},
      {"vec_3d_remainder_c16",
       {2, 5, 5, 7, 16},
       {2, 2, 2, 3, 16},
       {ints("kernel", {2, 2, 2})}},
      {"vec_3d_s2_pad1_c8",
       {1, 5, 6, 7, 8},
       {1, 3, 3, 4, 8},
       {ints("kernel", {3, 3, 3}), ints("stride", {2, 2, 2}),
        ints("padding", {1, 1, 1})}},
      {"vec_3d_spatial_c8",
       {1, 3, 7, 7, 8},
       {1, 3, 4, 4, 8},
       {ints("kernel", {1, 3, 3}), ints("stride", {1, 2, 2}),
        ints("padding", {0, 1, 1})}},
      {"vec_2x2_c12", {2, 8, 8, 12}, {2, 4, 4, 12}, {ints("kernel", {2, 2})}},
      {"vec_3x3_s2_pad1_c12",
       {2, 9, 9, 12},
       {2, 5, 5, 12},
       {ints("kernel", {3, 3}), ints("stride", {2, 2}),
        ints("padding", {1, 1})}},
  };
  for (const PoolCase &p : vectorPools)
    addPoolCalls(t, p, add);
  // Vector shapes with every tensor, or the result alone, misaligned: the
  // scalar kernels.
  for (const PoolCase &p : vectorPools) {
    if (p.name != "vec_2x2_c16_remainder" && p.name != "vec_3x3_s2_pad1_c16" &&
        p.name != "vec_3x3_s3_pad1_c8" && p.name != "vec_3d_c8")
      continue;
    addPoolCalls(t, {p.name + "_misaligned", p.x, p.y, p.attrs},
                 [&](std::string name, Call call) {
                   add(std::move(name), misaligned(std::move(call)));
                 });
    addPoolCalls(t, {p.name + "_result_misaligned", p.x, p.y, p.attrs},
                 [&](std::string name, Call call) {
                   uint32_t result = 1u << call.operands.size();
                   add(std::move(name), misaligned(std::move(call), result));
                 });
  }
  // Ties, signed zeros and NaN lane by lane on the vector kernels.
  std::vector<PoolCase> vectorTiePools = {
      {"vec_2x2_c8", {2, 7, 9, 8}, {2, 3, 4, 8}, {ints("kernel", {2, 2})}},
      {"vec_3x3_s2_pad1_c16",
       {2, 9, 9, 16},
       {2, 5, 5, 16},
       {ints("kernel", {3, 3}), ints("stride", {2, 2}),
        ints("padding", {1, 1})}},
      {"vec_3x3_s3_pad1_c8",
       {1, 10, 11, 8},
       {1, 4, 4, 8},
       {ints("kernel", {3, 3}), ints("stride", {3, 3}),
        ints("padding", {1, 1})}},
      {"vec_2x3_c16", {1, 6, 9, 16}, {1, 3, 3, 16}, {ints("kernel", {2, 3})}},
      {"vec_3d_c8",
       {1, 4, 5, 6, 8},
       {1, 2, 2, 3, 8},
       {ints("kernel", {2, 2, 2})}},
  };
  for (const PoolCase &p : vectorTiePools)
    addMaxPoolTieCalls(t, p, add);
  add("global_avg_pool", {"var.global_avg_pool",
                          {uniform(t, {4, 7, 7, 40})},
                          {result(t, {4, 40})}});
  add("global_avg_pool_keep", {"var.global_avg_pool",
                               {uniform(t, {2, 3, 5, 5, 8})},
                               {result(t, {2, 1, 1, 1, 8})},
                               {unit("keep_dims")}});
  add("global_avg_pool_grad", {"var.global_avg_pool_grad",
                               {uniform(t, {4, 40})},
                               {result(t, {4, 7, 7, 40})}});
  add("global_avg_pool_grad_keep", {"var.global_avg_pool_grad",
                                    {uniform(t, {2, 1, 1, 1, 8})},
                                    {result(t, {2, 3, 5, 5, 8})},
                                    {unit("keep_dims")}});

  // Batch norm (weights and statistics f32): few and many rows, channel
  // counts below, between and above multiples of 32, 2-D and 3-D. Packs
  // of 8 channels where C % 8 == 0: one pack column a row (c8), a few
  // (c16, wide, 3d, large), a row over 2 blocks whose last column is
  // idle (c328: 41 columns) and over 5 (c1280); elements otherwise (c3,
  // small, rows, 1d, large_c12). Many chunks a channel: large (packed),
  // large_c12 (1024 chunks, unpacked). MobileNetV2-like: c576 (3 blocks
  // across a row; chunks of 41 rows, which the sums' steps of 80 rows
  // (bf16) or 40 (f32) leave partial), deep_c144 (more packs than the
  // elementwise passes' grid covers at once: a second, partial, sweep).
  std::vector<std::pair<std::string, Shape>> norms = {
      {"small", {4, 5, 5, 6}},     {"rows", {64, 9, 9, 37}},
      {"wide", {2, 6, 6, 200}},    {"3d", {2, 3, 4, 4, 40}},
      {"1d", {8, 30, 12}},         {"c3", {4, 7, 7, 3}},
      {"c8", {16, 5, 5, 8}},       {"c16", {8, 7, 7, 16}},
      {"c328", {4, 6, 6, 328}},    {"c1280", {16, 7, 7, 1280}},
      {"large", {64, 56, 56, 24}}, {"large_c12", {64, 28, 28, 12}},
      {"c576", {6, 11, 11, 576}},  {"deep_c144", {24, 56, 56, 144}},
  };
  for (const auto &[tag, x] : norms) {
    Shape c = {x.back()};
    add("batch_norm_" + tag, {"var.batch_norm",
                              {uniform(t, x), uniform(f32, c), uniform(f32, c),
                               uniform(f32, c, 0.5f), positive(f32, c)},
                              {result(t, x)},
                              {real("eps", 1e-5)}});
    add("batch_norm_train_" + tag,
        {"var.batch_norm_train",
         {uniform(t, x), uniform(f32, c), uniform(f32, c),
          uniform(f32, c, 0.5f), positive(f32, c)},
         {result(t, x), result(f32, c), result(f32, c), result(f32, c),
          result(f32, c)},
         {real("eps", 1e-3), real("momentum", 0.01)}});
    add("batch_norm_grad_" + tag,
        {"var.batch_norm_grad",
         {uniform(t, x), uniform(t, x), uniform(f32, c), uniform(f32, c, 0.5f),
          positive(f32, c)},
         {result(t, x), result(f32, c), result(f32, c)}});
    add("batch_norm_frozen_grad_" + tag,
        {"var.batch_norm_frozen_grad",
         {uniform(t, x), uniform(t, x), uniform(f32, c), uniform(f32, c, 0.5f),
          positive(f32, c)},
         {result(t, x), result(f32, c), result(f32, c)},
         {real("eps", 1e-3)}});
  }
  // Batch norm on packed rows with tensors of both types (x, or dy, in
  // the other type than the result): the kernels compiled for mixed types.
  const DType other = t == DType::BF16 ? f32 : DType::BF16;
  Shape m = {4, 9, 9, 40}, mc = {40};
  add("batch_norm_mixed_types",
      {"var.batch_norm",
       {uniform(other, m), uniform(f32, mc), uniform(f32, mc),
        uniform(f32, mc, 0.5f), positive(f32, mc)},
       {result(t, m)},
       {real("eps", 1e-5)}});
  add("batch_norm_train_mixed_types",
      {"var.batch_norm_train",
       {uniform(other, m), uniform(f32, mc), uniform(f32, mc),
        uniform(f32, mc, 0.5f), positive(f32, mc)},
       {result(t, m), result(f32, mc), result(f32, mc), result(f32, mc),
        result(f32, mc)},
       {real("eps", 1e-3), real("momentum", 0.01)}});
  add("batch_norm_grad_mixed_types",
      {"var.batch_norm_grad",
       {uniform(t, m), uniform(other, m), uniform(f32, mc),
        uniform(f32, mc, 0.5f), positive(f32, mc)},
       {result(t, m), result(f32, mc), result(f32, mc)}});
  add("batch_norm_frozen_grad_mixed_types",
      {"var.batch_norm_frozen_grad",
       {uniform(t, m), uniform(other, m), uniform(f32, mc),
        uniform(f32, mc, 0.5f), positive(f32, mc)},
       {result(t, m), result(f32, mc), result(f32, mc)},
       {real("eps", 1e-3)}});
  return cases;
}

TEST_P(CudaChannelsLastTest, MatchesCpu) {
  runCase(buildCases(GetParam().dtype), GetParam(),
          [&](const Call &call) { checkAgainstCpu(*backend, call); });
}

INSTANTIATE_TEST_SUITE_P(Ops, CudaChannelsLastTest,
                         ::testing::ValuesIn(allCasesOf(buildCases)),
                         caseTestName);

/// The bf16 convolutions again with cuDNN's graph API alone
/// (VAR_CUDNN_ENGINES=graph): each one through cuDNN with one group runs an
/// engine of the graph API, or fails where it has no deterministic one.
class CudaGraphEnginesTest : public CudaChannelsLastTest {
protected:
  static void SetUpTestSuite() {
    setenv("VAR_CUDNN_ENGINES", "graph", 1);
    CudaChannelsLastTest::SetUpTestSuite();
    unsetenv("VAR_CUDNN_ENGINES");
  }
};

TEST_P(CudaGraphEnginesTest, MatchesCpu) {
  runCase(buildCases(GetParam().dtype), GetParam(),
          [&](const Call &call) { checkAgainstCpu(*backend, call); });
}

/// The bf16 convolution cases whose tensors are 16-byte aligned (the
/// graph API's plans take no others).
std::vector<CaseId> graphEngineCases() {
  std::vector<CaseId> ids;
  for (const auto &[name, call] : buildCases(DType::BF16))
    if (call.op.rfind("var.conv", 0) == 0 && call.misaligned == 0)
      ids.push_back({name, DType::BF16});
  return ids;
}

INSTANTIATE_TEST_SUITE_P(Convolutions, CudaGraphEnginesTest,
                         ::testing::ValuesIn(graphEngineCases()), caseTestName);

// Shapes that do not fit the channels-last layout get the CPU's message
// from the CUDA kernels, before anything is launched (no GPU needed).
TEST(CudaChannelsLast, RejectsBadCallsAsTheCpuDoes) {
  Attribute last = unit("channels_last");
  expectCpuErrors({
      // A channels-first input read channels-last: 8 channels, not 3.
      {"var.conv", {{1, 3, 8, 8}, {4, 3, 3, 3}}, {{1, 4, 6, 6}}, {last}},
      {"var.conv", {{1, 8, 8, 3}, {4, 3, 3, 3}}, {{1, 4, 6, 6}}, {last}},
      {"var.conv_grad_weight",
       {{1, 8, 8, 3}, {1, 6, 6, 4}},
       {{4, 3, 3, 3, 1}},
       {last}},
      {"var.max_pool",
       {{1, 8, 8, 2}},
       {{1, 2, 4, 4}},
       {ints("kernel", {2, 2}), last}},
      {"var.avg_pool_grad",
       {{1, 4, 4, 2}},
       {{1, 2, 8, 8}},
       {ints("kernel", {2, 2}), last}},
      {"var.global_avg_pool",
       {{2, 5, 5, 3}},
       {{2, 3, 1, 1}},
       {unit("keep_dims"), last}},
      {"var.global_avg_pool_grad", {{2, 5}}, {{2, 3, 3, 3}}, {last}},
  });
}

} // namespace
