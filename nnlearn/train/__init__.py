"""Training: the ``fit`` loop, its ``History``, callbacks, metrics and progress bar.

>>> from nnlearn.train import fit, EarlyStopping
>>> history = fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, epochs=20,   # doctest: +SKIP
...               val_loader=val_loader, callbacks=[EarlyStopping(patience=3)])
>>> history.best("val_loss")                                                            # doctest: +SKIP
Best(epoch=12, value=0.081)
"""
from __future__ import annotations

from .callbacks import Callback, EarlyStopping, GradientClipping, LambdaCallback, ModelCheckpoint, TrainState
from .fit import evaluate, fit, predict
from .history import Best, History
from .metrics import accuracy, confusion_matrix, precision, recall, to_labels

__all__ = [
    "Best", "Callback", "EarlyStopping", "GradientClipping", "History", "LambdaCallback", "ModelCheckpoint",
    "TrainState", "accuracy", "confusion_matrix", "evaluate", "fit", "precision", "predict", "recall", "to_labels",
]
