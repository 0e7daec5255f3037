// func.call parses (the func dialect is registered) but is not a var op.
module {
  func.func private @helper(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    return %x : tensor<?x4xf32>
  }

  func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    %y = func.call @helper(%x) : (tensor<?x4xf32>) -> tensor<?x4xf32>
    return %y : tensor<?x4xf32>
  }
}
