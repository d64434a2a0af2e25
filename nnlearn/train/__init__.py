"""Training: the ``fit`` loop, its ``History``, callbacks, metrics, progress bar, a learning-rate range test,
an experiment log, a training profiler, and truncated backpropagation through time for recurrent models.

>>> from nnlearn.train import fit, EarlyStopping
>>> history = fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, epochs=20,   # doctest: +SKIP
...               val_loader=val_loader, callbacks=[EarlyStopping(patience=3)])
>>> history.best("val_loss")                                                            # doctest: +SKIP
Best(epoch=12, value=0.081)
"""
from __future__ import annotations

from .callbacks import Callback, EarlyStopping, GradientClipping, LambdaCallback, ModelCheckpoint, TrainState
from .experiment import ExperimentLog, ExperimentTable, Run, library_versions
from .fit import evaluate, fit, predict
from .history import Best, History
from .lr_finder import LRFinder
from .metrics import accuracy, confusion_matrix, precision, recall, to_labels
from .profiling import FunctionStat, TrainingProfile, profile_fit
from .tbptt import bptt_chunks, detach_state, fit_tbptt

__all__ = [
    "Best", "Callback", "EarlyStopping", "ExperimentLog", "ExperimentTable", "FunctionStat", "GradientClipping",
    "History", "LRFinder", "LambdaCallback", "ModelCheckpoint", "Run", "TrainState", "TrainingProfile", "accuracy",
    "bptt_chunks", "confusion_matrix", "detach_state", "evaluate", "fit", "fit_tbptt", "library_versions",
    "precision", "predict", "profile_fit", "recall", "to_labels",
]
