"""Offline data tools of meid_mmaction: dataset builders and writers.

Synthetic long-tailed datasets (:mod:`meid_datatools.synthetic`), the
CharadesLT list builder (:mod:`meid_datatools.charades_lt`), packing of
feature directories into packed stores (:mod:`meid_datatools.packing`)
and frame-feature extraction (:mod:`meid_datatools.extract`). Used by the
command-line scripts in ``tools/data``, never at training time: the runtime
package ``meid_mmaction`` does not import this package (it reads what these
tools write: :mod:`meid_mmaction.datasets.packed_store`,
:mod:`meid_mmaction.datasets.dataset_check`).
"""
