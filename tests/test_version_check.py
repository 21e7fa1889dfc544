"""Import-time version checks."""

import re
import types

import pytest

from meid_mmaction.utils import version_check
from meid_mmaction.utils.version_check import (
    SUPPORTED,
    _parse,
    check_dependencies,
    check_version,
    installed_version,
)


@pytest.mark.parametrize(
    'text, expected',
    [
        ('1.1.0', (1, 1, 0)),
        ('2.13.0+cpu', (2, 13, 0)),
        ('2.1.0+cu121', (2, 1, 0)),
        ('1.2.0rc1', (1, 2, 0)),
        ('0.10.7', (0, 10, 7)),
        ('2.1.0.dev20230901', (2, 1, 0)),
    ],
)
def test_parse(text, expected):
    assert _parse(text) == expected


@pytest.mark.parametrize('version', ['1.1.0', '1.2.1', '1.2.99'])
def test_mmaction_accepted(version):
    lo, hi = SUPPORTED['mmaction'][1:]
    check_version('mmaction', version, lo, hi)


@pytest.mark.parametrize('version', ['1.3.0', '1.0.9', '2.0.0'])
def test_mmaction_refused(version):
    lo, hi = SUPPORTED['mmaction'][1:]
    msg = (
        f'meid_mmaction supports mmaction >=1.1.0, <1.3.0, but '
        f'mmaction {version} is installed'
    )
    with pytest.raises(ImportError, match=re.escape(msg)):
        check_version('mmaction', version, lo, hi)


def test_torch_local_version_and_open_range():
    lo, hi = SUPPORTED['torch'][1:]
    assert hi is None
    check_version('torch', '2.13.0+cpu', lo, hi)
    check_version('torch', '2.0.0', lo, hi)
    with pytest.raises(
        ImportError,
        match=re.escape(
            'supports torch >=2.0.0, but torch 1.13.1+cu117 is installed'
        ),
    ):
        check_version('torch', '1.13.1+cu117', lo, hi)


def test_mmengine_range():
    check_version('mmengine', '0.10.7', '0.10.0', '0.11.0')
    with pytest.raises(
        ImportError,
        match=re.escape(
            'mmengine >=0.10.0, <0.11.0, but mmengine 0.11.0 is installed'
        ),
    ):
        check_version('mmengine', '0.11.0', '0.10.0', '0.11.0')


def test_installed_stack_passes():
    check_dependencies()
    import torch

    assert installed_version('torch') == torch.__version__


def test_missing_package(monkeypatch):
    monkeypatch.setattr(
        version_check,
        'SUPPORTED',
        dict(
            SUPPORTED,
            meid_no_such_pkg=(('meid-no-such-pkg',), '1.0.0', '2.0.0'),
        ),
    )
    with pytest.raises(
        ImportError,
        match=re.escape(
            'meid_mmaction needs meid_no_such_pkg >=1.0.0, '
            '<2.0.0, which is not installed'
        ),
    ):
        check_dependencies()


def test_version_from_metadata(monkeypatch):
    # A module without ``__version__`` falls back to the distribution names.
    fake = types.ModuleType('meid_fake_mod')
    monkeypatch.setitem(__import__('sys').modules, 'meid_fake_mod', fake)
    monkeypatch.setattr(
        version_check,
        'SUPPORTED',
        dict(meid_fake_mod=(('meid-no-such-dist', 'pytest'), '0', None)),
    )
    assert installed_version('meid_fake_mod') == pytest.__version__

    monkeypatch.setattr(
        version_check,
        'SUPPORTED',
        dict(meid_fake_mod=(('meid-no-such-dist',), '0', None)),
    )
    with pytest.raises(
        ImportError, match='cannot determine the version of meid_fake_mod'
    ):
        installed_version('meid_fake_mod')


def test_refused_dependency_propagates(monkeypatch):
    monkeypatch.setattr(
        version_check,
        'installed_version',
        lambda name: (
            '1.3.0'
            if name == 'mmaction'
            else '99.0.0'
            if name == 'torch'
            else {'mmengine': '0.10.7', 'mmcv': '2.0.1'}[name]
        ),
    )
    with pytest.raises(
        ImportError, match=re.escape('mmaction 1.3.0 is installed')
    ):
        check_dependencies()
