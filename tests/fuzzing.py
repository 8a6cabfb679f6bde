"""A seeded mutation fuzzer: the same inputs on every run, so a failure can be replayed.

Each mutant is made from a known-good input by a few random edits (bit flips,
byte changes, cut, insert, duplicate a slice). ``mutants`` yields (index, bytes)
and never yields the original itself.
"""

from __future__ import annotations

import random
from collections.abc import Iterator


def mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        choice = rng.randrange(6)
        at = rng.randrange(len(out)) if out else 0
        if choice == 0 and out:
            out[at] ^= 1 << rng.randrange(8)
        elif choice == 1 and out:
            out[at] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif choice == 2:
            del out[at:at + rng.randrange(1, 64)]
        elif choice == 3:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        elif choice == 4 and out:
            end = min(len(out), at + rng.randrange(1, 256))
            out[at:at] = out[at:end]
        else:
            out = out[:at]
    return bytes(out)


def mutants(seed: int, data: bytes, count: int) -> Iterator[tuple[int, bytes]]:
    rng = random.Random(seed)
    made = 0
    while made < count:
        mutant = mutate(rng, data)
        if mutant != data:
            yield made, mutant
            made += 1
