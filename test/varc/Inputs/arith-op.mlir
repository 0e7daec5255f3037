// The arith dialect is not registered in varc: a model uses var ops only.
module {
  func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    %y = arith.addf %x, %x : tensor<?x4xf32>
    return %y : tensor<?x4xf32>
  }
}
