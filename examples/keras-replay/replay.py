#!/usr/bin/env python3
"""Print a recorded Keras `model.fit(verbose=2)` log to stdout, as the training script did.

A command trainer that trains nothing: converge reads Keras' own epoch lines from a program's
stdout (`Epoch 3/50`, then ` - 3s - loss: 0.0812 - mae: 0.2436 - val_loss: … - val_mae: …`), so
an unmodified Keras script runs as a trainer; this replays one such script's output. Standard
library only:

    python3 replay.py ../../test/fixtures/keras-verbose2.log --delay 0.05
"""
import argparse
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", help="the recorded stdout of a model.fit(verbose=2) run")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each epoch, as if training")
    args = parser.parse_args()
    with open(args.log) as f:
        for line in f:
            if args.delay > 0 and line.startswith("Epoch "):
                time.sleep(args.delay)
            sys.stdout.write(line)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
