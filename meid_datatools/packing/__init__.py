"""Write, pack and verify packed feature stores.

The format and its reader are :mod:`meid_mmaction.datasets.packed_store`.
:class:`PackedStoreWriter` appends videos one after the other into the
current shard, starting a new one when the shard would exceed
``shard_bytes``. Progress goes to an append-only log after the shard data
is flushed to disk, so a killed run resumes where its last commit ended.
:func:`pack_features` converts a directory of per-video ``.npy`` files and
:func:`verify_packed_store` re-hashes shards and optionally compares the
values with the sources. Used by ``tools/data/pack_features.py`` and
``tools/data/extract_features.py``.
"""

from .pack import (
    list_source_ids,
    pack_features,
    scan_sources,
    verify_packed_store,
)
from .writer import (
    DEFAULT_SHARD_BYTES,
    PackedStoreWriter,
    file_sha256,
    validate_features,
)

__all__ = [
    'DEFAULT_SHARD_BYTES',
    'PackedStoreWriter',
    'file_sha256',
    'list_source_ids',
    'pack_features',
    'scan_sources',
    'validate_features',
    'verify_packed_store',
]
