// 'var.rellu' is a typo for 'var.relu'.
module {
  func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    %y = var.rellu %x : tensor<?x4xf32>
    return %y : tensor<?x4xf32>
  }
}
