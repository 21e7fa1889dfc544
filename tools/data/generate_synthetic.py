"""Write a synthetic long-tailed multi-label feature dataset.

Example (the demo dataset, a few seconds)::

    python tools/data/generate_synthetic.py data/synthetic_demo

    python tools/data/generate_synthetic.py data/synthetic_ablation \\
        --preset ablation --seed 1 --set feat_dim=64 --set noise_std=1.5

    # real Charades action timelines, synthetic frame features
    python tools/data/generate_synthetic.py data/synthetic_charades \\
        --preset charades --charades-dir path/to/charades_annotations

See ``meid_datatools/synthetic/__init__.py`` for the generative model and
every knob.
"""

import argparse
import dataclasses
import sys
from typing import Any, Dict, List, Optional

import numpy as np

from meid_datatools import synthetic


def parse_overrides(items: List[str]) -> Dict[str, Any]:
    """``['key=value', ...]`` -> typed generator knobs.

    Keys and types are those of ``synthetic.SyntheticLTConfig``; a bad key
    or value raises ``ValueError`` naming it.
    """
    fields = dataclasses.fields(synthetic.SyntheticLTConfig)
    types = {f.name: f.type for f in fields}
    out: Dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition('=')
        if not sep or not key:
            raise ValueError(f'--set expects key=value, got {item!r}')
        if key not in types:
            raise ValueError(
                f'--set: unknown parameter {key!r}; expected '
                f'one of {sorted(types)}'
            )
        kind = types[key]
        kind = kind if isinstance(kind, str) else kind.__name__
        try:
            if kind == 'bool':
                if value.lower() not in ('true', 'false', '1', '0'):
                    raise ValueError
                out[key] = value.lower() in ('true', '1')
            else:
                out[key] = {'int': int, 'float': float, 'str': str}[kind](
                    value
                )
        except ValueError:
            raise ValueError(
                f'--set {key}: expected a {kind}, got {value!r}'
            ) from None
    return out


def summarize(meta: Dict[str, Any]) -> str:
    """Human-readable summary of a ``meta.json`` dict."""
    lines = [
        f'preset {meta["preset"]}, seed {meta["seed"]}: '
        f'{meta["num_classes"]} classes, feature dim {meta["feat_dim"]}'
    ]
    for split, s in meta['splits'].items():
        counts = np.asarray(s['class_counts'])
        missing = s['classes_without_positives']
        lines.append(
            f'  {split:8s} {s["num_videos"]:6d} videos, '
            f'{s["labels_per_video"]:.2f} labels/video, frames '
            f'{s["frames"]["min"]}-{s["frames"]["max"]}, class counts '
            f'min {counts.min()} / median {int(np.median(counts))} / max '
            f'{counts.max()}, background frames '
            f'{s["background_fraction"]:.1%}, classes without positives: '
            f'{missing if missing else "none"}'
        )
    head_thr, tail_thr = meta['group_thresholds']
    sizes = meta['group_sizes']
    lines.append(
        f'  imbalance ratio {meta["imbalance_ratio"]:.1f}; groups (head > '
        f'{head_thr}, tail <= {tail_thr}): {sizes["head"]} head / '
        f'{sizes["medium"]} medium / {sizes["tail"]} tail'
    )
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='output directory')
    parser.add_argument(
        '--preset', default='demo', choices=sorted(synthetic.PRESETS)
    )
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--charades-dir',
        default=None,
        help='directory of the official Charades CSVs '
        '(Charades_v1_train.csv, Charades_v1_test.csv), for '
        '--preset charades',
    )
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace a dataset already in out_dir',
    )
    parser.add_argument(
        '--set',
        dest='overrides',
        action='append',
        default=[],
        metavar='KEY=VALUE',
        help='replace a generator knob (repeatable)',
    )
    args = parser.parse_args(argv)
    try:
        overrides = parse_overrides(args.overrides)
        meta = synthetic.generate_synthetic_lt(
            args.out_dir,
            preset=args.preset,
            seed=args.seed,
            overwrite=args.overwrite,
            charades_dir=args.charades_dir,
            **overrides,
        )
    except ValueError as e:
        parser.exit(2, f'error: {e}\n')
    print(f'wrote {args.out_dir} in {meta["generation_seconds"]:.1f} s')
    print(summarize(meta))
    return 0


if __name__ == '__main__':
    sys.exit(main())
