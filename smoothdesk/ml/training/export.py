"""Writes a trained model as ONNX (a plain probability tensor) and its metadata JSON; trainer only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from smoothdesk.ml.features import FEATURES, FEATURES_HASH, FEATURES_VERSION

MODEL_NAME = "attention.onnx"
META_NAME = "attention.json"
INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"
_VOLATILE_PROPS = frozenset({"train_finish_time", "training", "output_options", "model_guid"})


def strip_zipmap(path: Path) -> None:
    """Replace CatBoost's ZipMap output (a list of dicts per row) by the [N, 2] float tensor.

    ZipMap costs time per row at inference and a dict per group in Python; the tensor is what
    the ranker needs.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(path))
    graph = model.graph
    zipmaps = [n for n in graph.node if n.op_type == "ZipMap"]
    if zipmaps:
        source = zipmaps[0].input[0]
        graph.node.remove(zipmaps[0])
        for node in graph.node:
            for i, name in enumerate(node.output):
                if name == source:
                    node.output[i] = OUTPUT_NAME
        kept = [o for o in graph.output if o.name != OUTPUT_NAME]
        del graph.output[:]
        graph.output.extend([*kept, helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", 2])])
    # CatBoost stamps a random guid, the finish time and a loss log into the file; without them the same data
    # and seed give a byte-identical model.
    kept_props = [p for p in model.metadata_props if p.key not in _VOLATILE_PROPS]
    del model.metadata_props[:]
    model.metadata_props.extend(kept_props)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def export(model: Any, out_dir: Path, meta: dict[str, Any]) -> tuple[Path, Path]:
    """Save `model` (a fitted CatBoostClassifier) and the metadata; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path, meta_path = out_dir / MODEL_NAME, out_dir / META_NAME
    model.save_model(
        str(onnx_path),
        format="onnx",
        export_parameters={
            "onnx_domain": "org.smoothdesk",
            "onnx_model_version": FEATURES_VERSION,
            "onnx_doc_string": "SmoothDesk attention ranker: P(focus or input within 60 s)",
            "onnx_graph_name": "attention",
        },
    )
    strip_zipmap(onnx_path)
    full = {
        "model": MODEL_NAME,
        "features": list(FEATURES),
        "features_version": FEATURES_VERSION,
        "features_hash": FEATURES_HASH,
        "input": INPUT_NAME,
        "output": OUTPUT_NAME,
        **meta,
    }
    meta_path.write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    return onnx_path, meta_path
