"""Entity resolution quality: when are two cause names one cause?

    python bench/resolution.py

Each pair of bench/data/cause-pairs.jsonl (written by us: 46 pairs that name the same cause
in other words, 47 hard pairs of different causes that share words) is judged by
`lessons.graph.resolution.same_entity` with the real model's cosine of the two names, and
by its parts alone: name keys only, and cosine only. For every candidate threshold the
script prints precision and recall of "same". The chosen threshold is the lowest one with no
wrong merge among the pairs (a wrong merge hides a different cause; a missed one only leaves
a duplicate), and a 5-fold cross-validation shows how well that choice carries to pairs it
was not chosen on.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from common import load_model, machine_info

from lessons.graph.resolution import SAME_ENTITY_COSINE, name_key, same_entity

PAIRS = Path(__file__).resolve().parent / "data" / "cause-pairs.jsonl"
PRECISION_TARGET = 1.0


def precision_recall(predicted: list[bool], truth: list[bool]) -> tuple[float, float]:
    hits = sum(p and t for p, t in zip(predicted, truth, strict=True))
    merged = sum(predicted)
    return (hits / merged if merged else 1.0), hits / sum(truth)


def choose_threshold(pairs: list[dict[str, object]], cosines: list[float]) -> float:
    """The lowest threshold whose merges on `pairs` are all right."""
    truth = [bool(p["same"]) for p in pairs]
    for threshold in np.arange(0.60, 1.0, 0.01):
        predicted = [
            same_entity(str(p["a"]), str(p["b"]), c, float(threshold))
            for p, c in zip(pairs, cosines, strict=True)
        ]
        if precision_recall(predicted, truth)[0] >= PRECISION_TARGET:
            return round(float(threshold), 2)
    return 1.0


def main() -> None:
    print(machine_info())
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    model = load_model(64, [p["a"] for p in pairs[:8]])
    a = model.encode([p["a"] for p in pairs])
    b = model.encode([p["b"] for p in pairs])
    cosines = [float(x) for x in (a * b).sum(axis=1)]
    truth = [bool(p["same"]) for p in pairs]
    print(f"{len(pairs)} pairs: {sum(truth)} same, {len(truth) - sum(truth)} different\n")

    keys = [name_key(p["a"]) == name_key(p["b"]) for p in pairs]
    print(f"{'rule':<40} {'precision':>9} {'recall':>7}")
    print(
        f"{'name keys only':<40} {precision_recall(keys, truth)[0]:>9.3f} "
        f"{precision_recall(keys, truth)[1]:>7.3f}"
    )
    for threshold in (0.75, 0.80, 0.85, 0.88, 0.90, 0.92, 0.95):
        cos_only = [c >= threshold for c in cosines]
        full = [
            same_entity(p["a"], p["b"], c, threshold) for p, c in zip(pairs, cosines, strict=True)
        ]
        pc, rc = precision_recall(cos_only, truth)
        pf, rf = precision_recall(full, truth)
        print(f"{f'cosine >= {threshold:.2f} only':<40} {pc:>9.3f} {rc:>7.3f}")
        print(f"{f'same_entity at {threshold:.2f}':<40} {pf:>9.3f} {rf:>7.3f}")

    chosen = choose_threshold(pairs, cosines)
    full = [same_entity(p["a"], p["b"], c, chosen) for p, c in zip(pairs, cosines, strict=True)]
    precision, recall = precision_recall(full, truth)
    print(
        f"\nchosen threshold {chosen:.2f} (in the code: {SAME_ENTITY_COSINE}): "
        f"precision {precision:.3f}, recall {recall:.3f}"
    )
    wrong = [p for p, f, t in zip(pairs, full, truth, strict=True) if f and not t]
    for p in wrong:
        print(f"  wrongly merged: {p['a']!r} / {p['b']!r}")

    order = np.random.default_rng(7).permutation(len(pairs))
    predicted: dict[int, bool] = {}
    for fold in range(5):
        test = [int(i) for n, i in enumerate(order) if n % 5 == fold]
        train = [int(i) for n, i in enumerate(order) if n % 5 != fold]
        threshold = choose_threshold([pairs[i] for i in train], [cosines[i] for i in train])
        for i in test:
            predicted[i] = same_entity(pairs[i]["a"], pairs[i]["b"], cosines[i], threshold)
    cv = [predicted[i] for i in range(len(pairs))]
    precision, recall = precision_recall(cv, truth)
    print(f"5-fold cross-validated: precision {precision:.3f}, recall {recall:.3f}")


if __name__ == "__main__":
    main()
