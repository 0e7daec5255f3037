"""Checks varrun's gradients of a conv -> batch norm (training) -> ReLU ->
pooling -> linear -> cross-entropy model against an independent float64
reference written out by hand below. Usage: gradient_reference.py TEMPLATE
OUTDIR SEED [relu|relu6] [frozen]; prints one line per tensor and exits 1 on an error above 1e-5.
With `frozen`, the plan is compiled with varc --freeze-batch-norm and starts
from weights trained 3 steps without it, so that its running statistics,
which then normalize, are not the initial zeros and ones."""
import json, struct, subprocess, math, sys, os
template, out, seed = sys.argv[1], sys.argv[2], sys.argv[3]
act = sys.argv[4] if len(sys.argv) > 4 else "relu"
frozen = len(sys.argv) > 5 and sys.argv[5] == "frozen"
os.makedirs(out, exist_ok=True)
os.chdir(out)
B = ""
def load(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8]); h = json.loads(data[8:8+n]); body = data[8+n:]
    out = {}
    for k, v in h.items():
        if k == "__metadata__": continue
        b, e = v["data_offsets"]
        if v["dtype"] == "F32": out[k] = (v["shape"], list(struct.unpack("<%df" % ((e-b)//4), body[b:e])))
        elif v["dtype"] == "I64": out[k] = (v["shape"], list(struct.unpack("<%dq" % ((e-b)//8), body[b:e])))
    return out
open("m.mlir", "w").write(open(template).read().replace("ACT", act))
subprocess.check_call([B+"varc", "m.mlir", "--precision=fp32", "--micro-batch=4", "-o", "p.fb"], stderr=subprocess.DEVNULL)
subprocess.check_call([B+"varrun", "p.fb", "--seed=" + seed, "--export-weights=w0.safetensors", "--steps=" + ("3" if frozen else "0"), "--train-size=16", "--eval-size=4"], stdout=subprocess.DEVNULL)
step = ["p.fb", "--seed=" + seed]
if frozen:
    subprocess.check_call([B+"varc", "m.mlir", "--precision=fp32", "--micro-batch=4", "--freeze-batch-norm", "-o", "frozen.fb"], stderr=subprocess.DEVNULL)
    step = ["frozen.fb", "--init-weights=w0.safetensors"]
subprocess.check_call([B+"varrun"] + step + ["--dump-step=s.safetensors", "--train-size=16", "--eval-size=4"], stdout=subprocess.DEVNULL)
d = load("s.safetensors"); w = load("w0.safetensors")
x = d["input"][1]; labels = [int(v) for v in d["labels"][1]]
Bn, T, C, H, W = d["input"][0]
N = Bn * T; O = 4
cw = w["conv.weight"][1]; g = w["bn.weight"][1]; beta = w["bn.bias"][1]; fc = w["fc.weight"][1]
def X(n, c, y, xx):
    if y < 0 or y >= H or xx < 0 or xx >= W: return 0.0
    return x[((n * C + c) * H + y) * W + xx]
conv = [[[[sum(cw[((o*C+i)*3+ky)*3+kx] * X(n, i, yy+ky-1, xx+kx-1) for i in range(C) for ky in range(3) for kx in range(3)) for xx in range(W)] for yy in range(H)] for o in range(O)] for n in range(N)]
M = N * H * W
if frozen:
    mu, var = w["bn.running_mean"][1], w["bn.running_var"][1]
else:
    mu = [sum(conv[n][o][yy][xx] for n in range(N) for yy in range(H) for xx in range(W)) / M for o in range(O)]
    var = [sum((conv[n][o][yy][xx]-mu[o])**2 for n in range(N) for yy in range(H) for xx in range(W)) / M for o in range(O)]
inv = [1/math.sqrt(v + 1e-5) for v in var]
xh = [[[[ (conv[n][o][yy][xx]-mu[o])*inv[o] for xx in range(W)] for yy in range(H)] for o in range(O)] for n in range(N)]
bn = [[[[ g[o]*xh[n][o][yy][xx]+beta[o] for xx in range(W)] for yy in range(H)] for o in range(O)] for n in range(N)]
r = [[[[ (min(6.0, max(0.0, bn[n][o][yy][xx])) if act == "relu6" else max(0.0, bn[n][o][yy][xx])) for xx in range(W)] for yy in range(H)] for o in range(O)] for n in range(N)]
p = [[sum(r[n][o][yy][xx] for yy in range(H) for xx in range(W)) / (H*W) for o in range(O)] for n in range(N)]
t = [[sum(p[b*T+f][o] for f in range(T)) / T for o in range(O)] for b in range(Bn)]
K = 8
z = [[sum(fc[k*O+o]*t[b][o] for o in range(O)) for k in range(K)] for b in range(Bn)]
loss = 0; dz = []
for b in range(Bn):
    m = max(z[b]); e = [math.exp(v-m) for v in z[b]]; s = sum(e)
    loss += -(z[b][labels[b]] - m - math.log(s)) / Bn
    dz.append([(e[k]/s - (1 if k == labels[b] else 0)) / Bn for k in range(K)])
dfc = [sum(dz[b][k]*t[b][o] for b in range(Bn)) for k in range(K) for o in range(O)]
dt = [[sum(dz[b][k]*fc[k*O+o] for k in range(K)) for o in range(O)] for b in range(Bn)]
dp = [[dt[n//T][o]/T for o in range(O)] for n in range(N)]
dn = [[[[ (dp[n][o]/(H*W)) if bn[n][o][yy][xx] > 0 and (act != "relu6" or bn[n][o][yy][xx] < 6) else 0.0 for xx in range(W)] for yy in range(H)] for o in range(O)] for n in range(N)]
dg = [sum(dn[n][o][yy][xx]*xh[n][o][yy][xx] for n in range(N) for yy in range(H) for xx in range(W)) for o in range(O)]
db = [sum(dn[n][o][yy][xx] for n in range(N) for yy in range(H) for xx in range(W)) for o in range(O)]
if frozen:
    dc = [[[[ g[o]*inv[o]*dn[n][o][yy][xx] for xx in range(W)] for yy in range(H)] for o in range(O)] for n in range(N)]
else:
    dc = [[[[ g[o]*inv[o]/M*(M*dn[n][o][yy][xx] - db[o] - xh[n][o][yy][xx]*dg[o]) for xx in range(W)] for yy in range(H)] for o in range(O)] for n in range(N)]
dw = [sum(dc[n][o][yy][xx]*X(n, i, yy+ky-1, xx+kx-1) for n in range(N) for yy in range(H) for xx in range(W)) for o in range(O) for i in range(C) for ky in range(3) for kx in range(3)]
print("loss ref %.7f ours %.7f" % (loss, d["loss"][1][0]))
failed = abs(loss - d["loss"][1][0]) > 1e-5 * abs(loss)
for name, ref in [("fc.weight", dfc), ("bn.weight", dg), ("bn.bias", db), ("conv.weight", dw)]:
    ours = d["grad." + name][1]; scale = max(abs(v) for v in ref)
    err = max(abs(a-b) for a, b in zip(ref, ours)) / scale
    failed |= err > 1e-5
    print("%-12s %s (max relative error %.1e)" % (name, "ok" if err <= 1e-5 else "DIFFERENT", err))
sys.exit(1 if failed else 0)
