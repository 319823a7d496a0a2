#!/usr/bin/env python3
"""A real trainer for NAS-Bench-101 cells, following npsh's trainer contract
(docs/training.md): the benchmark's network on CIFAR-10, trained with PyTorch.

    bench trainer ["python3", "examples/trainers/nb101_torch.py", "--arch", "{arch}",
                   "--out", "{result}", "--seed", "{seed}", "--data", "/data/cifar10"] parallel=1 timeout=14400 retries=1

The network is NAS-Bench-101's (Ying et al. 2019): a 3×3 convolution stem of 128 channels,
3 stacks of 3 cells, a 2×2 max-pool halving the resolution and doubling the channels between
stacks, global average pooling and a dense layer. Inside a cell, each vertex sums its inputs
(the cell input through a 1×1 projection), applies its op, and the output vertex concatenates
the interior vertices that feed it (plus the projected input when connected), as in the
benchmark's model_builder. Training: SGD with momentum 0.9 and Nesterov, lr 0.1 cosine-decayed,
weight decay 1e-4, batch 256, standard augmentation; the last 10,000 training images are the
validation split, the test set is CIFAR-10's. The result is the final validation accuracy
(fraction), the test accuracy and the wall time. Exit 3 (failed for good, npsh never retries)
on CUDA out of memory or a non-finite loss.
"""
import argparse
import json
import math
import os
import sys
import time


def build(torch, nn, matrix, ops, channels=128, stacks=3, cells=3, classes=10):
    n = len(ops)

    def conv_bn_relu(cin, cout, k):
        return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def op_module(name, c):
        if name == "conv3x3-bn-relu":
            return conv_bn_relu(c, c, 3)
        if name == "conv1x1-bn-relu":
            return conv_bn_relu(c, c, 1)
        if name == "maxpool3x3":
            return nn.MaxPool2d(3, stride=1, padding=1)
        raise ValueError(f"unknown op {name}")

    class Cell(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            # Channels per interior vertex: the output's channels split over the vertices
            # that feed the output (NAS-Bench-101's compute_vertex_channels, simplified to an
            # even split with the remainder on the first).
            feeders = [v for v in range(1, n - 1) if matrix[v][n - 1]]
            self.feeders = feeders
            k = max(1, len(feeders))
            self.vc = [cout // k + (1 if i < cout % k else 0) for i in range(k)]
            width = {v: self.vc[feeders.index(v)] if v in feeders else cout // k for v in range(1, n - 1)}
            self.width = width
            self.proj = nn.ModuleDict({str(v): conv_bn_relu(cin, width[v], 1) for v in range(1, n - 1) if matrix[0][v]})
            self.ops = nn.ModuleDict({str(v): op_module(ops[v], width[v]) for v in range(1, n - 1)})
            self.adapt = nn.ModuleDict({f"{u}-{v}": nn.Conv2d(width[u], width[v], 1, bias=False)
                                        for v in range(1, n - 1) for u in range(1, v) if matrix[u][v] and width[u] != width[v]})
            self.out_proj = conv_bn_relu(cin, cout, 1) if matrix[0][n - 1] else None

        def forward(self, x):
            outs = {}
            for v in range(1, n - 1):
                terms = []
                if matrix[0][v]:
                    terms.append(self.proj[str(v)](x))
                for u in range(1, v):
                    if matrix[u][v]:
                        h = outs[u]
                        key = f"{u}-{v}"
                        terms.append(self.adapt[key](h) if key in self.adapt else h)
                outs[v] = self.ops[str(v)](sum(terms)) if terms else None
            parts = [outs[v] for v in self.feeders if outs[v] is not None]
            y = torch.cat(parts, 1) if parts else 0
            if self.out_proj is not None:
                y = y + self.out_proj(x)
            return y

    layers = [conv_bn_relu(3, channels, 3)]
    c = channels
    for s in range(stacks):
        if s > 0:
            layers.append(nn.MaxPool2d(2, 2))
            c_next = 2 * c
        else:
            c_next = c
        for i in range(cells):
            layers.append(Cell(c if i == 0 else c_next, c_next))
        c = c_next
    body = nn.Sequential(*layers)
    return nn.Sequential(body, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default="./cifar10", help="CIFAR-10 folder (downloaded there by torchvision if absent), or 'fake' for random images (torch only)")
    parser.add_argument("--epochs", type=int, default=108)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--channels", type=int, default=128)
    parser.add_argument("--limit", type=int, default=0, help="use only this many training images (a smoke test)")
    args = parser.parse_args()

    import torch
    import torch.nn as nn

    with open(args.arch) as f:
        arch = json.load(f)
    matrix, ops = arch["matrix"], arch["ops"]
    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.data == "fake":
        # Random images of CIFAR's shape (no torchvision, no download): a smoke test of the
        # network and the contract.
        g = torch.Generator().manual_seed(args.seed)
        n = args.limit or 1024
        images = lambda k: torch.randn(k, 3, 32, 32, generator=g)
        labels = lambda k: torch.randint(0, 10, (k,), generator=g)
        train_set = torch.utils.data.TensorDataset(images(n), labels(n))
        val_set = torch.utils.data.TensorDataset(images(max(1, n // 4)), labels(max(1, n // 4)))
        test = torch.utils.data.TensorDataset(images(max(1, n // 4)), labels(max(1, n // 4)))
    else:
        import torchvision
        import torchvision.transforms as T
        mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
        augment = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(mean, std)])
        plain = T.Compose([T.ToTensor(), T.Normalize(mean, std)])
        train_full = torchvision.datasets.CIFAR10(args.data, train=True, download=True, transform=augment)
        eval_full = torchvision.datasets.CIFAR10(args.data, train=True, download=False, transform=plain)
        test = torchvision.datasets.CIFAR10(args.data, train=False, download=True, transform=plain)
        n_train = 40000 if not args.limit else args.limit
        train_set = torch.utils.data.Subset(train_full, range(n_train))
        val_set = torch.utils.data.Subset(eval_full, range(40000, 50000) if not args.limit else range(40000, 40000 + args.limit // 4))
        if args.limit:
            test = torch.utils.data.Subset(test, range(args.limit // 4))
    workers = 0 if args.data == "fake" else 2
    loader = lambda ds, shuffle: torch.utils.data.DataLoader(ds, batch_size=args.batch, shuffle=shuffle, num_workers=workers)
    model = build(torch, nn, matrix, ops, channels=args.channels).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    steps = args.epochs * math.ceil(len(train_set) / args.batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    loss_fn = nn.CrossEntropyLoss()
    start = time.time()

    def accuracy(ds):
        model.eval()
        right = total = 0
        with torch.no_grad():
            for x, y in loader(ds, False):
                right += (model(x.to(device)).argmax(1).cpu() == y).sum().item()
                total += len(y)
        model.train()
        return right / max(1, total)

    try:
        for epoch in range(args.epochs):
            for x, y in loader(train_set, True):
                opt.zero_grad()
                loss = loss_fn(model(x.to(device)), y.to(device))
                if not torch.isfinite(loss):
                    print(f"diverged at epoch {epoch}: loss {loss.item()}", file=sys.stderr)
                    return 3
                loss.backward()
                opt.step()
                sched.step()
            print(f"epoch {epoch + 1}/{args.epochs} loss {loss.item():.4f}", flush=True)
    except RuntimeError as e:
        if "out of memory" in str(e):
            print(f"out of memory: {e}", file=sys.stderr)
            return 3
        raise
    result = {"metric": accuracy(val_set), "test": accuracy(test), "time": time.time() - start,
              "extra": {"epochs": args.epochs, "device": device, "parameters": sum(p.numel() for p in model.parameters())}}
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
