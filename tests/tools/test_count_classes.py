"""tools/data/count_classes.py: the count file of a (subset) list."""

import importlib.util
import os.path as osp

from meid_mmaction.datasets.annotations import parse_class_counts

TOOL = osp.join(
    osp.dirname(__file__), '..', '..', 'tools', 'data', 'count_classes.py'
)


def _main(argv):
    spec = importlib.util.spec_from_file_location('count_classes', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main(argv)


def test_counts_names_and_group_sizes(tmp_path, capsys):
    lst = tmp_path / 'train.lst'
    lst.write_text('a 0,1\nb 0\nc 0,2\nd 1\n')
    full = tmp_path / 'full.lst'
    full.write_text('zero one 0 90\none 1 50\ntwo 2 4\nthree 3 1\n')
    out = str(tmp_path / 'count.lst')
    assert (
        _main(
            [
                str(lst),
                '--num-classes',
                '4',
                '--names-from',
                str(full),
                '--head-thr',
                '2',
                '--tail-thr',
                '1',
                '--out',
                out,
            ]
        )
        == 0
    )
    assert open(out).read() == 'zero one 0 3\none 1 2\ntwo 2 1\nthree 3 0\n'
    names, counts = parse_class_counts(out, 4)
    assert list(names) == ['zero one', 'one', 'two', 'three']
    assert capsys.readouterr().out.endswith(
        'head / medium / tail (>2 / <=1): 1 / 1 / 2\n'
    )
    # the full dataset's thresholds on the subset: head empty, warned
    assert (
        _main(
            [
                str(lst),
                '--num-classes',
                '4',
                '--head-thr',
                '50',
                '--tail-thr',
                '1',
                '--out',
                out,
                '--force',
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert 'warning: empty group(s) head' in captured.err
    assert open(out).read().startswith('class_0 0 3\n')
    # no silent overwrite
    assert _main([str(lst), '--num-classes', '4', '--out', out]) == 1
    assert 'exists (pass --force' in capsys.readouterr().err
