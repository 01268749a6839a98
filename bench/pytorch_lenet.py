#!/usr/bin/env python3
"""The peer: the classic recipe in PyTorch, timed the way train_mnist times itself.

Same net (conv 1->6 5x5, ReLU, maxpool 2, conv 6->16 5x5, ReLU, maxpool 2, fc 256->120->84->10),
same recipe (SGD lr 0.001, momentum 0.9, batch 64, 10 epochs, reshuffled every epoch, inputs
(p/255 - 0.5)/0.5), same data files. The images sit in memory as one tensor and batches are
sliced from it, which is faster than the original blog's torchvision DataLoader: the peer gets its best
case. "Training took" counts the training passes only, as train_mnist's does.

    python3 bench/pytorch_lenet.py --data ../shared/data/mnist --threads 2 [--device cpu|cuda]
        [--compile] [--epochs N] [--metrics FILE]

On --device cuda the data sets are copied to the GPU once, before training, and batches are
indexed there; the step reads nothing back (the loss and the correct count add up on the
device, read every --log-every batches and at the epoch's end, as train_mnist reads them).
Float32 throughout, as train_mnist: TF32 is switched off for cuDNN's convolutions (PyTorch's
default allows it) and for matmuls. --compile runs the net through
torch.compile(mode="reduce-overhead"): Inductor's kernels for forward and backward, replayed as
CUDA graphs (the SGD step stays eager); the compilation happens in the first steps and counts
in the first epoch's time. bench/gpu_vs_peers.sh runs both against train_mnist --device cuda
and --device cudnn.

--metrics FILE writes JSON Lines in train_mnist's --metrics format (docs/training.md): a recipe
record, batch records every --log-every batches, one epoch record per epoch (loss, train and
test accuracy, test loss, seconds) and an end record, so scripts/plot_metrics.py draws both
runs in one plot.
"""
import argparse
import gzip
import json
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
    parser.add_argument("--compile", action="store_true",
                        help='train through torch.compile(mode="reduce-overhead")')
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--metrics", help="JSON Lines file, as train_mnist --metrics writes")
    parser.add_argument("--log-every", type=int, default=100)
    args = parser.parse_args()
    metrics = open(args.metrics, "w") if args.metrics else None

    def record(**fields):
        if metrics:
            metrics.write(json.dumps(fields) + "\n")
            metrics.flush()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    normalize = lambda u8: (torch.from_numpy(u8.astype(np.float32)) / 255.0 - 0.5) / 0.5
    train_x = normalize(read_idx(find(args.data, "train-images-idx3-ubyte"))).to(device)
    train_y = torch.from_numpy(read_idx(find(args.data, "train-labels-idx1-ubyte")).astype(np.int64)).to(device)
    test_x = normalize(read_idx(find(args.data, "t10k-images-idx3-ubyte"))).to(device)
    test_y = torch.from_numpy(read_idx(find(args.data, "t10k-labels-idx1-ubyte")).astype(np.int64)).to(device)

    net = LeNet().to(device)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    # Static shapes: the short last batch gets a graph of its own rather than dynamic kernels.
    train_net = torch.compile(net, mode="reduce-overhead", dynamic=False) if args.compile else net
    where = str(device)
    if device.type == "cuda":
        where += f" ({torch.cuda.get_device_name(device)})"
    mode = ", torch.compile(mode=reduce-overhead)" if args.compile else ", eager"
    print(f"pytorch_lenet: torch {torch.__version__} on {where}{mode}, "
          f"{torch.get_num_threads()} threads")
    record(type="recipe", epochs=args.epochs, batch_size=64, lr=0.001, momentum=0.9,
           weight_decay=0.0, seed=args.seed, limit_train=train_x.shape[0],
           limit_test=test_x.shape[0], backend="pytorch-compile" if args.compile else "pytorch",
           device=f"{where}, {torch.get_num_threads()} threads", data=args.data,
           version=torch.__version__)

    train_seconds = 0.0
    batches = (train_x.shape[0] + 63) // 64
    for epoch in range(args.epochs):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        order = torch.randperm(train_x.shape[0], device=device)
        # Sums on the device (in double, as a Python float would add), read when reported.
        running = torch.zeros((), dtype=torch.float64, device=device)
        window, window_count = torch.zeros((), dtype=torch.float64, device=device), 0
        train_correct = torch.zeros((), dtype=torch.int64, device=device)
        for b, i in enumerate(range(0, train_x.shape[0], 64), start=1):
            idx = order[i:i + 64]
            opt.zero_grad()
            logits = train_net(train_x[idx])
            loss = loss_fn(logits, train_y[idx])
            loss.backward()
            opt.step()
            # The figures train_mnist reports: mean loss and accuracy over the epoch's batches
            # (train_mnist counts the correct ones in every step too).
            value = loss.detach()
            running += value
            train_correct += (logits.argmax(1) == train_y[idx]).sum()
            window += value
            window_count += 1
            if metrics and (b % args.log_every == 0 or b == batches):
                elapsed = time.perf_counter() - start
                record(type="batch", epoch=epoch + 1, batch=b, batches=batches,
                       step=epoch * batches + b, progress=epoch + b / batches,
                       loss=window.item() / window_count, images_per_second=min(i + 64, train_x.shape[0])
                       / elapsed if elapsed > 0 else 0.0, seconds=elapsed)
                window, window_count = torch.zeros_like(window), 0
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        train_seconds += seconds
        running = running.item()
        eval_start = time.perf_counter()
        with torch.no_grad():
            test_logits = net(test_x)
            test_loss = loss_fn(test_logits, test_y).item()
            correct = (test_logits.argmax(1) == test_y).sum().item()
        eval_seconds = time.perf_counter() - eval_start
        print(f"epoch {epoch + 1}: loss {running / batches:.4f}, "
              f"test accuracy {100.0 * correct / test_x.shape[0]:.2f} %, {seconds:.1f} s", flush=True)
        record(type="epoch", epoch=epoch + 1, loss=running / batches,
               train_accuracy=100.0 * train_correct.item() / train_x.shape[0],
               test_accuracy=100.0 * correct / test_x.shape[0], test_loss=test_loss,
               seconds=seconds, eval_seconds=eval_seconds, images=train_x.shape[0])
    print(f"Training took {train_seconds:.1f} seconds.")
    print(f"Accuracy of the network on the {test_x.shape[0]} test images: "
          f"{100.0 * correct / test_x.shape[0]:.2f} %")
    record(type="end", status="completed", train_seconds=train_seconds,
           test_accuracy=100.0 * correct / test_x.shape[0], checkpoint=None, message="")
    if metrics:
        metrics.close()


if __name__ == "__main__":
    main()
