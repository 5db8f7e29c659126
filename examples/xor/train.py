#!/usr/bin/env python3
"""XOR with a 2-H-1 sigmoid network trained by plain full-batch gradient descent: the classic net
that learns for some seeds and gets stuck in a local minimum for others. Standard library only.

The same net and update as examples/xor/xor.mjs, as a converge command trainer. Its parameters
come from the command line, else from the JSON file named by $CONVERGE_PARAMS (keys hidden,
learning_rate, epochs, report_every), else the defaults below; the seed from --seed, else
$CONVERGE_SEED. Reports one JSON line per epoch, {"epoch", "loss", "accuracy"}, appended to the
file named by $CONVERGE_METRICS (printed to stdout when it is unset, to try it by hand):

    python3 train.py --hidden 2 --lr 4 --epochs 300 --seed 7
"""
import argparse
import json
import math
import os
import random

PATTERNS = [((0.0, 0.0), 0.0), ((0.0, 1.0), 1.0), ((1.0, 0.0), 1.0), ((1.0, 1.0), 0.0)]
DEFAULTS = {"hidden": 2, "learning_rate": 2.0, "epochs": 1000, "report_every": 1}


def sigmoid(z):
    # Clamped so a saturated unit gives 0 or 1 instead of an OverflowError.
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def settings():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, help="hidden units H")
    parser.add_argument("--lr", dest="learning_rate", type=float, help="step size of the full-batch gradient descent")
    parser.add_argument("--epochs", type=int, help="full-batch updates (one per epoch)")
    parser.add_argument("--report-every", dest="report_every", type=int, help="report every k-th epoch (and the last)")
    parser.add_argument("--seed", type=int, help="seeds the initial weights")
    args = vars(parser.parse_args())
    declared = {}
    if os.environ.get("CONVERGE_PARAMS"):
        with open(os.environ["CONVERGE_PARAMS"]) as f:
            declared = json.load(f)
    values = {}
    for name, default in DEFAULTS.items():
        given = args[name] if args[name] is not None else declared.get(name, default)
        values[name] = type(default)(given)
    seed = args["seed"] if args["seed"] is not None else int(os.environ.get("CONVERGE_SEED", "0"))
    return values, seed


def main():
    p, seed = settings()
    rng = random.Random(seed)
    h, lr = p["hidden"], p["learning_rate"]
    # Weights uniform in [-1, 1]: w1[j] = (input 0, input 1, bias) of hidden unit j; w2 = hidden..., bias.
    w1 = [[rng.uniform(-1.0, 1.0) for _ in range(3)] for _ in range(h)]
    w2 = [rng.uniform(-1.0, 1.0) for _ in range(h + 1)]

    def forward(x):
        hidden = [sigmoid(w[0] * x[0] + w[1] * x[1] + w[2]) for w in w1]
        out = sigmoid(sum(w2[j] * hidden[j] for j in range(h)) + w2[h])
        return hidden, out

    path = os.environ.get("CONVERGE_METRICS")
    # Appended to, never rewritten: converge follows the file while it grows.
    sink = open(path, "a") if path else None
    for epoch in range(1, p["epochs"] + 1):
        # The gradient of 0.5 * sum((out - target)^2) over the four patterns, then one step.
        g1 = [[0.0, 0.0, 0.0] for _ in range(h)]
        g2 = [0.0] * (h + 1)
        for x, target in PATTERNS:
            hidden, out = forward(x)
            d_out = (out - target) * out * (1.0 - out)
            for j in range(h):
                d_hidden = d_out * w2[j] * hidden[j] * (1.0 - hidden[j])
                g2[j] += d_out * hidden[j]
                g1[j][0] += d_hidden * x[0]
                g1[j][1] += d_hidden * x[1]
                g1[j][2] += d_hidden
            g2[h] += d_out
        for j in range(h):
            w2[j] -= lr * g2[j]
            for i in range(3):
                w1[j][i] -= lr * g1[j][i]
        w2[h] -= lr * g2[h]
        if epoch % p["report_every"] and epoch != p["epochs"]:
            continue
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
