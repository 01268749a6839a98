#!/usr/bin/env python3
"""The peer: the classic recipe in PyTorch, timed the way train_mnist times itself.

Same net (conv 1->6 5x5, ReLU, maxpool 2, conv 6->16 5x5, ReLU, maxpool 2, fc 256->120->84->10),
same recipe (SGD lr 0.001, momentum 0.9, batch 64, 10 epochs, reshuffled every epoch, inputs
(p/255 - 0.5)/0.5), same data files. The images sit in memory as one tensor and batches are
sliced from it, which is faster than the original blog's torchvision DataLoader: the peer gets its best
case. "Training took" counts the training passes only, as train_mnist's does.

    python3 bench/pytorch_lenet.py --data ../shared/data/mnist --threads 2 [--device cpu|cuda]
"""
import argparse
import gzip
import os
import struct
import time

import numpy as np
import torch
from torch import nn


def read_idx(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, count * rows * cols, 16).reshape(count, 1, rows, cols)
    return np.frombuffer(data, np.uint8, count, 8)


def find(data_dir, name):
    for candidate in (name + ".gz", name):
        path = os.path.join(data_dir, candidate)
        if os.path.exists(path):
            return path
    raise SystemExit(f"pytorch_lenet: {name}(.gz) not found in {data_dir}")


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(256, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(nn.functional.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(nn.functional.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = nn.functional.relu(self.fc1(x))
        x = nn.functional.relu(self.fc2(x))
        return self.fc3(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.environ.get("MNIST_DIR", "data/mnist"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    normalize = lambda u8: (torch.from_numpy(u8.astype(np.float32)) / 255.0 - 0.5) / 0.5
    train_x = normalize(read_idx(find(args.data, "train-images-idx3-ubyte"))).to(device)
    train_y = torch.from_numpy(read_idx(find(args.data, "train-labels-idx1-ubyte")).astype(np.int64)).to(device)
    test_x = normalize(read_idx(find(args.data, "t10k-images-idx3-ubyte"))).to(device)
    test_y = torch.from_numpy(read_idx(find(args.data, "t10k-labels-idx1-ubyte")).astype(np.int64)).to(device)

    net = LeNet().to(device)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    print(f"pytorch_lenet: torch {torch.__version__} on {device}, {torch.get_num_threads()} threads")

    train_seconds = 0.0
    for epoch in range(args.epochs):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        order = torch.randperm(train_x.shape[0], device=device)
        running = 0.0
        for i in range(0, train_x.shape[0], 64):
            idx = order[i:i + 64]
            opt.zero_grad()
            loss = loss_fn(net(train_x[idx]), train_y[idx])
            loss.backward()
            opt.step()
            running += loss.item()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        train_seconds += seconds
        with torch.no_grad():
            correct = (net(test_x).argmax(1) == test_y).sum().item()
        batches = (train_x.shape[0] + 63) // 64
        print(f"epoch {epoch + 1}: loss {running / batches:.4f}, "
              f"test accuracy {100.0 * correct / test_x.shape[0]:.2f} %, {seconds:.1f} s", flush=True)
    print(f"Training took {train_seconds:.1f} seconds.")
    print(f"Accuracy of the network on the {test_x.shape[0]} test images: "
          f"{100.0 * correct / test_x.shape[0]:.2f} %")


if __name__ == "__main__":
    main()
