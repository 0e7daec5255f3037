// What --var-autodiff refuses, each with a diagnostic that says why.
// RUN: var-opt %s -split-input-file --var-autodiff -verify-diagnostics

// expected-error @below {{no function @forward to differentiate}}
module {
  func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    return %x : tensor<2x3xf32>
  }
}

// -----

module {
  var.param @w : tensor<3x3xf32> init zeros
  // expected-error @below {{argument type 'tensor<?x3xf32>' is not static; set the batch first (--var-specialize-batch)}}
  func.func @forward(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
    %w = var.get_param @w : tensor<3x3xf32>
    %y = var.linear %x, %w : tensor<?x3xf32>, tensor<3x3xf32>
    return %y : tensor<?x3xf32>
  }
}

// -----

module {
  // expected-error @below {{the forward must return static (batch, classes) logits, got 'tensor<2x3x4xf32>'}}
  func.func @forward(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
    return %x : tensor<2x3x4xf32>
  }
}

// -----

// expected-error @below {{symbol @train_step already exists; the training step needs a fresh name (train-entry option)}}
module {
  var.param @w : tensor<3x3xf32> init zeros
  func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    %w = var.get_param @w : tensor<3x3xf32>
    %y = var.linear %x, %w : tensor<2x3xf32>, tensor<3x3xf32>
    return %y : tensor<2x3xf32>
  }
  func.func @train_step() {
    return
  }
}

// -----

// Only buffers: nothing to train.
module {
  var.param @w : tensor<3x3xf32> init zeros buffer
  // expected-error @below {{the loss does not depend on any trainable parameter, so there is nothing to train}}
  func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    %w = var.get_param @w : tensor<3x3xf32>
    %y = var.linear %x, %w : tensor<2x3xf32>, tensor<3x3xf32>
    return %y : tensor<2x3xf32>
  }
}

// -----

// Running statistics computed rather than read cannot be written back.
module {
  var.param @g : tensor<3xf32> init ones
  var.param @b : tensor<3xf32> init zeros
  var.param @mean : tensor<3xf32> init zeros buffer
  var.param @var : tensor<3xf32> init ones buffer
  func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    %g = var.get_param @g : tensor<3xf32>
    %b = var.get_param @b : tensor<3xf32>
    %m = var.get_param @mean : tensor<3xf32>
    %v = var.get_param @var : tensor<3xf32>
    %m2 = var.add %m, %m : tensor<3xf32>, tensor<3xf32>
    // expected-error @below {{'var.batch_norm' op running mean must come straight from var.get_param so that training can update it}}
    %y = var.batch_norm %x, %g, %b, %m2, %v : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
    return %y : tensor<2x3xf32>
  }
}

// -----

// Running statistics read as trainable parameters.
module {
  var.param @g : tensor<3xf32> init ones
  var.param @b : tensor<3xf32> init zeros
  var.param @mean : tensor<3xf32> init zeros
  var.param @var : tensor<3xf32> init ones buffer
  func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    %g = var.get_param @g : tensor<3xf32>
    %b = var.get_param @b : tensor<3xf32>
    %m = var.get_param @mean : tensor<3xf32>
    %v = var.get_param @var : tensor<3xf32>
    // expected-error @below {{'var.batch_norm_train' op running statistics must be buffers, not trainable}}
    %y = var.batch_norm %x, %g, %b, %m, %v : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
    return %y : tensor<2x3xf32>
  }
}
