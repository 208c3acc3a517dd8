"""The ONNX attention ranker the helper runs with onnxruntime."""
