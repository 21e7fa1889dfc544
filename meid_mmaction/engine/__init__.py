from . import hooks, loops, optim_wrappers  # noqa: F401
