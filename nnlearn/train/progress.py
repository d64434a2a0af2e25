"""The progress bar of ``fit``: one tqdm bar over the epochs, with the latest numbers in its postfix.

tqdm is imported only when a bar is shown, so ``progress=False`` never loads it.
"""
from __future__ import annotations

from typing import Any

__all__ = ["EpochProgress", "format_logs"]


def format_logs(logs: dict[str, float]) -> str:
    """``"loss=0.312, val_loss=0.298, accuracy=0.91, lr=0.01"``: 4 significant digits, no epoch time."""
    return ", ".join(f"{name}={value:.4g}" for name, value in logs.items() if name != "time")


class EpochProgress:
    """A bar that advances once per epoch.

    ``progress``: ``"auto"`` — tqdm's notebook widget inside Jupyter, a text bar in a terminal
    (``tqdm.auto``); ``True`` — always the text bar (it survives in saved notebooks and rendered pages,
    where the widget needs a live kernel); ``False`` — nothing at all.
    """

    def __init__(self, epochs: int, progress: bool | str = "auto") -> None:
        if progress not in ("auto", True, False):
            raise ValueError(f"progress must be 'auto', True or False, got {progress!r}")
        self._bar: Any = None
        if progress == "auto":
            from tqdm.auto import tqdm
        elif progress:
            from tqdm import tqdm
        else:
            return
        self._bar = tqdm(total=epochs, desc="fit", unit="epoch")

    def update(self, logs: dict[str, float]) -> None:
        """Advance by one epoch and show ``logs``."""
        if self._bar is not None:
            self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
