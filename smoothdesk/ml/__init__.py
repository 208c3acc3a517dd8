"""Honest ML: features, attention labels, the synthetic trace, the trainer and the ONNX ranker."""
