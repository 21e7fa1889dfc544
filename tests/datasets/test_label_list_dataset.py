from meid_mmaction.datasets.label_list_dataset import LabelListDataset


def test_label_list_dataset():
    ds = LabelListDataset([[0, 2], [1]], classes=['a', 'b', 'c'])
    assert len(ds) == 2
    assert ds[0] == dict(label=[0, 2])
    assert ds.get_cat_ids(1) == [1]
    assert ds.get_label_lists() == [[0, 2], [1]]
    assert ds.metainfo == dict(classes=('a', 'b', 'c'))
    assert LabelListDataset([[0]]).metainfo == {}
