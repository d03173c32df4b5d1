"""Progress callbacks that cancel, and the tqdm bar switch of ``explain_batch``."""

from __future__ import annotations


class Cancelled(Exception):
    """What :func:`cancel`, a progress callback, raises: ``"done/total"`` at its first call."""


def cancel(done: int, total: int) -> None:
    raise Cancelled(f"{done}/{total}")


def assert_progress_bar_switch(explainer, images, label: str, capsys) -> None:
    """``explain_batch``'s tqdm bar (named ``label``) is off with ``show_progress=False``, on with True."""
    explainer.explain_batch(images, batch_size=1, show_progress=False)
    assert label not in capsys.readouterr().err
    explainer.explain_batch(images, batch_size=1, show_progress=True)
    assert label in capsys.readouterr().err
