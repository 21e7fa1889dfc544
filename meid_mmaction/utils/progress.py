"""Progress of a long loop, fit for a terminal and for a log file.

mmengine's ``ProgressBar`` redraws its bar with ``\\r`` on every step; in a
file or a pipe (stderr not a terminal) each redraw becomes a line, thousands
of them in a log. :class:`Progress` redraws in place only on a terminal
(at most a few times per second) and otherwise writes one line every
``every`` percent.
"""

import sys
import time
from typing import Optional, TextIO


class Progress:
    """Count ``total`` steps and report them on ``stream``.

    * ``stream.isatty()``: one line rewritten in place (``\\r``), at most
      every ``min_interval`` seconds and at the end, then a newline on
      :meth:`close`;
    * otherwise: a line ``<label>: <done>/<total> (<p>%), <s> s`` each time
      the done fraction reaches the next multiple of ``every`` percent (and
      at 100 %), i.e. at most ``ceil(100 / every)`` lines.

    Args:
        total (int): Number of steps (> 0).
        label (str): What is counted, at the start of each line.
        stream (TextIO, optional): Where to write; ``sys.stderr`` by default.
        every (float): Percent between two lines when ``stream`` is not a
            terminal, in ``(0, 100]``.
        min_interval (float): Seconds between two redraws on a terminal.

    Raises:
        ValueError: ``total`` < 1 or ``every`` outside ``(0, 100]``.
    """

    def __init__(
        self,
        total: int,
        label: str = 'progress',
        stream: Optional[TextIO] = None,
        every: float = 10.0,
        min_interval: float = 0.2,
    ) -> None:
        if int(total) < 1:
            raise ValueError(f'total must be >= 1, got {total!r}')
        if not 0 < every <= 100:
            raise ValueError(f'every must be in (0, 100] percent, got {every}')
        self.total = int(total)
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.every = float(every)
        self.min_interval = float(min_interval)
        isatty = getattr(self.stream, 'isatty', None)
        self.tty = bool(isatty()) if callable(isatty) else False
        self.done = 0
        self._start = time.perf_counter()
        self._last_draw = float('-inf')
        self._next_step = 1  # next multiple of `every` to report (non-TTY)

    def _text(self) -> str:
        elapsed = time.perf_counter() - self._start
        pct = 100.0 * self.done / self.total
        text = (
            f'{self.label}: {self.done}/{self.total} ({pct:.0f}%), '
            f'{elapsed:.0f} s'
        )
        if self.tty and 0 < self.done < self.total:
            eta = elapsed * (self.total - self.done) / self.done
            text += f', ETA {eta:.0f} s'
        return text

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps done."""
        self.done = min(self.total, self.done + n)
        if self.tty:
            now = time.perf_counter()
            if (
                now - self._last_draw >= self.min_interval
                or self.done == self.total
            ):
                self._last_draw = now
                self.stream.write('\r' + self._text() + '\x1b[K')
                self.stream.flush()
            return
        reached = 100.0 * self.done / self.total
        if reached + 1e-9 < self._next_step * self.every and (
            self.done < self.total
        ):
            return
        while self._next_step * self.every <= reached + 1e-9:
            self._next_step += 1
        self.stream.write(self._text() + '\n')
        self.stream.flush()

    def close(self) -> None:
        """End the in-place line on a terminal (no-op otherwise)."""
        if self.tty:
            self.stream.write('\n')
            self.stream.flush()
