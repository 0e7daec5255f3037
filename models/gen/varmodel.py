"""Writes models in the `var` dialect from Python, the way torchvision builds
them: a ModelBuilder tracks shapes (the batch stays dynamic, `?`), names
parameters with their PyTorch state_dict keys and prints an .mlir module
that reads like a hand-written one. The model generators in this folder use
it; `test/models/generated-*.test` check that the checked-in files are their
output.
"""

DYN = None  # the dynamic batch dimension


def fmt_shape(shape):
    return "x".join("?" if d is None else str(d) for d in shape)


def tensor(shape, dtype="f32"):
    if not shape:
        return "tensor<%s>" % dtype
    return "tensor<%sx%s>" % (fmt_shape(shape), dtype)


def fmt_float(value):
    text = repr(float(value))
    return text


class Value:
    def __init__(self, name, shape):
        self.name = name
        self.shape = list(shape)

    @property
    def type(self):
        return tensor(self.shape)


def window_out(size, kernel, stride, padding, dilation=1):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


class ModelBuilder:
    """Accumulates parameters and forward ops; `emit()` returns the module."""

    def __init__(self, header):
        self.header = header
        self.params = []  # lines
        self.body = []  # lines
        self.names = set()
        self.counter = 0
        self.param_count = 0
        self.args = []

    # -- values and names ---------------------------------------------------

    def fresh(self, hint):
        hint = "".join(c if c.isalnum() or c == "_" else "_" for c in hint)
        hint = hint.strip("_") or "v"
        if hint[0].isdigit():
            hint = "v" + hint
        name = hint
        while name in self.names:
            self.counter += 1
            name = "%s_%d" % (hint, self.counter)
        self.names.add(name)
        return name

    def comment(self, text):
        self.body.append("")
        self.body.append("    // " + text)

    def op(self, hint, text, shape):
        name = self.fresh(hint)
        self.body.append("    %%%s = %s" % (name, text))
        return Value(name, shape)

    def input(self, name, shape):
        value = Value(self.fresh(name), shape)
        self.args.append(value)
        return value

    # -- parameters ---------------------------------------------------------

    def param(self, name, shape, init, arg=None, buffer=False):
        line = "  var.param @%s : %s init %s" % (name, tensor(shape), init)
        if arg is not None:
            line += "(%s)" % fmt_float(arg)
        if buffer:
            line += " buffer"
        else:
            count = 1
            for d in shape:
                count *= d
            self.param_count += count
        self.params.append(line)
        return self.op(name.replace(".", "_"),
                       "var.get_param @%s : %s" % (name, tensor(shape)), shape)

    # -- layers ---------------------------------------------------------------

    def conv(self, x, name, out_channels, kernel, stride=1, padding=0,
             dilation=1, groups=1, bias=False, init="kaiming_normal_fan_out"):
        """torch.nn.Conv{1,2,3}d with PyTorch's weight layout."""
        spatial = len(x.shape) - 2
        as_list = lambda v: list(v) if isinstance(v, (list, tuple)) \
            else [v] * spatial
        kernel, stride = as_list(kernel), as_list(stride)
        padding, dilation = as_list(padding), as_list(dilation)
        in_channels = x.shape[1]
        w = self.param(name + ".weight",
                       [out_channels, in_channels // groups] + kernel, init)
        operands = [x, w]
        if bias:
            operands.append(self.param(name + ".bias", [out_channels],
                                       "zeros"))
        attrs = ""
        if any(s != 1 for s in stride):
            attrs += " stride %s" % stride
        if any(p != 0 for p in padding):
            attrs += " padding %s" % padding
        if any(d != 1 for d in dilation):
            attrs += " dilation %s" % dilation
        if groups != 1:
            attrs += " groups %d" % groups
        out = [x.shape[0], out_channels] + [
            window_out(x.shape[2 + i], kernel[i], stride[i], padding[i],
                       dilation[i]) for i in range(spatial)]
        text = "var.conv %s%s : %s" % (
            ", ".join("%" + v.name for v in operands), attrs,
            ", ".join(v.type for v in operands))
        return self.op(name.replace(".", "_"), text, out)

    def batch_norm(self, x, name, eps=1e-5, momentum=0.1):
        c = x.shape[1]
        g = self.param(name + ".weight", [c], "ones")
        b = self.param(name + ".bias", [c], "zeros")
        m = self.param(name + ".running_mean", [c], "zeros", buffer=True)
        v = self.param(name + ".running_var", [c], "ones", buffer=True)
        attrs = ""
        if eps != 1e-5:
            attrs += " eps %s" % fmt_float(eps)
        if momentum != 0.1:
            attrs += " momentum %s" % fmt_float(momentum)
        operands = [x, g, b, m, v]
        text = "var.batch_norm %s%s : %s" % (
            ", ".join("%" + o.name for o in operands), attrs,
            ", ".join(o.type for o in operands))
        return self.op(name.replace(".", "_"), text, x.shape)

    def unary(self, kind, x, hint=None):
        return self.op(hint or kind, "var.%s %%%s : %s" % (kind, x.name,
                                                          x.type), x.shape)

    def relu(self, x, hint=None):
        return self.unary("relu", x, hint)

    def relu6(self, x, hint=None):
        return self.unary("relu6", x, hint)

    def silu(self, x, hint=None):
        return self.unary("silu", x, hint)

    def sigmoid(self, x, hint=None):
        return self.unary("sigmoid", x, hint)

    def hardswish(self, x, hint=None):
        return self.unary("hardswish", x, hint)

    def binary(self, kind, a, b, hint=None):
        rank = max(len(a.shape), len(b.shape))
        pa = [1] * (rank - len(a.shape)) + a.shape
        pb = [1] * (rank - len(b.shape)) + b.shape
        out = [x if y == 1 else y for x, y in zip(pa, pb)]
        return self.op(hint or kind, "var.%s %%%s, %%%s : %s, %s" % (
            kind, a.name, b.name, a.type, b.type), out)

    def add(self, a, b, hint=None):
        return self.binary("add", a, b, hint)

    def mul(self, a, b, hint=None):
        return self.binary("mul", a, b, hint)

    def pool(self, kind, x, kernel, stride=None, padding=0, hint=None):
        spatial = len(x.shape) - 2
        as_list = lambda v: list(v) if isinstance(v, (list, tuple)) \
            else [v] * spatial
        kernel = as_list(kernel)
        stride = as_list(stride) if stride is not None else kernel
        padding = as_list(padding)
        attrs = " kernel %s" % kernel
        if stride != kernel:
            attrs += " stride %s" % stride
        if any(padding):
            attrs += " padding %s" % padding
        out = x.shape[:2] + [window_out(x.shape[2 + i], kernel[i], stride[i],
                                        padding[i]) for i in range(spatial)]
        return self.op(hint or kind, "var.%s %%%s%s : %s" % (
            kind, x.name, attrs, x.type), out)

    def max_pool(self, x, kernel, stride=None, padding=0, hint=None):
        return self.pool("max_pool", x, kernel, stride, padding, hint)

    def avg_pool(self, x, kernel, stride=None, padding=0, hint=None):
        return self.pool("avg_pool", x, kernel, stride, padding, hint)

    def global_avg_pool(self, x, keep_dims=False, hint=None):
        out = x.shape[:2] + ([1] * (len(x.shape) - 2) if keep_dims else [])
        return self.op(hint or "pooled", "var.global_avg_pool %%%s%s : %s" % (
            x.name, " keep_dims" if keep_dims else "", x.type), out)

    def flatten(self, x, hint=None):
        count = 1
        for d in x.shape[1:]:
            count *= d
        return self.op(hint or "flat", "var.flatten %%%s : %s" % (
            x.name, x.type), [x.shape[0], count])

    def linear(self, x, name, out_features, bias=True,
               init="kaiming_uniform"):
        w = self.param(name + ".weight", [out_features, x.shape[-1]], init)
        operands = [x, w]
        if bias:
            operands.append(self.param(name + ".bias", [out_features],
                                       "zeros"))
        text = "var.linear %s : %s" % (
            ", ".join("%" + o.name for o in operands),
            ", ".join(o.type for o in operands))
        return self.op(name.replace(".", "_"), text,
                       x.shape[:-1] + [out_features])

    def dropout(self, x, p, hint=None):
        return self.op(hint or "dropped", "var.dropout %%%s p %s : %s" % (
            x.name, fmt_float(p), x.type), x.shape)

    def fold_time(self, x, hint="frames"):
        batch = None if x.shape[0] is None else x.shape[0] * x.shape[1]
        return self.op(hint, "var.fold_time %%%s : %s" % (x.name, x.type),
                       [batch] + x.shape[2:])

    def unfold_time(self, x, frames, hint="per_frame"):
        batch = None if x.shape[0] is None else x.shape[0] // frames
        return self.op(hint, "var.unfold_time %%%s frames %d : %s" % (
            x.name, frames, x.type), [batch, frames] + x.shape[1:])

    def mean_time(self, x, hint="clip"):
        return self.op(hint, "var.mean_time %%%s : %s" % (x.name, x.type),
                       [x.shape[0]] + x.shape[2:])

    def lstm(self, x, name, hidden):
        """torch.nn.LSTM(batch_first=True), one layer: (sequence, last)."""
        inputs = x.shape[-1]
        bound = 1.0 / hidden ** 0.5
        operands = [x,
                    self.param(name + ".weight_ih_l0", [4 * hidden, inputs],
                               "uniform", bound),
                    self.param(name + ".weight_hh_l0", [4 * hidden, hidden],
                               "uniform", bound),
                    self.param(name + ".bias_ih_l0", [4 * hidden], "uniform",
                               bound),
                    self.param(name + ".bias_hh_l0", [4 * hidden], "uniform",
                               bound)]
        seq = self.fresh(name.replace(".", "_") + "_sequence")
        last = self.fresh(name.replace(".", "_") + "_last")
        self.body.append("    %%%s, %%%s = var.lstm %s : %s" % (
            seq, last, ", ".join("%" + o.name for o in operands),
            ", ".join(o.type for o in operands)))
        return (Value(seq, x.shape[:2] + [hidden]),
                Value(last, [x.shape[0], hidden]))

    # -- output -----------------------------------------------------------------

    def emit(self, result):
        lines = ["// " + line if line else "//" for line in self.header]
        lines.append("module {")
        lines.extend(self.params)
        lines.append("")
        args = ", ".join("%%%s: %s" % (a.name, a.type) for a in self.args)
        lines.append("  func.func @forward(%s) -> %s {" % (args, result.type))
        body = self.body
        while body and body[0] == "":
            body = body[1:]
        lines.extend(body)
        lines.append("    return %%%s : %s" % (result.name, result.type))
        lines.append("  }")
        lines.append("}")
        return "\n".join(lines) + "\n"
