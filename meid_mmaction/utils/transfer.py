"""Host -> device copies that do not synchronise the host with the GPU.

A plain ``tensor.to('cuda')`` from pageable host memory is a blocking copy:
PyTorch waits for the stream (``cudaStreamSynchronize``), i.e. for every
kernel queued before it. :func:`to_device` copies small host tensors made
during a training step (index permutations, drawn classes) through pinned
memory with ``non_blocking=True`` instead: the copy is queued on the stream
like a kernel and the host goes on.
"""

import torch


def to_device(tensor: torch.Tensor, device) -> torch.Tensor:
    """``tensor`` on ``device`` without a host synchronisation.

    A CPU tensor bound for a CUDA device is pinned and copied with
    ``non_blocking=True`` (PyTorch's caching host allocator keeps the
    pinned block alive until the copy has run); anything else is
    ``tensor.to(device)``.

    Args:
        tensor (torch.Tensor): Any tensor (typically small, on the host).
        device (torch.device | str): Target device.

    Returns:
        torch.Tensor: Same values and dtype, on ``device``.
    """
    device = torch.device(device)
    if tensor.device.type == 'cpu' and device.type == 'cuda':
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)
