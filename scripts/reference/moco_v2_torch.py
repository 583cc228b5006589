#!/usr/bin/env python3
"""Independent PyTorch MoCo v2 on the tiles `replicate dataset export` writes.

Not a test dependency: a reference that says what MoCo v2 reaches on the embedded data at a
given budget, to compare with `replicate moco-v2 --profile ci`. Setup as the official CIFAR demo
(facebookresearch/moco colab `moco_cifar10_demo.ipynb`) scaled to the ci profile: ResNet-small
16-32-64-128 with a CIFAR stem, MLP head, queue K, momentum m, InfoNCE at T, SGD 0.9 with
weight decay 5e-4 and a cosine schedule, plain batch norm (one process), aug+ at 32 px from
64 px tiles. Evaluation as the harness: weighted kNN (k 200, T 0.1) and a linear probe on the
frozen pooled features of 1600 training and 800 test tiles, beside the no-learning control (the
same initial weights with batch-norm statistics refitted on the pool).

    replicate dataset export /tmp/tiles --size 64
    python3 scripts/reference/moco_v2_torch.py /tmp/tiles --steps 480 --seed 0
"""
import argparse
import copy
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
import torchvision.transforms as T


def load_split(root, split, per_class):
    classes = sorted(os.listdir(os.path.join(root, split)))
    images, labels = [], []
    for c, name in enumerate(classes):
        files = sorted(os.listdir(os.path.join(root, split, name)))[:per_class]
        for f in files:
            images.append(Image.open(os.path.join(root, split, name, f)).convert("RGB"))
            labels.append(c)
    return images, np.array(labels)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class ResNetSmall(nn.Module):
    def __init__(self, widths=(16, 32, 64, 128)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers, cin = [], widths[0]
        for i, w in enumerate(widths):
            layers.append(Block(cin, w, 1 if i == 0 else 2))
            cin = w
        self.layers = nn.Sequential(*layers)
        self.dim = cin
        for m in self.modules():  # torchvision's ResNet init
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        return torch.flatten(F.adaptive_avg_pool2d(self.layers(x), 1), 1)


class Encoder(nn.Module):
    def __init__(self, dim=128):
        super().__init__()
        self.backbone = ResNetSmall()
        f = self.backbone.dim
        self.head = nn.Sequential(nn.Linear(f, f), nn.ReLU(), nn.Linear(f, dim))

    def forward(self, x):
        return F.normalize(self.head(self.backbone(x)), dim=1)


MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def augmentation(size, blur, crop_min):
    steps = [
        T.RandomResizedCrop(size, scale=(crop_min, 1.0)),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        T.RandomGrayscale(p=0.2),
    ]
    if blur > 0:
        steps.append(T.RandomApply([T.GaussianBlur(3, sigma=(0.1, 2.0))], p=blur))
    steps += [T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)]
    return T.Compose(steps)


def plain(size):
    return T.Compose([T.Resize(size), T.ToTensor(), T.Normalize(MEAN, STD)])


@torch.no_grad()
def features(backbone, x):
    backbone.eval()
    return torch.cat([backbone(x[i:i + 256]) for i in range(0, len(x), 256)])


@torch.no_grad()
def knn(train_f, train_y, test_f, test_y, k=200, t=0.1, classes=8):
    train_f, test_f = F.normalize(train_f, dim=1), F.normalize(test_f, dim=1)
    sim = test_f @ train_f.T
    w, idx = sim.topk(k, dim=1)
    w = (w / t).exp()
    votes = torch.zeros(len(test_f), classes)
    votes.scatter_add_(1, torch.as_tensor(train_y)[idx], w)
    return (votes.argmax(1).numpy() == test_y).mean()


def linear_probe(train_f, train_y, test_f, test_y, classes=8):
    mu, sd = train_f.mean(0), train_f.std(0) + 1e-6
    a, b = (train_f - mu) / sd, (test_f - mu) / sd
    layer = nn.Linear(a.shape[1], classes)
    opt = torch.optim.LBFGS(layer.parameters(), max_iter=500, line_search_fn="strong_wolfe")
    y = torch.as_tensor(train_y)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(layer(a), y) + 1e-4 * layer.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return (layer(b).argmax(1).numpy() == test_y).mean()


def evaluate(backbone, train_x, train_y, test_x, test_y):
    a, b = features(backbone, train_x), features(backbone, test_x)
    return knn(a, train_y, b, test_y), linear_probe(a, train_y, b, test_y)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("tiles")
    p.add_argument("--steps", type=int, default=480)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.03)
    p.add_argument("--queue", type=int, default=4096)
    p.add_argument("--momentum", type=float, default=0.99)
    p.add_argument("--temperature", type=float, default=0.2)
    p.add_argument("--blur", type=float, default=0.0)
    p.add_argument("--crop-min", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)

    train_images, train_y = load_split(args.tiles, "train", 200)
    test_images, test_y = load_split(args.tiles, "test", 100)
    ev = plain(32)
    train_x = torch.stack([ev(i) for i in train_images])
    test_x = torch.stack([ev(i) for i in test_images])

    q = Encoder()
    k = copy.deepcopy(q)
    for param in k.parameters():
        param.requires_grad = False

    control = copy.deepcopy(q.backbone)  # no-learning control: BN statistics refitted on the pool
    for m in control.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    control.train()
    with torch.no_grad():
        for i in range(0, len(train_x), args.batch):
            control(train_x[i:i + args.batch])
    c_knn, c_lin = evaluate(control, train_x, train_y, test_x, test_y)

    queue = F.normalize(torch.randn(args.queue, 128), dim=1)
    ptr = 0
    aug = augmentation(32, args.blur, args.crop_min)
    opt = torch.optim.SGD(q.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    per_epoch = len(train_images) // args.batch
    losses, epoch_loss, step, start = [], 0.0, 0, time.time()
    while step < args.steps:
        perm = np.random.permutation(len(train_images))
        for b in range(per_epoch):
            if step >= args.steps:
                break
            idx = perm[b * args.batch:(b + 1) * args.batch]
            v1 = torch.stack([aug(train_images[i]) for i in idx])
            v2 = torch.stack([aug(train_images[i]) for i in idx])
            for g in opt.param_groups:
                g["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * step / args.steps))
            q.train()
            k.train()
            qf = q(v1)
            with torch.no_grad():
                for pq, pk in zip(q.parameters(), k.parameters()):
                    pk.mul_(args.momentum).add_(pq.detach(), alpha=1 - args.momentum)
                kf = k(v2)
            pos = (qf * kf).sum(1, keepdim=True)
            neg = qf @ queue.clone().T
            logits = torch.cat([pos, neg], 1) / args.temperature
            loss = F.cross_entropy(logits, torch.zeros(len(idx), dtype=torch.long))
            opt.zero_grad()
            loss.backward()
            opt.step()
            n = len(idx)
            rows = (torch.arange(n) + ptr) % args.queue
            queue[rows] = kf
            ptr = (ptr + n) % args.queue
            epoch_loss += loss.item()
            step += 1
            if step % per_epoch == 0:
                losses.append(epoch_loss / per_epoch)
                epoch_loss = 0.0
    seconds = time.time() - start
    t_knn, t_lin = evaluate(q.backbone, train_x, train_y, test_x, test_y)
    chance = math.log(args.queue + 1)
    print(f"steps {args.steps} batch {args.batch} lr {args.lr} K {args.queue} m {args.momentum} T {args.temperature} "
          f"blur {args.blur} crop {args.crop_min} seed {args.seed}: {seconds:.0f} s")
    print(f"epoch losses: {' '.join(f'{l:.3f}' for l in losses)}")
    print(f"final loss {losses[-1]:.3f} = {losses[-1] / chance:.3f} of chance ln(K+1) {chance:.3f}")
    print(f"control kNN {c_knn:.4f} linear {c_lin:.4f}; trained kNN {t_knn:.4f} linear {t_lin:.4f}; "
          f"gain kNN {t_knn - c_knn:+.4f} linear {t_lin - c_lin:+.4f}")


if __name__ == "__main__":
    main()
