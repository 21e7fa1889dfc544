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
