"""Class-balanced sampling: a class uniformly, then a video of it."""

from typing import Optional

from mmaction.registry import DATA_SAMPLERS

from .class_aware_sampler import ClassAwareSampler


@DATA_SAMPLERS.register_module()
class ClassBalancedSampler(ClassAwareSampler):
    """Draw a class uniformly, then one of its videos uniformly.

    Every non-empty class has probability ``1 / C'`` (``C'`` = number of
    classes with at least one video; empty classes are left out with a
    warning). A multi-label video is a member of every class it carries,
    so it can be reached through each of them. This is the stage-2
    sampling of MEID (``docs/method.md``).

    Each rank yields ``ceil(T0 / world_size)`` indices per epoch, with
    ``T0 = num_samples`` if given, else ``len(dataset)``; see
    :class:`ClassAwareSampler` for the distributed split and seeding.

    Args:
        dataset: The dataset (``len()`` and one of ``get_label_lists()``,
            ``get_cat_ids(idx)``, ``get_data_info(idx)['label']``).
        seed (int, optional): Random seed, identical on all ranks; None
            syncs a random one from rank 0. Defaults to None.
        num_samples (int, optional): Total draws per epoch over all ranks.
            Defaults to None (``len(dataset)``).
        label_mask (bool): Yield encoded ``(video, class)`` indices so that
            the loss keeps only the drawn class among the video's positives
            (VideoLT's label mask; see :class:`ClassAwareSampler`).
            Defaults to False.
    """

    def __init__(
        self,
        dataset,
        seed: Optional[int] = None,
        num_samples: Optional[int] = None,
        label_mask: bool = False,
    ) -> None:
        super().__init__(
            dataset,
            class_power=0.0,
            seed=seed,
            num_samples=num_samples,
            label_mask=label_mask,
        )
