"""tools/analysis/collect_results.py on fake work dirs."""

import importlib.util
import json
import os.path as osp
import statistics

import pytest

TOOL = osp.join(
    osp.dirname(__file__),
    '..',
    '..',
    'tools',
    'analysis',
    'collect_results.py',
)


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('collect_results', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_run(work_dir, stamp, metrics=None, train_log=False):
    d = work_dir / stamp
    d.mkdir(parents=True)
    if train_log:  # a JSON-lines log of the same name is not a test result
        (d / f'{stamp}.json').write_text('{"loss": 1.0}\n{"loss": 0.5}\n')
    else:
        (d / f'{stamp}.json').write_text(json.dumps(metrics))


def metrics(overall, head, medium, tail):
    return {
        'lt/mAP': overall,
        'lt/mAP_head': head,
        'lt/mAP_medium': medium,
        'lt/mAP_tail': tail,
        'lt/num_classes_excluded': 0,
    }


def test_table_merges_seeds_and_reads_the_newest(tool, tmp_path, capsys):
    write_run(
        tmp_path / 'bce_seed0', '20260101_000000', metrics(0.5, 0.7, 0.5, 0.3)
    )
    write_run(
        tmp_path / 'bce_seed1', '20260101_000000', metrics(0.6, 0.8, 0.6, 0.4)
    )
    # an older test run and a newer training log are ignored
    write_run(tmp_path / 'ldam_seed0', '20250101_000000', metrics(0, 0, 0, 0))
    write_run(
        tmp_path / 'ldam_seed0',
        '20260101_000000',
        metrics(0.55, 0.75, 0.5, 0.45),
    )
    write_run(tmp_path / 'ldam_seed0', '20270101_000000', train_log=True)
    dirs = [
        str(tmp_path / n) for n in ('bce_seed0', 'bce_seed1', 'ldam_seed0')
    ]
    assert tool.main(dirs) == 0
    out = capsys.readouterr().out.splitlines()
    std = statistics.stdev([0.5, 0.6])
    assert out[0] == '| method | runs | overall | head | medium | tail |'
    assert out[2] == (
        f'| bce | 2 | 0.550 ± {std:.3f} | 0.750 ± {std:.3f} '
        f'| 0.550 ± {std:.3f} | 0.350 ± {std:.3f} |'
    )
    assert out[3] == '| ldam | 1 | 0.550 | 0.750 | 0.500 | 0.450 |'
    out_file = tmp_path / 't.tex'
    tool.main(
        dirs
        + ['--format', 'latex', '--out', str(out_file), '--seed-pattern', '']
    )
    tex = out_file.read_text().splitlines()
    assert tex[0] == '\\begin{tabular}{lrrrrr}'
    assert tex[4] == 'bce\\_seed0 & 1 & 0.500 & 0.700 & 0.500 & 0.300 \\\\'
    assert tex[-1] == '\\end{tabular}'


def test_errors_name_the_directory_and_key(tool, tmp_path):
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='empty: no test result'):
        tool.main([str(tmp_path / 'empty')])
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps({'lt/mAP': 0.5}))
    with pytest.raises(ValueError, match="bad.json: no 'lt/mAP_head' in"):
        tool.main([str(bad)])


def test_study_table_and_errors(tool, tmp_path, capsys):
    def rec(arm, seed, lr, val, test, sec):
        groups = dict(overall=test, head=1.0, medium=0.5, tail=test / 2)
        return dict(
            arm=arm,
            seed=seed,
            lr=lr,
            val=dict(overall=val),
            test=groups,
            seconds=sec,
        )

    recs = [
        rec('a', 0, 0.1, 0.40, 0.30, 10.0),
        rec('a', 0, 0.3, 0.45, 0.35, 12.0),  # chosen on validation
        rec('a', 1, 0.3, 0.0, 0.37, 14.0),
        rec('a', 2, 0.3, 0.0, 0.42, 16.0),
    ]
    path = tmp_path / 'r.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in recs))
    assert tool.main(['--study', str(path)]) == 0
    out = capsys.readouterr().out
    tests = [0.35, 0.37, 0.42]
    m, s = statistics.fmean(tests), statistics.stdev(tests)
    tails = [t / 2 for t in tests]
    mt, st = statistics.fmean(tails), statistics.stdev(tails)
    assert (
        f'| a | 0.3 | 0.450 | 3 | {m:.3f} ± {s:.3f} | 1.000 ± 0.000 | '
        f'0.500 ± 0.000 | {mt:.3f} ± {st:.3f} | 14 ± 2 |'
    ) in out
    bad = tmp_path / 'bad.jsonl'
    bad.write_text(json.dumps(dict(arm='a', seed=0)) + '\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:1: no 'lr'"):
        tool.main(['--study', str(bad)])
    with pytest.raises(ValueError, match='no such study results file'):
        tool.main(['--study', str(tmp_path / 'missing.jsonl')])
    with pytest.raises(ValueError, match='--study takes no work dirs'):
        tool.main(['--study', str(path), str(tmp_path)])
