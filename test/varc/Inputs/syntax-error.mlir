// A return whose type is missing its closing '>'.
module {
  func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    return %x : tensor<?x4xf32
  }
}
