#!/usr/bin/env python3
"""XOR with a 2-H-1 sigmoid network trained by plain SGD: the classic net that learns for some
seeds and gets stuck in a local minimum for others. Standard library only.

Reports one JSON line per epoch, {"epoch", "loss", "accuracy"}, appended to the file named by
$CONVERGE_METRICS (printed to stdout when it is unset, to try it by hand):

    python3 train.py --hidden 2 --lr 4 --epochs 300 --seed 7
"""
import argparse
import json
import math
import os
import random

PATTERNS = [((0.0, 0.0), 0.0), ((0.0, 1.0), 1.0), ((1.0, 0.0), 1.0), ((1.0, 1.0), 0.0)]


def sigmoid(z):
    # Clamped so a saturated unit gives 0 or 1 instead of an OverflowError.
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=2, help="hidden units H")
    parser.add_argument("--lr", type=float, default=4.0, help="SGD learning rate")
    parser.add_argument("--epochs", type=int, default=300, help="passes over the four patterns")
    parser.add_argument("--seed", type=int, default=0, help="seeds the initial weights and the pattern order")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    h = args.hidden
    # Weights uniform in [-1, 1]: w1[j] = (input 0, input 1, bias) of hidden unit j; w2 = hidden..., bias.
    w1 = [[rng.uniform(-1.0, 1.0) for _ in range(3)] for _ in range(h)]
    w2 = [rng.uniform(-1.0, 1.0) for _ in range(h + 1)]

    def forward(x):
        hidden = [sigmoid(w[0] * x[0] + w[1] * x[1] + w[2]) for w in w1]
        out = sigmoid(sum(w2[j] * hidden[j] for j in range(h)) + w2[h])
        return hidden, out

    path = os.environ.get("CONVERGE_METRICS")
    sink = open(path, "a") if path else None
    order = list(range(len(PATTERNS)))
    for epoch in range(1, args.epochs + 1):
        rng.shuffle(order)
        for i in order:
            x, target = PATTERNS[i]
            hidden, out = forward(x)
            # Squared error 0.5 * (out - target)^2, backpropagated through both sigmoid layers.
            d_out = (out - target) * out * (1.0 - out)
            for j in range(h):
                d_hidden = d_out * w2[j] * hidden[j] * (1.0 - hidden[j])
                w2[j] -= args.lr * d_out * hidden[j]
                w1[j][0] -= args.lr * d_hidden * x[0]
                w1[j][1] -= args.lr * d_hidden * x[1]
                w1[j][2] -= args.lr * d_hidden
            w2[h] -= args.lr * d_out
        outputs = [forward(x)[1] for x, _ in PATTERNS]
        loss = sum((o - t) ** 2 for o, (_, t) in zip(outputs, PATTERNS)) / len(PATTERNS)
        accuracy = sum((o > 0.5) == (t > 0.5) for o, (_, t) in zip(outputs, PATTERNS)) / len(PATTERNS)
        line = json.dumps({"epoch": epoch, "loss": loss, "accuracy": accuracy})
        if sink:
            sink.write(line + "\n")
            sink.flush()
        else:
            print(line)
    if sink:
        sink.close()


if __name__ == "__main__":
    main()
