import os.path as osp

import pytest

SHARED = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', 'shared'))


@pytest.fixture
def shared_data():
    """Path of ``../shared/data`` (real annotation files); skip if absent."""
    path = osp.join(SHARED, 'data')
    if not osp.isdir(path):
        pytest.skip('../shared/data is not available')
    return path
