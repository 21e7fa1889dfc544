"""Predict new videos: ``python tools/predict.py CONFIG CHECKPOINT INPUT``.

INPUT is a list file (``<video id>`` or ``<video id> <labels>`` per line;
features read from the config's feature directory), a folder of
``<video id>.npy`` feature files, or one ``.npy`` file; for a raw-video
config (``Recognizer2D`` on ``VideoDataset``) a video file, a folder of
videos or a list of video paths. Every video goes through the config's test
pipeline (same frames and views as ``tools/test.py``) and MMAction2's
``inference_recognizer``.

Writes into ``--out`` (default ``<work dir>/predictions``):
``predictions.csv`` (per video the top-k class names and scores),
``scores.npy`` (all scores ``[N, C]``, rows in the CSV's order),
``video_ids.txt`` and ``classes.txt``. Class names: ``--classes FILE`` (one
name per line), else the config's count file, else its
``metainfo['classes']``, else the checkpoint's ``dataset_meta``, else
``class_<i>``.
"""

import argparse
import os.path as osp

import torch

from meid_mmaction.utils.cli import (
    add_common_args,
    load_config,
    resolve_checkpoint,
)
from meid_mmaction.utils.predict import (
    class_names,
    collect_inputs,
    load_model,
    predict,
    write_predictions,
)
from meid_mmaction.utils.view_check import check_meid_views


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Predict new videos')
    parser.add_argument('config', help='config file of the model')
    parser.add_argument(
        'checkpoint',
        help='checkpoint file, or best / best_stage1 / best_stage2 / last '
        'looked up in the work dir',
    )
    parser.add_argument(
        'input',
        help='list file (.lst / .txt), folder of .npy feature files or '
        'videos, or one .npy / video file',
    )
    parser.add_argument(
        '--out', help='output folder (default: <work dir>/predictions)'
    )
    parser.add_argument(
        '--topk', type=int, default=5, help='classes per video in the CSV'
    )
    parser.add_argument(
        '--classes', help='class names, one per line (overrides the rest)'
    )
    parser.add_argument(
        '--device',
        default='cuda:0' if torch.cuda.is_available() else 'cpu',
        help='device (default: cuda:0 if available, else cpu)',
    )
    # --work-dir (for best / last), --cfg-options, as tools/test.py
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.topk < 1:
        raise ValueError(f'--topk must be >= 1, got {args.topk}')
    cfg = load_config(args)
    check_meid_views(cfg)
    checkpoint = resolve_checkpoint(args.checkpoint, cfg.work_dir)
    inputs = collect_inputs(cfg, args.input)
    model, dataset_meta = load_model(cfg, checkpoint, args.device)
    ids, scores = predict(model, cfg, inputs)
    names, source = class_names(
        cfg, scores.shape[1], args.classes, dataset_meta
    )
    out = args.out or osp.join(cfg.work_dir, 'predictions')
    paths = write_predictions(out, ids, scores, names, args.topk)
    print(
        f'{len(ids)} videos from {args.input}, {scores.shape[1]} classes '
        f'(names: {source})'
    )
    print(f'top-{min(args.topk, scores.shape[1])} classes: {paths["csv"]}')
    print(f'all scores [{len(ids)}, {scores.shape[1]}]: {paths["scores"]}')
    return paths


if __name__ == '__main__':
    main()
