"""Square-root sampling: a class with probability ∝ sqrt(n_c)."""

from typing import Optional

from mmaction.registry import DATA_SAMPLERS

from .class_aware_sampler import ClassAwareSampler


@DATA_SAMPLERS.register_module()
class SquareRootSampler(ClassAwareSampler):
    """Draw a class with probability ``∝ sqrt(n_c)``, then a video of it.

    ``n_c`` is the number of videos carrying class ``c`` (a multi-label
    video counts in each of its classes); the video is then drawn
    uniformly among those ``n_c``. Empty classes are left out with a
    warning.

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
            class_power=0.5,
            seed=seed,
            num_samples=num_samples,
            label_mask=label_mask,
        )
