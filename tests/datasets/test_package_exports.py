"""``from meid_mmaction.datasets import *`` exports what ``__all__`` names."""

import meid_mmaction.datasets as datasets


def test_star_import_exports_all_names():
    namespace = {}
    exec('from meid_mmaction.datasets import *', namespace)
    missing = [n for n in datasets.__all__ if n not in namespace]
    assert not missing
    assert {
        'ClassGroups',
        'split_groups',
        'parse_label_line',
        'AnnotationLineError',
    } <= set(namespace)
