// An LSTM whose input size is INT64_MAX: (input + hidden) overflows int64
// while counting FLOPs.
module {
  func.func @forward(%x: tensor<?x2x9223372036854775807xf32>,
                     %w_ih: tensor<4x9223372036854775807xf32>,
                     %w_hh: tensor<4x1xf32>,
                     %b: tensor<4xf32>) -> tensor<?x1xf32> {
    %seq, %last = var.lstm %x, %w_ih, %w_hh, %b, %b
        : tensor<?x2x9223372036854775807xf32>, tensor<4x9223372036854775807xf32>, tensor<4x1xf32>, tensor<4xf32>, tensor<4xf32>
    return %last : tensor<?x1xf32>
  }
}
