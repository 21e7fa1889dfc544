"""Importing the package silences exactly mmcv-lite's
``MultiScaleDeformableAttention`` warning and nothing else."""


def test_only_the_msda_warning_is_silenced(fresh_import):
    err = fresh_import[1]
    assert 'mmcv-lite' not in err  # the real import-time warning
    assert 'another mmcv warning' in err
    # same text from another module is not filtered
    assert 'MultiScaleDeformableAttention`` elsewhere' in err
    assert err.count('MultiScaleDeformableAttention') == 1


def test_tools_print_no_msda_warning(fresh_python):
    err = fresh_python(['tools/test.py', '--help'])[1]
    assert 'MultiScaleDeformableAttention' not in err
