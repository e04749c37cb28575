"""Learning-curve and confusion-matrix figures of a training run (matplotlib, Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_learning_curves(histories: dict[int, list[dict[str, float]]], path: Path, title: str) -> None:
    """Train loss and validation accuracy per epoch, one line per seed."""
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    for seed, hist in histories.items():
        epochs = [h["epoch"] for h in hist]
        ax_loss.plot(epochs, [h["train_loss"] for h in hist], label=f"seed {seed} train")
        ax_loss.plot(epochs, [h["val_loss"] for h in hist], "--", label=f"seed {seed} val")
        ax_acc.plot(epochs, [h["val_accuracy"] for h in hist], label=f"seed {seed}")
    ax_loss.set(xlabel="epoch", ylabel="loss (sum over stages)", title=f"{title}: loss")
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1.02), title=f"{title}: accuracy")
    ax_loss.legend(fontsize=7)
    ax_acc.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(cm: np.ndarray, names: Sequence[str], path: Path, title: str) -> None:
    """Row-normalised confusion matrix (rows: true class) with counts in the cells."""
    plt = _pyplot()
    rows = cm.sum(1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=float), where=rows > 0)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")  # fmt: skip
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
