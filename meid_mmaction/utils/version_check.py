"""Check at import time that the installed OpenMMLab stack is supported."""

from importlib import metadata
from typing import Optional, Tuple

# import name -> (distributions to look up, min inclusive, max exclusive)
SUPPORTED = {
    'torch': (('torch',), '2.0.0', None),
    'mmengine': (('mmengine',), '0.10.0', '0.11.0'),
    'mmcv': (('mmcv', 'mmcv-lite'), '2.0.0', '2.3.0'),
    'mmaction': (('mmaction2',), '1.1.0', '1.3.0'),
}


def _parse(version: str) -> Tuple[int, ...]:
    out = []
    for part in version.split('+')[0].split('.'):
        digits = ''
        for ch in part:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def _range_text(lo: str, hi: Optional[str]) -> str:
    return f'>={lo}' + (f', <{hi}' if hi else '')


def check_version(name: str, version: str, lo: str, hi: Optional[str]) -> None:
    """Raise ``ImportError`` if ``version`` is outside ``[lo, hi)``."""
    v = _parse(version)
    if v < _parse(lo) or (hi is not None and v >= _parse(hi)):
        raise ImportError(
            f'meid_mmaction supports {name} {_range_text(lo, hi)}, but '
            f'{name} {version} is installed. Install a supported version '
            '(see README.md, "Installation").'
        )


def installed_version(module_name: str) -> str:
    """Version of an importable package (``__version__`` or metadata)."""
    module = __import__(module_name)
    version = getattr(module, '__version__', None)
    if version is None:
        dists, _, _ = SUPPORTED[module_name]
        for dist in dists:
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
        raise ImportError(f'cannot determine the version of {module_name}')
    return version


def check_dependencies() -> None:
    """Check every supported dependency; raise ``ImportError`` if off."""
    for name, (_, lo, hi) in SUPPORTED.items():
        try:
            version = installed_version(name)
        except ModuleNotFoundError:
            raise ImportError(
                f'meid_mmaction needs {name} {_range_text(lo, hi)}, which is '
                'not installed (see README.md, "Installation").'
            ) from None
        check_version(name, version, lo, hi)
