"""Pack a directory of per-video ``.npy`` features into a packed store.

Examples::

    # every .npy of the directory, stored as float16, 4 GiB shards
    python tools/data/pack_features.py data/videolt/r101 \\
        data/videolt/r101_packed_fp16 --dtype float16

    # only the videos of some lists; verify the result against the sources
    python tools/data/pack_features.py SRC OUT --ann-file train.lst \\
        validate.lst --verify --compare-source

    # check an existing store only
    python tools/data/pack_features.py SRC OUT --verify-only

A killed run resumes when started again with the same arguments. Exit code:
0 when everything is packed (and verified), 1 when verification finds a
problem.
"""

import argparse
import re
import sys

from meid_datatools.packing import (
    DEFAULT_SHARD_BYTES,
    list_source_ids,
    pack_features,
    verify_packed_store,
)
from meid_mmaction.datasets.packed_store import SUPPORTED_DTYPES

_UNITS = {'': 1, 'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}


def parse_size(text: str) -> int:
    """``'4G'`` -> 4 GiB, ``'512M'``, ``'1000'`` (bytes)."""
    m = re.fullmatch(
        r'\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*', text, flags=re.IGNORECASE
    )
    if m is None or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(
            f'invalid size {text!r}; expected a positive number of bytes '
            'with an optional K/M/G/T suffix, e.g. 4G'
        )
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Pack per-video .npy features into shards + an index.'
    )
    parser.add_argument('src', help='directory of <video id>.npy files')
    parser.add_argument('out', help='output directory of the packed store')
    parser.add_argument(
        '--ann-file',
        nargs='+',
        default=None,
        help='video lists (<id> <labels>); pack only their ids '
        '(default: every .npy in src)',
    )
    parser.add_argument(
        '--dtype',
        choices=SUPPORTED_DTYPES,
        default='float32',
        help='stored dtype',
    )
    parser.add_argument(
        '--shard-size',
        type=parse_size,
        default=DEFAULT_SHARD_BYTES,
        help='size limit of a shard, e.g. 4G (default), 512M',
    )
    parser.add_argument(
        '--verify',
        action='store_true',
        help='re-hash the shards after packing',
    )
    parser.add_argument(
        '--verify-only',
        action='store_true',
        help='do not pack, only verify OUT',
    )
    parser.add_argument(
        '--compare-source',
        action='store_true',
        help='with --verify/--verify-only: also compare every video with '
        'its source file (reads everything)',
    )
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    progress = not args.no_progress
    if not args.verify_only:
        try:
            ids = list_source_ids(args.src, args.ann_file)
            summary = pack_features(
                args.src,
                args.out,
                ids,
                dtype=args.dtype,
                shard_bytes=args.shard_size,
                progress=progress,
            )
        except (ValueError, FileNotFoundError) as err:
            # every bad file at once (like tools/data/check_dataset.py)
            print(f'error: {err}', file=sys.stderr)
            return 1
        print(
            f'packed {summary["written"]} videos ({summary["skipped"]} '
            f'already there) into {args.out}: {summary["videos"]} videos '
            f'in {summary["shards"]} shards'
        )
    if args.verify or args.verify_only:
        problems = verify_packed_store(
            args.out,
            args.src if args.compare_source else None,
            progress=progress,
        )
        for p in problems:
            print(f'PROBLEM: {p}', file=sys.stderr)
        if problems:
            print(
                f'verification of {args.out} failed: {len(problems)} problems',
                file=sys.stderr,
            )
            return 1
        print(f'verification of {args.out}: OK')
    return 0


if __name__ == '__main__':
    sys.exit(main())
