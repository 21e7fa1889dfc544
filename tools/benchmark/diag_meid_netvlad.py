"""Diagnostics of MEID + NetVLAD vs MEID (issue 16, docs/benchmarks.md,
"MEID + NetVLAD vs MEID"): ``bench_aggregators.py accuracy`` with

* ``--stage1-only``: the MEID arms train stage 1 only (expert 1 alone);
* ``--head-json JSON``: keys merged into the MEID arms' head config
  (e.g. ``'{"use_attention": false}'``);
* ``--vlad-on-raw``: the experts' aggregator pools the raw frame features
  ``X`` (as VideoLT's NetVLAD model does) instead of the frame embedding
  ``T = ReLU(Linear(LN(X)))``; needs ``H = D`` (the synthetic configs).
  This patches the expert classes of this process only;
* ``--replace-netvlad JSON``: the aggregator config used wherever an arm
  names ``netvlad`` (e.g. ``'{"type": "MeanPooling"}'``: the control of
  ``--vlad-on-raw``, the weighted mean of the raw frames).

Every other argument is ``bench_aggregators.py``'s, e.g.::

    python tools/benchmark/diag_meid_netvlad.py --stage1-only -- accuracy \
        work_dirs/i16/st1 --data-root work_dirs/i16/s2lr1/data --epochs 5 \
        --seeds 0 --lrs 1e-2 --arms meid meid+netvlad
"""

import argparse
import functools
import importlib.util
import json
import os.path as osp

import torch

HERE = osp.dirname(osp.abspath(__file__))


def patch_vlad_on_raw() -> None:
    """Make the MEID experts pass ``X`` instead of ``T`` to their
    aggregator (the mean-pooling path is unchanged)."""
    from meid_mmaction.models.heads import meid_modules as mm

    fww = mm.AttentionExpert.forward_with_weights
    cf = mm.ComplementaryExpert.forward

    def forward_with_weights(self, x):
        if self.aggregator is None:
            return fww(self, x)
        weights = self.attention(x) if self.attention is not None else None
        pooled = self.aggregator(x, weights)
        if weights is None:
            weights = x.new_ones(x.shape[:2])
        return self.fc_cls(pooled), weights

    def forward(self, x, attention):
        if self.aggregator is None or self.motion_aggregator is not None:
            return cf(self, x, attention)
        r = mm.complementary_weights(
            attention,
            self.beta,
            self.cfs_norm,
            background_thr=self.cfs_background_thr,
        )
        x_c = self.aggregator(x, r)
        x_m = self.motion_embed(mm.motion_features(x)).mean(dim=1)
        return self.fc_cls(self.fuse(torch.cat([x_c, x_m], dim=-1)))

    mm.AttentionExpert.forward_with_weights = forward_with_weights
    mm.ComplementaryExpert.forward = forward


def main() -> None:
    """Parse the diagnostic flags, patch, run ``bench_aggregators.main``."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--stage1-only', action='store_true')
    parser.add_argument('--head-json', default='{}')
    parser.add_argument('--vlad-on-raw', action='store_true')
    parser.add_argument('--replace-netvlad', default=None)
    parser.add_argument('rest', nargs=argparse.REMAINDER)
    args = parser.parse_args()
    head = json.loads(args.head_json)
    if args.vlad_on_raw:
        patch_vlad_on_raw()
    spec = importlib.util.spec_from_file_location(
        'bench_aggregators', osp.join(HERE, 'bench_aggregators.py')
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    if args.replace_netvlad:
        cfg = json.loads(args.replace_netvlad)
        bench.AGGREGATORS['netvlad'] = cfg
        bench.SMALL.setdefault(cfg['type'], {})
    load = bench.load_ablation_module

    def load_patched():
        abl = load()
        make = abl.make_cfg

        @functools.wraps(make)
        def make_cfg(*a, **k):
            if k.get('stages') == (1, 2):
                k['head'] = dict(k.get('head') or {}, **head)
                if args.stage1_only:
                    k['stages'] = (1,)
            return make(*a, **k)

        abl.make_cfg = make_cfg
        return abl

    bench.load_ablation_module = load_patched
    rest = args.rest[1:] if args.rest[:1] == ['--'] else args.rest
    bench.main(rest)


if __name__ == '__main__':
    main()
