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
