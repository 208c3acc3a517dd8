"""Honest ML at run time: the features, the per-tick observations and the ONNX ranker the helper loads.

Offline training (labels, dataset, metrics, trace, CatBoost, ONNX export) is in ``smoothdesk.ml.training``.
"""
