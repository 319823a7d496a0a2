#!/usr/bin/env python3
"""PyTorch reference for npsh's bidirectional GCN predictor.

Two jobs, neither needed by CI (CI only reads the committed golden file):

  parity FIXTURE OUT    Fits the model described by FIXTURE (made by
                        `npsh benchmark parity-fixture`) from its initial weights and batch
                        order, and writes the loss after steps 1, 10 and 100 and the final
                        predictions on the held-out cells to OUT (the golden numbers).
  speed N EPOCHS DIM    Times a fit of N cells for EPOCHS epochs at size DIM (batch 10) and a
                        prediction of 423,624 cells, twice: with the port below ("fit SECONDS",
                        "predict SECONDS") and with a plain module port, written as a PyTorch
                        user would write the paper's model (nn.Linear per direction, dropout
                        after each layer, TensorDataset + DataLoader, Adam with weight decay,
                        CosineAnnealingLR per step) ("plain-fit SECONDS", "plain-predict SECONDS").
                        Both do inside the timed region what npsh does inside its own: dropout
                        0.1 after each GCN layer while fitting, and, while predicting, encoding
                        each batch from raw cells (op indices, 0/1 adjacency, vertex counts) to
                        one-hot operations and normalised adjacencies.

The math is npsh's, written plainly: adjacency (and its transpose) with self-loops on real
vertices, row-normalised; per layer P = H·W, Z = [Af·Pf + bf | Ab·Pb + bb],
H = (relu(Zf) + relu(Zb)) / 2; mean over real vertices; FC + ReLU; one output through
0.1 + 0.9·sigmoid; loss mean(((y − t) / sd(t))²); Adam (eps 1e-8) with L2 weight decay on
weights only; cosine learning rate lr·(1 + cos(π·step / steps)) / 2 set before each step.
"""
import json
import math
import sys
import time

import torch

torch.set_num_threads(2)
# Subnormal floats flushed to zero, as npsh does: late in a fit the gradients and moments
# drift into the subnormal range, where each multiply takes a microcode assist (without
# this the trained plain port predicted 423,624 cells in 113 s instead of a few).
torch.set_flush_denormal(True)
OPS = ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "output"]


def encode(cells, V=7):
    ops = torch.zeros(len(cells), V, 5)
    adj = torch.zeros(len(cells), V, V)
    counts = torch.zeros(len(cells), dtype=torch.long)
    for b, c in enumerate(cells):
        n = len(c["ops"])
        counts[b] = n
        for v, op in enumerate(c["ops"]):
            ops[b, v, OPS.index(op)] = 1
        for i in range(n):
            for j in range(n):
                adj[b, i, j] = c["matrix"][i][j]
    return ops, adj, counts


def normalise(adj, counts):
    V = adj.shape[1]
    eye = torch.zeros_like(adj)
    for b in range(adj.shape[0]):
        eye[b, : counts[b], : counts[b]] = torch.eye(int(counts[b]))
    def rownorm(m):
        s = m.sum(-1, keepdim=True)
        return torch.where(s > 0, m / s.clamp(min=1e-30), torch.zeros_like(m))
    return rownorm(adj + eye), rownorm(adj.transpose(1, 2) + eye)


def encode_batch(opidx, adj, counts):
    """One batch of raw cells (op indices [B, V], 0/1 adjacency [B, V, V], vertex counts [B])
    as the network's inputs: one-hot ops and both normalised adjacencies, vectorised."""
    ops = torch.nn.functional.one_hot(opidx, len(OPS)).float()
    V = adj.shape[1]
    real = (torch.arange(V)[None, :] < counts[:, None]).float()
    ops = ops * real[..., None]
    adj = adj.float()
    eye = torch.eye(V)[None] * real[:, :, None] * real[:, None, :]
    def rownorm(m):
        s = m.sum(-1, keepdim=True)
        return torch.where(s > 0, m / s.clamp(min=1e-30), torch.zeros_like(m))
    return ops, rownorm(adj + eye), rownorm(adj.transpose(1, 2) + eye), real


def raw_cells(k, V=7):
    """k random raw 7-vertex cells: op indices, upper-triangular 0/1 adjacency, counts."""
    opidx = torch.randint(1, 4, (k, V))
    opidx[:, 0] = 0
    opidx[:, -1] = 4
    adj = torch.triu((torch.rand(k, V, V) < 0.3), diagonal=1).to(torch.uint8)
    return opidx, adj, torch.full((k,), V, dtype=torch.long)


class GCN(torch.nn.Module):
    def __init__(self, layers, dim, fc, dropout=0.0):
        super().__init__()
        self.dim = dim
        self.drop = torch.nn.Dropout(dropout) if dropout > 0 else None
        self.w = torch.nn.ParameterList()
        self.b = torch.nn.ParameterList()
        for l in range(layers):
            din = 5 if l == 0 else dim
            self.w.append(torch.nn.Parameter(torch.zeros(din, 2 * dim)))
            self.b.append(torch.nn.Parameter(torch.zeros(2 * dim)))
        self.fc_w = torch.nn.Parameter(torch.zeros(dim, fc))
        self.fc_b = torch.nn.Parameter(torch.zeros(fc))
        self.out_w = torch.nn.Parameter(torch.zeros(fc, 1))
        self.out_b = torch.nn.Parameter(torch.zeros(1))

    def ordered(self):
        out = []
        for w, b in zip(self.w, self.b):
            out += [w, b]
        return out + [self.fc_w, self.fc_b, self.out_w, self.out_b]

    def forward(self, ops, af, ab, counts):
        h = ops
        D = self.dim
        for w, b in zip(self.w, self.b):
            p = h @ w
            zf = af @ p[..., :D] + b[:D]
            zb = ab @ p[..., D:] + b[D:]
            h = 0.5 * (torch.relu(zf) + torch.relu(zb))
            if self.drop is not None:
                h = self.drop(h)
        mask = (torch.arange(h.shape[1])[None, :] < counts[:, None]).float()
        g = (h * mask[..., None]).sum(1) / counts[:, None].float()
        u = torch.relu(g @ self.fc_w + self.fc_b)
        z = (u @ self.out_w + self.out_b)[:, 0]
        return 0.1 + 0.9 * torch.sigmoid(z)


def fit(model, ops, af, ab, counts, labels, orders, lr, wd, epochs, batch, record=()):
    weights = [p for p in model.ordered() if p.dim() == 2]
    biases = [p for p in model.ordered() if p.dim() == 1]
    opt = torch.optim.Adam([{"params": weights, "weight_decay": wd}, {"params": biases, "weight_decay": 0.0}],
                           lr=lr, eps=1e-8)
    sd = labels.std(unbiased=False)
    n = len(labels)
    steps_per_epoch = (n + batch - 1) // batch
    total = steps_per_epoch * epochs
    losses = {}
    step = 0
    for epoch in range(epochs):
        perm = orders[epoch % len(orders)] if orders is not None else torch.randperm(n).tolist()
        for s in range(steps_per_epoch):
            idx = perm[s * batch:(s + 1) * batch]
            for g in opt.param_groups:
                g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total))
            opt.zero_grad()
            y = model(ops[idx], af[idx], ab[idx], counts[idx])
            loss = (((y - labels[idx]) / sd) ** 2).mean()
            loss.backward()
            opt.step()
            step += 1
            if step in record:
                losses[step] = loss.item()
    return losses


def parity(fixture_path, out_path):
    fx = json.load(open(fixture_path))
    cfg = fx["config"]
    model = GCN(int(cfg["layers"]), int(cfg["dim"]), int(cfg["fc"]))
    flat = torch.tensor(fx["initial"], dtype=torch.float32)
    for p, t in zip(model.ordered(), fx["tensors"]):
        p.data.copy_(flat[int(t["offset"]):int(t["offset"]) + int(t["rows"]) * int(t["cols"])].view(p.shape))
    ops, adj, counts = encode(fx["train"])
    af, ab = normalise(adj, counts)
    labels = torch.tensor(fx["labels"], dtype=torch.float32)
    orders = [[int(i) for i in o] for o in fx["orders"]]
    losses = fit(model, ops, af, ab, counts, labels, orders, cfg["lr"], cfg["wd"], int(cfg["epochs"]), int(cfg["batch"]),
                 record=(1, 10, 100))
    tops, tadj, tcounts = encode(fx["test"])
    taf, tab = normalise(tadj, tcounts)
    with torch.no_grad():
        pred = model(tops, taf, tab, tcounts).tolist()
    json.dump({"torch": torch.__version__, "python": sys.version.split()[0],
               "loss_step_1": losses[1], "loss_step_10": losses[10], "loss_step_100": losses[100],
               "predictions": pred}, open(out_path, "w"), indent=1)
    print(f"wrote {out_path}: losses {losses}")


def random_cells(k, V=7):
    """k random 7-vertex cells for the speed runs: one-hot ops, normalised adjacencies, counts."""
    ops = torch.zeros(k, V, 5)
    ops[:, 0, 0] = 1
    ops[:, -1, 4] = 1
    ops[torch.arange(k)[:, None], torch.arange(1, V - 1)[None, :], torch.randint(1, 4, (k, V - 2))] = 1
    adj = torch.triu((torch.rand(k, V, V) < 0.3).float(), diagonal=1)
    counts = torch.full((k,), V, dtype=torch.long)
    af, ab = normalise(adj, counts)
    return ops, af, ab, counts


def speed(n, epochs, dim):
    torch.manual_seed(0)
    model = GCN(3, dim, 128, dropout=0.1)
    for p in model.ordered():
        if p.dim() == 2:
            torch.nn.init.xavier_uniform_(p)
    ops, af, ab, counts = random_cells(n)
    labels = 0.85 + 0.1 * torch.rand(n)
    model.train()
    t = time.time()
    fit(model, ops, af, ab, counts, labels, None, 1e-4, 1e-3, epochs, 10)
    print(f"fit {time.time() - t:.3f}")
    model.eval()
    total = 423624
    opidx, adj, cnt = raw_cells(total)
    t = time.time()
    with torch.no_grad():
        for start in range(0, total, 1024):
            end = min(total, start + 1024)
            o, f, b, _ = encode_batch(opidx[start:end], adj[start:end], cnt[start:end])
            model(o, f, b, cnt[start:end])
    print(f"predict {time.time() - t:.3f}")


class PlainBiGCN(torch.nn.Module):
    def __init__(self, din, dim):
        super().__init__()
        self.fw = torch.nn.Linear(din, dim)
        self.bw = torch.nn.Linear(din, dim)

    def forward(self, x, af, ab):
        return 0.5 * (torch.relu(af @ self.fw(x)) + torch.relu(ab @ self.bw(x)))


class PlainPredictor(torch.nn.Module):
    def __init__(self, layers, dim, fc, dropout=0.1):
        super().__init__()
        self.gcn = torch.nn.ModuleList([PlainBiGCN(5 if l == 0 else dim, dim) for l in range(layers)])
        self.drop = torch.nn.Dropout(dropout)
        self.fc = torch.nn.Linear(dim, fc)
        self.out = torch.nn.Linear(fc, 1)

    def forward(self, ops, af, ab, mask):
        h = ops
        for layer in self.gcn:
            h = self.drop(layer(h, af, ab))
        g = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return 0.1 + 0.9 * torch.sigmoid(self.out(torch.relu(self.fc(g))))[:, 0]


def plain_speed(n, epochs, dim):
    from torch.utils.data import DataLoader, TensorDataset
    torch.manual_seed(0)
    def cells_with_mask(k):
        ops, af, ab, counts = random_cells(k)
        return ops, af, ab, (torch.arange(ops.shape[1])[None, :] < counts[:, None]).float()
    model = PlainPredictor(3, dim, 128)
    ops, af, ab, mask = cells_with_mask(n)
    labels = 0.85 + 0.1 * torch.rand(n)
    loader = DataLoader(TensorDataset(ops, af, ab, mask, labels), batch_size=10, shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * len(loader))
    model.train()
    t = time.time()
    for _ in range(epochs):
        for o, f, b, m, y in loader:
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(o, f, b, m), y)
            loss.backward()
            opt.step()
            sched.step()
    print(f"plain-fit {time.time() - t:.3f}", flush=True)
    model.eval()
    total = 423624
    opidx, adj, cnt = raw_cells(total)
    t = time.time()
    with torch.no_grad():
        for start in range(0, total, 1024):
            end = min(total, start + 1024)
            model(*encode_batch(opidx[start:end], adj[start:end], cnt[start:end]))
    print(f"plain-predict {time.time() - t:.3f}", flush=True)

if __name__ == "__main__":
    if sys.argv[1] == "parity":
        parity(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "speed":
        speed(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        plain_speed(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("usage: predictor_reference.py parity FIXTURE OUT | speed N EPOCHS DIM")
