"""Extract per-frame features from raw videos with an MMAction2 2D backbone.

Examples::

    # ResNet-50 TSN checkpoint, 150 frames per video, one .npy per video
    python tools/data/extract_features.py CONFIG CHECKPOINT VIDEO_DIR \\
        OUT_DIR --num-frames 150 --ann-file train.lst

    # straight into a packed float16 store
    python tools/data/extract_features.py CONFIG CHECKPOINT VIDEO_DIR \\
        OUT_DIR --out-format packed --dtype float16

``CONFIG`` is a model config whose ``model.backbone`` is a 2D backbone
(e.g. mmaction ``ResNet``); mean/std come from ``model.data_preprocessor``
unless ``--mean/--std`` are given. Pass ``none`` as CHECKPOINT to use the
backbone's own ``pretrained``/``init_cfg`` (or random weights with
``--random-init``, for tests only).

Finished videos are skipped when the command is run again. Unreadable videos
are listed in ``OUT_DIR/extract_report.json`` (or ``--report``); the exit
code is 1 if any video failed, unless ``--allow-failures``.
"""

import argparse
import sys

import torch
from mmengine.config import Config, DictAction

from meid_datatools.extract import (
    FrameExtractor,
    build_backbone,
    extract_features,
    find_videos,
    normalisation_from_config,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Per-frame features [K, D] from raw videos.'
    )
    parser.add_argument('config', help='model config with a 2D backbone')
    parser.add_argument(
        'checkpoint', help="checkpoint file, or 'none' (see --help)"
    )
    parser.add_argument('video_dir', help='directory of video files')
    parser.add_argument('out_dir', help='output directory')
    parser.add_argument(
        '--ann-file',
        nargs='+',
        default=None,
        help='video lists (<id> <labels>): extract only '
        'these ids (default: every video in video_dir)',
    )
    parser.add_argument(
        '--suffix',
        default=None,
        help='video file extension, e.g. .mp4 (default: '
        'any common video extension)',
    )
    parser.add_argument(
        '--num-frames',
        type=int,
        default=150,
        help='K frames sampled uniformly per video',
    )
    parser.add_argument('--short-side', type=int, default=256)
    parser.add_argument('--crop-size', type=int, default=224)
    parser.add_argument('--mean', type=float, nargs=3, default=None)
    parser.add_argument('--std', type=float, nargs=3, default=None)
    parser.add_argument(
        '--out-format', choices=('npy', 'packed'), default='npy'
    )
    parser.add_argument(
        '--dtype', choices=('float32', 'float16'), default='float32'
    )
    parser.add_argument(
        '--batch-videos',
        type=int,
        default=4,
        help='videos per backbone forward pass',
    )
    parser.add_argument(
        '--workers', type=int, default=2, help='decoding worker processes'
    )
    parser.add_argument(
        '--backend', choices=('auto', 'decord', 'opencv'), default='auto'
    )
    parser.add_argument(
        '--device',
        default=None,
        help='torch device (default: cuda if available, else cpu)',
    )
    parser.add_argument(
        '--random-init',
        action='store_true',
        help='allow a backbone without any weights',
    )
    parser.add_argument('--report', default=None, help='report JSON path')
    parser.add_argument(
        '--allow-failures',
        action='store_true',
        help='exit 0 even if some videos failed',
    )
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='key=value overrides of the config',
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    norm = normalisation_from_config(cfg, args.mean, args.std)
    backbone = build_backbone(cfg, checkpoint, args.random_init)
    extractor = FrameExtractor(backbone, device=device, **norm)
    pairs = find_videos(args.video_dir, args.ann_file, args.suffix)
    report = extract_features(
        pairs,
        args.out_dir,
        extractor,
        num_frames=args.num_frames,
        short_side=args.short_side,
        crop_size=args.crop_size,
        out_format=args.out_format,
        dtype=args.dtype,
        batch_videos=args.batch_videos,
        workers=args.workers,
        backend=args.backend,
        report_path=args.report,
        progress=not args.no_progress,
        extra_report=dict(
            config=args.config,
            checkpoint=args.checkpoint,
            device=device,
            **norm,
        ),
    )
    failed = report['failed']
    print(
        f'{report["extracted"]} videos extracted, '
        f'{report["skipped_done"]} already done, {len(failed)} failed '
        f'(of {report["total"]}) -> {args.out_dir}'
    )
    for f in failed:
        print(f'FAILED {f["video_id"]}: {f["error"]}', file=sys.stderr)
    if failed and not args.allow_failures:
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
