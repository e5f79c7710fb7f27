"""CPU inference of the U-Net through ONNX Runtime (float32, or int8 on request).

On a 2-core CPU, ONNX Runtime runs the same network about 35 % faster than eager
PyTorch with identical labels (docs/performance.md), so :class:`~core.segment.infer.Segmenter`
uses it on the CPU when ``onnxruntime`` is installed.  The ONNX graph is never shipped
nor read from a user: it is exported here from the safetensors weights (TorchScript
exporter, dynamic batch and matrix) and cached under :func:`cache_dir`, named by a hash
of the weights, the precision and the library versions, so a changed model or library
never reuses a stale graph.  A cache that cannot be written only costs the export time.

``precision="int8"`` quantizes weights (per channel) and activations (per tensor, ranges
from a fixed set of calibration frames) to 8 bits with ONNX Runtime's static QDQ
quantization; it is faster again but slightly less accurate (measured in
docs/performance.md), so it is opt-in.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import io
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch

from core.atomic import replaced_atomically
from core.segment.unet import UNet

PRECISIONS = ("fp32", "int8")
#: int8 calibration methods (name → ONNX Runtime ``CalibrationMethod`` member).
CALIBRATION_METHODS = {"minmax": "MinMax", "percentile": "Percentile", "entropy": "Entropy"}
#: bump when the export or quantization recipe changes (invalidates cached graphs)
RECIPE_VERSION = 1
OPSET = 17


def available() -> bool:
    """True when ONNX Runtime can be imported."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def cache_dir() -> Path:
    """Folder of exported graphs: ``$PELVITRACK_CACHE``, else ``$XDG_CACHE_HOME/pelvitrack``
    (``~/.cache/pelvitrack``)."""
    env = os.environ.get("PELVITRACK_CACHE")
    if env:
        return Path(env) / "onnx"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pelvitrack" / "onnx"


def graph_key(net: UNet, precision: str, calibration_id: str = "",
              method: str = "minmax") -> str:
    """Hash naming a network's exported graph: weights, architecture, precision, versions,
    and for int8 the calibration frames (``calibration_id``: whatever names them) and
    method."""
    import onnxruntime

    h = hashlib.sha256()
    h.update(repr(sorted(net.config.items())).encode())
    for name, t in net.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    h.update(f"{precision}|{torch.__version__}|{onnxruntime.__version__}|{RECIPE_VERSION}"
             .encode())
    if precision == "int8":
        h.update(f"|calibration:{calibration_id}|{method}".encode())
    return h.hexdigest()[:20]


def export_onnx(net: UNet) -> bytes:
    """The network as an ONNX graph (float32, dynamic batch, height and width).

    Exports a copy: ``Module.to`` works in place, and the caller's network keeps its
    device and memory format (the Segmenter's is channels_last)."""
    net = copy.deepcopy(net).eval().to("cpu").to(memory_format=torch.contiguous_format)
    x = torch.zeros(1, net.config["in_channels"], 4 * net.multiple, 4 * net.multiple)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about the input checks
        # the TorchScript exporter: 0.2–0.5 s, against ~20 s for the dynamo one (torch < 2.5
        # has no ``dynamo`` argument and only the TorchScript exporter)
        extra = ({"dynamo": False}
                 if "dynamo" in inspect.signature(torch.onnx.export).parameters else {})
        torch.onnx.export(net, (x,), buf, input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "n", 2: "h", 3: "w"},
                                        "logits": {0: "n", 2: "h", 3: "w"}},
                          opset_version=OPSET, **extra)
    return buf.getvalue()


def quantize_int8(graph: bytes, calibration: Iterable[np.ndarray],
                  method: str = "minmax") -> bytes:
    """Static int8 quantization (QDQ; weights per channel, activations per tensor).

    The first convolution (it sees the raw intensities) and the last one (the class
    scores) stay in float: they cost little time, and keeping them made the 8-bit model
    as accurate as the float one on the held-out phantom sets (docs/performance.md).

    Args:
        graph: float32 graph from :func:`export_onnx`.
        calibration: network inputs (1, C, H, W) float32 whose activations set the ranges.
        method: how those activations set each range: one of :data:`CALIBRATION_METHODS`
            (``"minmax"``, the default: the observed extremes).
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if method not in CALIBRATION_METHODS:
        raise ValueError(f"method must be one of {tuple(CALIBRATION_METHODS)}, got {method!r}")
    frames = [np.ascontiguousarray(f, dtype=np.float32) for f in calibration]
    if not frames:
        raise ValueError("int8 quantization needs calibration frames")
    if method != "minmax":  # these calibrators stack all activations: one common shape
        h = max(f.shape[2] for f in frames)
        w = max(f.shape[3] for f in frames)
        frames = [np.pad(f, ((0, 0), (0, 0), (0, h - f.shape[2]), (0, w - f.shape[3])))
                  for f in frames]  # zeros, as the Segmenter pads to the network's multiple

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(frames)

        def get_next(self):
            f = next(self._it, None)
            return None if f is None else {"x": f}

    with tempfile.TemporaryDirectory(prefix="pelvitrack-q") as tmp:
        src, pre, out = (Path(tmp) / n for n in ("f.onnx", "p.onnx", "q.onnx"))
        src.write_bytes(graph)
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        convs = [n.name for n in onnx.load(str(pre)).graph.node if n.op_type == "Conv"]
        quantize_static(str(pre), str(out), _Reader(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        per_channel=True, nodes_to_exclude=[convs[0], convs[-1]],
                        calibrate_method=CalibrationMethod[CALIBRATION_METHODS[method]])
        return out.read_bytes()


class OrtNetwork:
    """A U-Net run by ONNX Runtime on the CPU; called like the torch module.

    Args:
        net: the (BatchNorm-folded or not) network.
        precision: ``"fp32"`` or ``"int8"``.
        calibration: for int8, a callable returning the calibration inputs (only
            called when the quantized graph is not cached yet).
        calibration_id: names those inputs in the cache key, so other calibration
            frames (say, a new phantom revision) build a new graph instead of reusing
            an old one.
        method: int8 calibration method (:func:`quantize_int8`; part of the cache key).
        threads: intra-op threads (default: ``torch.get_num_threads()``).
        use_cache: read and write exported graphs under :func:`cache_dir`.
    """

    def __init__(self, net: UNet, precision: str = "fp32",
                 calibration: Callable[[], Iterable[np.ndarray]] | None = None,
                 threads: int | None = None, use_cache: bool = True,
                 calibration_id: str = "", method: str = "minmax") -> None:
        import onnxruntime as ort

        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if precision == "int8" and calibration is None:
            raise ValueError("int8 precision needs calibration frames")
        self.precision = precision
        self.key = graph_key(net, precision, calibration_id, method)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or torch.get_num_threads())
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # no busy-waiting after a run: the Segmenter's torch ops (resampling, softmax)
        # run right after on the same 2 cores (measured effect within the machine's noise)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")

        def session(graph: bytes):
            return ort.InferenceSession(graph, opts, providers=["CPUExecutionProvider"])

        path = cache_dir() / f"unet-{self.key}.onnx"
        self.session = None
        self.from_cache = False
        if use_cache and path.is_file():
            try:
                self.session = session(path.read_bytes())
                self.from_cache = True
            except Exception:  # a damaged cache file (onnxruntime's own error types)
                path.unlink(missing_ok=True)
        if self.session is None:
            graph = export_onnx(net)
            if precision == "int8":
                graph = quantize_int8(graph, calibration(), method)
            self.session = session(graph)
            if use_cache:
                try:
                    with replaced_atomically(path) as tmp:
                        tmp.write_bytes(graph)
                except OSError:
                    pass  # read-only home: export again next time

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        arr = x.detach().to("cpu", torch.float32).contiguous().numpy()
        return torch.from_numpy(self.session.run(None, {"x": arr})[0])
