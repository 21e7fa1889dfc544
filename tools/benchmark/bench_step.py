"""Where a MEID training step's time goes, at VideoLT shape.

Builds the model of a config (default ``configs/meid_videolt_r101.py``:
``FeatureRecognizer`` + ``MEIDHead``, ``C = 1004``, ``D = 2048``) with the
config's optimizer wrapper, on random inputs ``[B, 1, N, D]`` and multi-hot
targets, and times for stage 1 and stage 2:

* each phase of the head's training step, run in the same order as
  ``MEIDHead.loss`` and on the same tensors: stage 1 ``embedding``,
  ``attention``, ``pool+classifier`` (expert 1); stage 2 ``expert 1 (no
  grad)``, ``cfs+embedding``, ``motion branch``, ``fuse+classifier`` (expert
  2); then ``loss_cls``, ``loss_distill``, ``backward``, ``optimizer``
  (gradient clipping + update + zero_grad);
* the whole ``model.train_step`` (data preprocessor, forward, loss,
  backward, optimizer, as the runner calls it), on inputs already on the
  device (what the feature bank on the GPU delivers; this time is the one
  projected) and, on a GPU, on the same inputs in host memory (what a CPU
  dataloader delivers: the preprocessor copies them) and the tensor -> Python
  conversions (``item``, ``tolist``, ``bool`` / ``int`` / ``float`` of a
  tensor: host synchronisations on a GPU) it makes, split into those of
  the model's ``loss`` and the rest (mmengine's logging of the gradient
  norm).

Heads other than a plain ``MEIDHead`` (an aggregator inside MEID, the
nonlinear or aggregator baselines) are timed as whole ``train_step`` s
only (their stages, if any). On CUDA the peak allocated memory of each
stage's steps is reported too.

``--bank-gather`` also times one batch from a feature bank on the device
(2,000 random videos of 150 frames, float16 and int8; seeded frame draw +
gather of ``B x N`` frames) against a raw on-device gather of the same
rows (``data[rows]``, indices already on the device), and
``--project-videos V --project-epochs E`` prints the projected time of a
two-stage run of ``E`` epochs per stage over ``V`` videos (``ceil(V / B)``
steps per epoch, each the measured ``train_step`` plus the float16 bank
batch), per ``--amp`` mode.

CUDA timings synchronise around every phase. ``--amp bf16 | fp16`` runs the
forward and losses under ``torch.autocast`` (the optimizer wrapper becomes
``AmpOptimWrapper``, as ``tools/train.py --amp`` does).

Usage::

    python tools/benchmark/bench_step.py [--config CONFIG] [--device cpu|cuda]
        [--batch 128] [--frames 60] [--repeats 3] [--amp none bf16 fp16]
        [--threads 1] [--cfg-options KEY=VALUE ...] [--json out.json]

``--amp`` takes several modes; each builds the model afresh (same seed).
"""

import argparse
import json
import statistics
import sys
import time
from contextlib import contextmanager, nullcontext

import torch
from mmengine.config import DictAction

SYNCS = ('item', 'tolist', '__bool__', '__int__', '__float__')


@contextmanager
def count_syncs(counter):
    """Count tensor -> Python conversions inside the block, by kind,
    calling function, file and the tensor's device."""
    originals = {n: getattr(torch.Tensor, n) for n in SYNCS}

    def wrap(name, fn):

        def counted(self, *args, **kwargs):
            caller = sys._getframe(1).f_code
            where = (
                f'{name} in {caller.co_name} '
                f'({caller.co_filename.rsplit("/", 2)[-2:][-1]}, '
                f'{self.device.type})'
            )
            counter[where] = counter.get(where, 0) + 1
            return fn(self, *args, **kwargs)

        return counted

    for n, fn in originals.items():
        setattr(torch.Tensor, n, wrap(n, fn))
    try:
        yield counter
    finally:
        for n, fn in originals.items():
            setattr(torch.Tensor, n, fn)


def build(args, amp):
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    from meid_mmaction.engine.deferred_scalars import amp_wrapper_type

    init_default_scope('mmaction')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.shape_from_config:
        shape_from_config(cfg, args)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(args.device)
    model.init_weights()
    head = model.cls_head
    c = head.num_classes
    hand_synthetic_statistics(model, c)
    optim_cfg = dict(cfg.optim_wrapper)
    if amp != 'none':
        optim_cfg.update(
            type=amp_wrapper_type(optim_cfg.get('type', 'OptimWrapper')),
            dtype=AMP_DTYPES[amp],
            loss_scale='dynamic',
        )
    optim = build_optim_wrapper(model, optim_cfg)
    return model, optim, c


AMP_DTYPES = dict(bf16='bfloat16', fp16='float16')


def shape_from_config(cfg, args):
    """Set ``args.batch`` / ``frames`` / ``dim`` to the config's training
    shape: the training loader's batch size and the data keys
    ``train_clip_len`` and ``feat_dim``."""
    args.batch = int(cfg.train_dataloader.batch_size)
    args.frames = int(cfg.get('train_clip_len', args.frames))
    args.dim = int(cfg.get('feat_dim', args.dim))


def hand_synthetic_statistics(model, c):
    """Give the modules that need them long-tailed class counts
    (``1000 / (k + 1)`` videos for class ``k``, at least 5) and groups
    (first sixth head, next third medium, the rest tail), as the
    ``LongTailLossHook`` gives a dataset's: CB / EQL / LDAM losses and the
    distillation refuse to run without them."""
    from meid_mmaction.engine.interfaces import (
        ClassCountsUser,
        ClassGroupsUser,
        modules_implementing,
    )

    counts = [max(5, 1000 // (k + 1)) for k in range(c)]
    groups = dict(
        head=list(range(0, c // 6)),
        medium=list(range(c // 6, c // 2)),
        tail=list(range(c // 2, c)),
    )
    for m in modules_implementing(model, ClassCountsUser):
        m.set_class_counts(counts)
    for m in modules_implementing(model, ClassGroupsUser):
        m.set_class_groups(groups)


def make_batch(args, c, device='cpu'):
    """Random inputs ``[B, 1, N, D]`` on ``device`` (as a feature bank on
    that device delivers them) and multi-hot targets."""
    from mmaction.structures import ActionDataSample

    from meid_mmaction.utils import set_gt_label

    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 1, args.frames, args.dim, generator=g)
    samples = []
    for i in range(args.batch):
        target = torch.zeros(c)
        target[torch.randint(c, (1 + i % 2,), generator=g)] = 1.0
        samples.append(set_gt_label(ActionDataSample(), target))
    return dict(inputs=list(x.to(device)), data_samples=samples)


class Timer:
    """Wall seconds per named phase (``times``) and, on the CPU, the
    calling thread's CPU seconds (``cpu_times``): with one torch thread all
    the work runs on this thread, so ``cpu_times`` does not count the time
    spent waiting for a core on a loaded machine."""

    def __init__(self, device):
        self.device = torch.device(device)
        self.times = {}
        self.cpu_times = {}

    def sync(self):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)

    @contextmanager
    def __call__(self, name):
        self.sync()
        t0, c0 = time.perf_counter(), time.thread_time()
        yield
        self.sync()
        self.times.setdefault(name, []).append(time.perf_counter() - t0)
        self.cpu_times.setdefault(name, []).append(time.thread_time() - c0)


def phases_once(model, optim, data, stage, timer, autocast):
    """One step, phase by phase (the computation of ``MEIDHead.loss``)."""
    from meid_mmaction.models.heads.meid_modules import (
        complementary_weights,
        motion_features,
        weighted_mean_pool,
    )

    head = model.cls_head
    batch = model.data_preprocessor(data, training=True)
    x = batch['inputs'].reshape(-1, *batch['inputs'].shape[2:])
    targets = head.targets_from(batch['data_samples'], x.device)
    e1, e2 = head.expert1, head.expert2
    with autocast:
        if stage == 1:
            with timer('embedding'):
                t = e1.embed(x)
            with timer('attention'):
                w = e1.attention(x)
            with timer('pool+classifier'):
                y = e1.fc_cls(weighted_mean_pool(t, w, e1.eps))
            logits, expert_logits, distill = y, y, head.distill1
        else:
            with timer('expert 1 (no grad)'):
                with torch.no_grad():
                    y, w = e1.forward_with_weights(x)
            with timer('cfs+embedding'):
                r = complementary_weights(w, e2.beta, e2.cfs_norm)
                x_c = weighted_mean_pool(e2.embed(x), r)
            with timer('motion branch'):
                x_m = e2.motion_embed(motion_features(x)).mean(dim=1)
            with timer('fuse+classifier'):
                y_f = e2.fc_cls(e2.fuse(torch.cat([x_c, x_m], dim=-1)))
            logits, expert_logits, distill = y + y_f, y_f, head.distill2
        with timer('loss_cls'):
            loss = head.loss_cls(logits, targets)
        with timer('loss_distill'):
            loss = loss + distill(expert_logits)
    with timer('backward'):
        optim.backward(loss)
    with timer('optimizer'):
        optim.step()
        optim.zero_grad()


def generic_phases_once(model, optim, data, timer, bank=None):
    """One step split as the runner runs it, for any model: ``data`` (a
    feature-bank batch: seeded frame draw + gather, when ``bank`` is given;
    not fed to the model), ``preprocess`` (the data preprocessor, blending
    included), ``forward+loss``, ``backward`` and ``optimizer`` (gradient
    clipping + update + zero_grad): the pieces of ``model.train_step``."""
    if bank is not None:
        with timer('data'):
            bank_batch(bank, timer.device)
    with optim.optim_context(model):
        with timer('preprocess'):
            batch = model.data_preprocessor(data, training=True)
        with timer('forward+loss'):
            losses = model(**batch, mode='loss')
            loss, _ = model.parse_losses(losses)
    with timer('backward'):
        optim.backward(loss)
    with timer('optimizer'):
        optim.step()
        optim.zero_grad()


def make_bank(args, videos=256, frames=150):
    """A float16 feature bank of ``videos`` random videos of ``frames``
    frames on ``args.device``, with its batch draw: ``(bank, B, N, draw
    counter)``."""
    from meid_mmaction.datasets.feature_bank import FeatureBank

    device = torch.device(args.device)
    data = torch.randn(
        videos * frames, args.dim, device=device, dtype=torch.float16
    )
    lengths = torch.full((videos,), frames, dtype=torch.int64)
    first = torch.arange(videos, dtype=torch.int64) * frames
    bank = FeatureBank(data, first.to(device), lengths.to(device), None)
    return dict(bank=bank, batch=args.batch, frames=args.frames, step=[0])


def bank_batch(bank, device):
    """One training batch from ``bank`` as the bank path makes it: the
    vectorised seeded draw of every video's frames (``batch_sample_keys``
    + ``frames_from_keys``, as the batched reads and the bank do in
    training), the gather and the cast to float32."""
    from meid_mmaction.datasets.transforms.sampling import (
        batch_sample_keys,
        frames_from_keys,
    )

    b = bank['bank']
    bank['step'][0] += 1
    g = torch.Generator().manual_seed(bank['step'][0])
    idx = torch.randint(len(b.lengths_host), (bank['batch'],), generator=g)
    inds = frames_from_keys(
        batch_sample_keys(0, bank['step'][0], idx.numpy()),
        b.lengths_host[idx.numpy()],
        bank['frames'],
        device=device,
    )
    return b.gather(idx.to(device), inds).float()


def rss_bytes(field):
    """``VmRSS`` / ``VmHWM`` (peak) of this process from
    ``/proc/self/status``, in bytes (None where there is no /proc)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reset_peak_rss():
    """Reset this process's peak RSS (``VmHWM``) to its current RSS
    (Linux: write 5 to ``/proc/self/clear_refs``); False if not allowed."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def count_flops(model, optim, data):
    """Floating-point operations of one ``train_step`` (forward + backward;
    the optimizer's element-wise work is not counted), by
    ``torch.utils.flop_counter.FlopCounterMode``."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        model.train_step(data, optim)
    return counter.get_total_flops()


def param_counts(model):
    """``(all, trainable)`` parameter counts of ``model``."""
    params = list(model.parameters())
    return (
        sum(p.numel() for p in params),
        sum(p.numel() for p in params if p.requires_grad),
    )


def has_phases(head):
    """Whether :func:`phases_once` mirrors this head's loss: a
    ``MEIDHead`` with attention pooling (no aggregator)."""
    e1 = getattr(head, 'expert1', None)
    return (
        e1 is not None
        and getattr(e1, 'aggregator', None) is None
        and getattr(head, 'expert2_type', None) == 'complementary'
    )


def train_stages(head, wanted):
    """The stages to time: ``wanted`` for a two-stage head, else ``[1]``."""
    return list(wanted) if hasattr(head, 'set_train_stage') else [1]


def profile_steps(model, optim, data, title, steps=5, rows=25):
    """Print ``torch.profiler``'s table of ``steps`` whole train steps,
    by self CPU time: where a step's host time goes."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        for _ in range(steps):
            model.train_step(data, optim)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
    print(f'\nprofile of {steps} train steps ({title}), by self CPU time:')
    print(
        prof.key_averages().table(
            sort_by='self_cpu_time_total', row_limit=rows
        )
    )


HOST = 'train_step, host inputs'
TOTALS = ('train_step (total)', HOST)


def bench_stage(model, optim, data, stage, args, amp, host_data=None):
    """Time ``stage``: its phases (if :func:`has_phases`), the whole
    ``train_step`` on ``data`` and, if given, on ``host_data`` (the same
    batch in host memory, copied by the data preprocessor)."""
    head = model.cls_head
    if hasattr(head, 'set_train_stage'):
        head.set_train_stage(stage)
    model.train()
    autocast = (
        torch.autocast(
            torch.device(args.device).type,
            dtype=getattr(torch, AMP_DTYPES[amp]),
        )
        if amp != 'none'
        else nullcontext()
    )
    cuda = torch.device(args.device).type == 'cuda'
    if cuda:
        torch.cuda.reset_peak_memory_stats(args.device)
    rss_before = rss_bytes('VmRSS')
    peak_reset = reset_peak_rss()
    timer = Timer(args.device)
    split = args.split
    if split == 'auto':
        split = 'meid' if has_phases(head) else 'none'
    bank = make_bank(args) if split == 'generic' else None
    for rep in range(args.warmup + args.repeats):
        if rep == args.warmup:
            timer.times.clear()
            timer.cpu_times.clear()
        if split == 'meid':
            phases_once(model, optim, data, stage, timer, autocast)
        if split == 'generic':
            generic_phases_once(model, optim, data, timer, bank)
            continue
        with timer('train_step (total)'):
            model.train_step(data, optim)
        if host_data is not None:
            with timer(HOST):
                model.train_step(host_data, optim)
    peak_rss = rss_bytes('VmHWM') if peak_reset else None
    params, trainable = param_counts(model)
    flops = count_flops(model, optim, data) if args.flops else None
    if args.profile:
        profile_steps(model, optim, data, f'stage {stage}, amp {amp}')
    syncs_loss, syncs_all = {}, {}
    batch = model.data_preprocessor(data, training=True)
    with count_syncs(syncs_loss), autocast:
        model(**batch, mode='loss')
    with count_syncs(syncs_all):
        model.train_step(data, optim)
    timer.sync()
    peak = torch.cuda.max_memory_allocated(args.device) if cuda else None
    times = {k: statistics.median(v) for k, v in timer.times.items()}
    cpu_times = {k: statistics.median(v) for k, v in timer.cpu_times.items()}
    if split == 'generic':
        for t in (times, cpu_times):
            t['train_step (total)'] = sum(
                v for k, v in t.items() if k != 'data'
            )
    return dict(
        peak_memory_bytes=peak,
        rss_before_bytes=rss_before,
        peak_rss_bytes=peak_rss,
        params=params,
        trainable_params=trainable,
        flops=flops,
        split=split,
        shape=dict(batch=args.batch, frames=args.frames, dim=args.dim),
        times=times,
        thread_cpu_times=cpu_times,
        syncs_in_loss=sum(syncs_loss.values()),
        syncs_in_train_step=sum(syncs_all.values()),
        sync_kinds=syncs_all,
    )


def bench_gather(args, repeats=20):
    """Median seconds of one bank batch (vectorised seeded draw + gather +
    cast to float32, :func:`bank_batch`), per bank dtype,
    and of a raw on-device gather of the same number of rows (float16
    ``data[rows]`` with the row indices already on the device): the floor
    the bank's Python and frame draw add to."""
    from meid_mmaction.datasets.feature_bank import FeatureBank

    device = torch.device(args.device)
    videos, frames = 2000, 150
    lengths = torch.full((videos,), frames, dtype=torch.int64)
    first = torch.arange(videos, dtype=torch.int64) * frames
    out = {}
    for dtype in ('float16', 'int8'):
        if dtype == 'int8':
            data = torch.randint(
                -127,
                128,
                (videos * frames, args.dim),
                dtype=torch.int8,
                device=device,
            )
            scale = torch.rand(args.dim, device=device)
        else:
            data = torch.randn(
                videos * frames, args.dim, device=device, dtype=torch.float16
            )
            scale = None
        bank = FeatureBank(data, first.to(device), lengths.to(device), scale)
        timer = Timer(device)
        draw = dict(bank=bank, batch=args.batch, frames=args.frames, step=[0])
        for _ in range(repeats + 2):
            with timer('gather'):
                bank_batch(draw, device)
        out[dtype] = statistics.median(timer.times['gather'][2:])
        if dtype == 'float16':
            for _ in range(repeats + 2):
                idx = torch.randint(videos, (args.batch,), device=device)
                offs = torch.randint(
                    frames, (args.batch, args.frames), device=device
                )
                with timer('raw'):
                    data[(first.to(device)[idx, None] + offs).flatten()]
            out['raw float16 data[rows]'] = statistics.median(
                timer.times['raw'][2:]
            )
        del bank, data
    return out


def report_stage(res, stage, amp, c, args):
    """Print one stage's phase table, total and host conversions."""
    total = res['times']['train_step (total)']
    print(
        f'\nstage {stage}: {args.config}, B {args.batch}, N {args.frames}, '
        f'D {args.dim}, C {c}, device {args.device}, amp {amp}, median of '
        f'{args.repeats}'
    )
    cpu = res['thread_cpu_times'] if args.device == 'cpu' else {}
    print('| phase | ms | thread CPU ms | share of the phase sum |')
    print('|---|---|---|---|')
    phases = {k: v for k, v in res['times'].items() if k not in TOTALS}
    s = sum(phases.values())

    def cpu_ms(k):
        return f'{cpu[k] * 1e3:.1f}' if k in cpu else ''

    for k, v in phases.items():
        print(f'| {k} | {v * 1e3:.1f} | {cpu_ms(k)} | {v / s:.0%} |')
    if phases:
        print(f'| sum of phases | {s * 1e3:.1f} | | |')
    print(
        f'| model.train_step (total) | {total * 1e3:.1f} | '
        f'{cpu_ms("train_step (total)")} | |'
    )
    if HOST in res['times']:
        print(
            f'| model.train_step, inputs in host memory | '
            f'{res["times"][HOST] * 1e3:.1f} | | |'
        )
    print(
        f'parameters: {res["params"]:,} ({res["trainable_params"]:,} '
        'trainable in this stage)'
    )
    if res['peak_rss_bytes'] is not None:
        print(
            f'process RSS: {res["rss_before_bytes"] / 2**30:.2f} GiB before '
            f'the stage, peak {res["peak_rss_bytes"] / 2**30:.2f} GiB during '
            'its steps'
        )
    if res['flops'] is not None:
        print(
            f'FLOPs of one train_step (forward + backward): '
            f'{res["flops"] / 1e9:.1f} G'
        )
    if res['peak_memory_bytes'] is not None:
        print(
            f'peak allocated memory (stage {stage}, amp {amp}): '
            f'{res["peak_memory_bytes"] / 2**30:.2f} GiB'
        )
    print(
        f'tensor->Python conversions: {res["syncs_in_loss"]} in the '
        f"model's loss, {res['syncs_in_train_step']} in the whole "
        f'train_step ({res["sync_kinds"]})'
    )


def project(out, args):
    """Projected hours of a run per amp mode: ``ceil(V / B)`` steps per
    epoch, each the measured ``train_step`` plus the float16 bank batch."""
    steps_per_epoch = -(-args.project_videos // args.batch)
    steps = steps_per_epoch * args.project_epochs
    gather = out.get('bank_gather', {}).get('float16', 0.0)
    hours = {}
    for amp in args.amp:
        stages = [k for k in out if k.startswith(f'{amp}/stage')]
        total = sum(
            steps * (out[k]['times']['train_step (total)'] + gather)
            for k in stages
        )
        hours[amp] = total / 3600
        print(
            f'projected run, amp {amp}: {len(stages)} stage(s) x '
            f'{args.project_epochs} epochs x {steps_per_epoch} steps '
            f'({args.project_videos} videos, batch {args.batch}): '
            f'{total / 3600:.2f} h (train_step + float16 bank batch; no '
            'validation)'
        )
    return hours


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default='configs/meid_videolt_r101.py')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch', type=int, default=128)
    parser.add_argument('--frames', type=int, default=60)
    parser.add_argument('--dim', type=int, default=2048)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument(
        '--amp',
        choices=('none', 'bf16', 'fp16'),
        nargs='+',
        default=['none'],
    )
    parser.add_argument('--stages', type=int, nargs='+', default=[1, 2])
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch CPU threads (default 1: shared machine)',
    )
    parser.add_argument('--bank-gather', action='store_true')
    parser.add_argument('--project-videos', type=int, default=None)
    parser.add_argument('--project-epochs', type=int, default=100)
    parser.add_argument('--json', default=None)
    parser.add_argument(
        '--split',
        choices=('auto', 'meid', 'generic', 'none'),
        default='auto',
        help="phases to time: 'meid' the attention-pooled MEID head's "
        "own phases; 'generic' data (a float16 bank batch) / preprocess / "
        'forward+loss / backward / optimizer, for any model (the step is '
        "their sum without data; no separate train_step); 'none' whole "
        "train_steps only; 'auto' (default) 'meid' where it applies, else "
        "'none'",
    )
    parser.add_argument(
        '--shape-from-config',
        action='store_true',
        help='take B, N and D from the config (training batch size, '
        'data keys train_clip_len and feat_dim) instead of --batch / '
        '--frames / --dim',
    )
    parser.add_argument(
        '--flops',
        action='store_true',
        help='count the floating-point operations of one train_step '
        '(forward + backward) with FlopCounterMode',
    )
    parser.add_argument(
        '--profile',
        action='store_true',
        help="print torch.profiler's table of 5 train steps per stage",
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, as tools/train.py does',
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    import meid_mmaction  # noqa: F401

    out = {}
    for amp in args.amp:
        model, optim, c = build(args, amp)
        data = make_batch(args, c, args.device)
        host = make_batch(args, c) if args.device != 'cpu' else None
        for stage in train_stages(model.cls_head, args.stages):
            res = bench_stage(model, optim, data, stage, args, amp, host)
            out[f'{amp}/stage{stage}'] = res
            report_stage(res, stage, amp, c, args)
        del model, optim, data, host
    if args.bank_gather:
        out['bank_gather'] = bench_gather(args)
        for k, v in out['bank_gather'].items():
            print(
                f'bank batch ({k}, draw + gather of {args.batch} x '
                f'{args.frames} frames): {v * 1e3:.2f} ms, '
                f'{args.batch / v:,.0f} videos/s'
            )
    if args.project_videos:
        out['projected_hours'] = project(out, args)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(args=vars(args), results=out), f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
