from . import (  # noqa: F401
    aggregators,
    data_preprocessors,
    heads,
    losses,
    recognizers,
)
