"""The MEID ablation tool runs its arms through Runner + configs."""

import json

import pytest


def test_arms_through_runner_and_summary(
    tmp_path, capsys, bench_tool, tiny_bench_data
):
    tool = bench_tool('bench_meid_ablation')
    tiny_bench_data(tmp_path / 'data' / 'demo')
    out = str(tmp_path / 'r.jsonl')
    assert (
        tool.main(
            [
                str(tmp_path),
                '--presets',
                'demo',
                '--seeds',
                '0',
                '--epochs',
                '1',
                '--arms',
                'meid:release+mask',
                'meid:auto_group',
                '--clip-len',
                '4',
                '--test-clip-len',
                '6',
                '--diagnose',
                '--mix-weights',
                '0.5',
                '--out-json',
                out,
            ]
        )
        == 0
    )
    with open(out) as f:
        recs = {r['arm']: r for r in map(json.loads, f)}
    assert set(recs) == {'e1@E', 'meid:release+mask', 'meid:auto_group'}
    meid = recs['meid:release+mask']
    assert meid['head'] == dict(stage2_loss='expert2', inference='prob_mix')
    assert meid['label_mask'] is True
    # the release inference is the 0.5 mixture scored from the same head:
    # the Runner's LongTailMAP and the direct scoring agree
    assert meid['mix']['0.5']['test']['overall'] == pytest.approx(
        meid['test']['overall'], abs=1e-6
    )
    # the validation-chosen combination: the hook's choice scored by the
    # Runner equals the tool's post-hoc choice; expert 1 alone scored from
    # the stage-2 head equals the stage-1 arm
    auto = recs['meid:auto_group']
    assert auto['mix']['auto_group']['test'] == pytest.approx(
        auto['test'], abs=1e-6
    )
    assert auto['mix']['e1']['test'] == pytest.approx(
        recs['e1@E']['test'], abs=1e-6
    )
    assert set(auto['mix']) == {'0.5', 'sum', 'e1', 'auto', 'auto_group'}
    shares = meid['cfs_share']
    assert set(shares) == {'uniform', 'A', 'R'}
    assert 'var_ratio_YF' in meid and 'var_ratio_Y' in recs['e1@E']
    capsys.readouterr()
    tool.main(['x', '--summarize', out])
    text = capsys.readouterr().out
    assert '| meid:release+mask [mix=0.5] | 1 |' in text
    tool.main(['x', '--summarize', out, '--select'])
    assert 'no MEID arm has 3 seeds' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        tool.parse_args(['x', '--arms', 'meid:nonsense'])


def test_select_lr_keeps_each_arms_validation_choice(tmp_path, bench_tool):
    """--summarize ... --select-lr: per preset and arm (a post-hoc scoring
    apart) the lr of the best seed-0 validation overall mAP, ties to the
    smaller lr, and every seed at it."""
    tool = bench_tool('bench_meid_ablation')

    def rec(arm, seed, lr, val, test, mix=None):
        scores = dict(overall=test, head=1.0, medium=0.5, tail=0.1)
        r = dict(
            preset='p',
            arm=arm,
            seed=seed,
            lr=lr,
            epochs=5,
            val=dict(overall=val, head=1.0, medium=0.5, tail=0.1),
            test=scores,
        )
        if mix is not None:
            r['mix'] = {
                'sum': dict(
                    val=dict(scores, overall=mix[0]),
                    test=dict(scores, overall=mix[1]),
                )
            }
        return r

    a, b = tmp_path / 'a.jsonl', tmp_path / 'b.jsonl'
    a.write_text(
        '\n'.join(
            json.dumps(r)
            for r in (
                rec('m', 0, 0.01, 0.50, 0.40, mix=(0.60, 0.70)),
                rec('m', 1, 0.01, 0.52, 0.42, mix=(0.61, 0.71)),
                rec('e', 0, 0.01, 0.30, 0.30),
            )
        )
    )
    b.write_text(
        '\n'.join(
            json.dumps(r)
            for r in (
                rec('m', 0, 0.03, 0.55, 0.45, mix=(0.58, 0.68)),
                rec('m', 1, 0.03, 0.57, 0.47, mix=(0.57, 0.67)),
                rec('e', 0, 0.03, 0.30, 0.90),  # a tie: the smaller lr
            )
        )
    )
    recs = tool.expand_mixtures(tool.load_records([str(a), str(b)], True))
    kept, chosen = tool.choose_lrs(recs)
    assert chosen == {
        ('p', 'm'): (0.03, 5),
        ('p', 'm|sum'): (0.01, 5),
        ('p', 'e'): (0.01, 5),
    }
    assert sorted((r['arm'], r['seed']) for r in kept) == [
        ('e', 0),
        ('m', 0),
        ('m', 1),
        ('m|sum', 0),
        ('m|sum', 1),
    ]
    text = tool.summarize([str(a), str(b)], 'test', select_lr=True)
    assert '| m | **0.03 (5 ep)** | 2 | 0.460 ± 0.014 |' in text
    assert '| m [sum] | **0.01 (5 ep)** | 2 | 0.705 ± 0.007 |' in text
    assert '| e | **0.01 (5 ep)** | 1 | 0.300 |' in text


def test_batch_size_reaches_the_loaders(tmp_path, bench_tool):
    """--batch-size is the training loader's batch (the tool before the
    study harness silently kept the config's 64)."""
    tool = bench_tool('bench_meid_ablation')
    study = bench_tool('study')
    meta = dict(num_classes=6, feat_dim=8, group_thresholds=[20, 4])
    for batch in (32, 128):
        args = tool.parse_args(
            [str(tmp_path), '--batch-size', str(batch), '--clip-len', '4']
        )
        for kind in ('meid', 'nonlinear'):
            arm = tool.make_arm(args, str(tmp_path), meta, 'a', kind, 2)
            cfg = study.build_cfg(arm, 0, 0.01, str(tmp_path / 'w'))
            assert cfg.train_dataloader.batch_size == batch
            assert cfg.val_dataloader.batch_size == 256
            pipeline = cfg.train_dataloader.dataset.pipeline
            assert [t['clip_len'] for t in pipeline if 'clip_len' in t] == [4]
