"""Offline training (smoothdesk-train): labels, dataset, metrics, the synthetic trace, CatBoost, ONNX export.

The helper never imports this package; it loads only the runtime modules of ``smoothdesk.ml``.
"""
