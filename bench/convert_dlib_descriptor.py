"""Convert dlib's 128-d face descriptor network (``dlib_face_recognition_resnet_model_v1.dat``) to ONNX.

    python -m bench.convert_dlib_descriptor [--dat PATH] [--out PATH]

A dev-time tool (it needs the ``onnx`` package, a dev requirement); the product loads the converted file
``liveness/engine/weights/dlib_resnet/dlib_face_recognition_resnet_model_v1.onnx`` with onnxruntime
(``liveness/engine/match.py``). It lives beside the other re-runnable derivations in ``bench/`` rather
than in a management command because it needs neither Django nor the database, only the ``.dat`` file.

The ``.dat`` is dlib's ``serialize`` of ``anet_type`` from dlib's ``examples/dnn_face_recognition_ex.cpp``::

    loss_metric<fc_no_bias<128, avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<
        max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input_rgb_image_sized<150>>>>>>>>>>>>>

    alevel4 = ares<32> x3; alevel3 = ares<64> x3 on ares_down<64>; alevel2 = ares<128> x2 on ares_down<128>;
    alevel1 = ares<256> x2 on ares_down<256>; alevel0 = ares_down<256>
    ares<N>      = relu<add_prev1<block<N,1,tag1<x>>>>
    ares_down<N> = relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,2,tag1<x>>>>>>>
    block<N,s>   = affine<con<N,3,3,1,1,relu<affine<con<N,3,3,s,s,x>>>>>

What the file holds (dlib/serialize.h, dlib/dnn/core.h, layers.h, input.h, loss.h, tensor.h):

- integers: one byte (bit 7 = negative, low nibble = byte count) then that many little-endian bytes;
  strings: length then bytes; bools: one byte; floats/doubles: two integers, mantissa and base-2 exponent;
- a network: every wrapper's version, outermost first (add_loss_layer 1, add_layer 2 — 3 for the one on the
  input —, add_tag_layer/add_skip_layer 1), then from the input up each layer's details and, for add_layer,
  three bools and its cached tensors (x_grad, cached_output, params_grad; grad_final and the sample
  expansion factor on the input's add_layer);
- a tensor: version 2, num_samples, k, nr, nc, then raw little-endian float32s; an alias_tensor (a
  layer's view into its params tensor, in order): version, num_samples, k, nr, nc.

dlib's semantics carried into the graph (each checked by measurement against dlib in
``tests/test_engine_descriptor.py``):

- input: the RGB chip, (pixel - (122.782, 117.001, 104.298)) / 256, planes in R, G, B order (NCHW);
- con: cross-correlation with the serialised padding (0 for stride 2, k/2 for stride 1), plus bias;
- affine (batch-norm folded, conv mode): x * gamma[c] + beta[c];
- max_pool / avg_pool with the serialised padding, avg_pool_everything: the global mean;
- add_prev: the output has the larger of each dimension and the smaller input counts as zero beyond its end
  (the down-sampling blocks add 2x2-averaged, zero-channel-padded shortcuts; at 8x8 the strided convolution
  gives 3x3 while the pooled shortcut gives 4x4, so the convolution's output is zero-padded there);
- fc_no_bias: x (1 x 256) times W (256 x 128); loss_metric: the descriptor is the fc output as it is.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "liveness" / "engine" / "weights" / "dlib_resnet" / "dlib_face_recognition_resnet_model_v1.onnx"
CHIP = 150
#: Only the ONNX operators of opset 13 used here; the version is fixed so the file is reproducible.
OPSET = 13
PRODUCER = "kyc-portal bench/convert_dlib_descriptor.py"


class FormatError(ValueError):
    """The file is not the network this converter knows."""


# --- dlib's serialize format -----------------------------------------------------------------------


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise FormatError("the file ends inside the network")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def integer(self) -> int:
        head = self.byte()
        size = head & 0x0F
        if size > 8:
            raise FormatError(f"bad integer header {head:#x} at byte {self.pos - 1}")
        value = int.from_bytes(self.data[self.pos : self.pos + size], "little")
        self.pos += size
        return -value if head & 0x80 else value

    def string(self) -> str:
        size = self.integer()
        if self.pos + size > len(self.data):
            raise FormatError("the file ends inside a string")
        value = self.data[self.pos : self.pos + size].decode("ascii", errors="replace")
        self.pos += size
        return value

    def boolean(self) -> bool:
        value = self.byte()
        if value not in (0, 1, ord("0"), ord("1")):
            raise FormatError(f"bad bool {value:#x} at byte {self.pos - 1}")
        return value in (1, ord("1"))

    def real(self) -> float:
        mantissa, exponent = self.integer(), self.integer()
        return float(np.ldexp(float(mantissa), exponent))

    def tensor(self) -> np.ndarray:
        version = self.integer()
        if version != 2:
            raise FormatError(f"tensor version {version} (only 2, raw float32, is known)")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        if self.pos + 4 * count > len(self.data):
            raise FormatError("the file ends inside a tensor")
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos).reshape(shape)
        self.pos += 4 * count
        return values.astype(np.float32)

    def alias(self) -> tuple[int, int, int, int]:
        """An alias_tensor's shape (its offset into the params is not serialised: the layer knows it)."""
        version = self.integer()
        if version != 1:
            raise FormatError(f"alias_tensor version {version}")
        return (self.integer(), self.integer(), self.integer(), self.integer())

    def expect(self, value: str) -> None:
        found = self.string()
        if found != value:
            raise FormatError(f"expected {value!r}, found {found!r} at byte {self.pos}")


def _split(
    params: np.ndarray, first: tuple[int, int, int, int], second: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """A layer's two parameter tensors: ``first`` at the start of ``params``, ``second`` right after it."""
    flat = params.reshape(-1)
    sizes = int(np.prod(first)), int(np.prod(second))
    if sum(sizes) != flat.size:
        raise FormatError(f"params of {flat.size} values are not {first} + {second}")
    return flat[: sizes[0]].reshape(first), flat[sizes[0] :].reshape(second)


# --- the architecture, from the input up --------------------------------------------------------------


@dataclass
class Layer:
    kind: str  # input con affine relu max_pool avg_pool add_prev tag skip gap fc
    arg: int = 0  # con: filters, con stride; tag/skip/add_prev: the tag number
    stride: int = 1
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    ints: tuple[int, ...] = ()


def _block(filters: int, stride: int) -> list[Layer]:
    return [
        Layer("con", filters, stride),
        Layer("affine"),
        Layer("relu"),
        Layer("con", filters, 1),
        Layer("affine"),
    ]


def _ares(filters: int) -> list[Layer]:
    return [Layer("tag", 1), *_block(filters, 1), Layer("add_prev", 1), Layer("relu")]


def _ares_down(filters: int) -> list[Layer]:
    return [
        Layer("tag", 1),
        *_block(filters, 2),
        Layer("tag", 2),
        Layer("skip", 1),
        Layer("avg_pool"),
        Layer("add_prev", 2),
        Layer("relu"),
    ]


def architecture() -> list[Layer]:
    """``anet_type``'s layers from the input up (the loss layer excluded)."""
    layers = [Layer("input"), Layer("con", 32, 2), Layer("affine"), Layer("relu"), Layer("max_pool")]
    for level in (
        [_ares(32), _ares(32), _ares(32)],
        [_ares_down(64), _ares(64), _ares(64), _ares(64)],
        [_ares_down(128), _ares(128), _ares(128)],
        [_ares_down(256), _ares(256), _ares(256)],
        [_ares_down(256)],
    ):
        for unit in level:
            layers += [Layer(layer.kind, layer.arg, layer.stride) for layer in unit]
    return [*layers, Layer("gap"), Layer("fc", 128)]


def _version(layer: Layer) -> int:
    return 1 if layer.kind in ("tag", "skip") else 2


def parse(data: bytes) -> tuple[list[Layer], tuple[float, float, float]]:
    """The layers with their weights, and the input layer's per-channel means (R, G, B)."""
    reader = Reader(data)
    if reader.integer() != 1:
        raise FormatError("add_loss_layer version is not 1")
    reader.expect("loss_metric_2")
    reader.real(), reader.real()  # margin and distance threshold: training-only
    layers = architecture()
    computational = layers[1:]  # layers[0] is the input, serialised inside the first add_layer
    for layer in reversed(computational[1:]):
        version = reader.integer()
        if version != _version(layer):
            raise FormatError(f"wrapper version {version} where {layer.kind} expects {_version(layer)}")
    first_version = reader.integer()
    if first_version not in (2, 3):
        raise FormatError(f"input add_layer version {first_version}")
    reader.expect("input_rgb_image_sized")
    means = (reader.real(), reader.real(), reader.real())
    if (reader.integer(), reader.integer()) != (CHIP, CHIP):
        raise FormatError(f"the input is not {CHIP}x{CHIP}")
    for index, layer in enumerate(computational):
        if layer.kind in ("tag", "skip"):
            continue
        _details(reader, layer)
        for _ in range(3):  # this_layer_setup_called, gradient_input_is_stale, output getters disabled
            reader.boolean()
        reader.tensor(), reader.tensor()  # x_grad, cached_output
        if index == 0:
            reader.tensor()  # grad_final
            if first_version == 3:
                reader.integer()  # sample expansion factor
        else:
            reader.tensor()  # params_grad
    if reader.pos != len(data):
        raise FormatError(f"{len(data) - reader.pos} bytes left after the network")
    return layers, means


def _details(reader: Reader, layer: Layer) -> None:
    if layer.kind == "con":
        reader.expect("con_4")
        params = reader.tensor()
        filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (reader.integer() for _ in range(7))
        if filters != layer.arg or stride_y != layer.stride or stride_x != layer.stride or rows != cols:
            raise FormatError(f"con {filters} {rows}x{cols}/{stride_y} where {layer.arg}/{layer.stride} expected")
        weight, bias = _split(params, reader.alias(), reader.alias())
        for _ in range(4):  # learning-rate and weight-decay multipliers
            reader.real()
        layer.weights = {"W": weight, "B": bias.reshape(-1)}
        layer.ints = (rows, stride_y, pad_y, pad_x)
    elif layer.kind == "affine":
        reader.expect("affine_")
        params = reader.tensor()
        gamma, beta = _split(params, reader.alias(), reader.alias())
        mode = reader.integer()
        if mode != 0 or gamma.shape[2:] != (1, 1):  # CONV_MODE: one gamma and beta per channel
            raise FormatError(f"affine mode {mode} with gamma {gamma.shape}")
        layer.weights = {"gamma": gamma.reshape(1, -1, 1, 1), "beta": beta.reshape(1, -1, 1, 1)}
    elif layer.kind == "relu":
        reader.expect("relu_")
    elif layer.kind == "add_prev":
        reader.expect("add_prev_")
    elif layer.kind in ("max_pool", "avg_pool", "gap"):
        reader.expect("max_pool_2" if layer.kind == "max_pool" else "avg_pool_2")
        layer.ints = tuple(reader.integer() for _ in range(6))  # nr nc stride_y stride_x padding_y padding_x
        expected = {"max_pool": (3, 3, 2, 2, 0, 0), "avg_pool": (2, 2, 2, 2, 0, 0), "gap": (0, 0, 1, 1, 0, 0)}
        if layer.ints != expected[layer.kind]:
            raise FormatError(f"{layer.kind} {layer.ints}")
    elif layer.kind == "fc":
        reader.expect("fc_2")
        outputs, inputs = reader.integer(), reader.integer()
        params = reader.tensor()
        weight, _ = _split(params, reader.alias(), reader.alias())  # no biases: fc_no_bias
        bias_mode = reader.integer()
        for _ in range(4):
            reader.real()
        if outputs != layer.arg or bias_mode != 1 or weight.shape[:2] != (inputs, outputs):
            raise FormatError(f"fc {inputs}->{outputs} bias mode {bias_mode} weight {weight.shape}")
        layer.weights = {"W": weight.reshape(inputs, outputs)}
    else:
        raise FormatError(f"no details for {layer.kind}")


# --- the ONNX graph ------------------------------------------------------------------------------------


def _pooled(size: int, window: int, stride: int, padding: int) -> int:
    return 1 + (size + 2 * padding - window) // stride


def build(layers: list[Layer], means: tuple[float, float, float], source_sha256: str) -> object:
    """The ONNX model of ``layers``: input "chip" 1x3x150x150 float32 RGB 0..255, output "descriptor" 1x128."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    initializers: list[Any] = []
    counter = iter(range(10_000))

    def constant(name: str, value: np.ndarray) -> str:
        unique = f"{name}_{next(counter)}"
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), unique))
        return unique

    def node(op: str, inputs: list[str], **attributes: Any) -> str:
        output = f"{op.lower()}_{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def zero_padded(name: str, shape: tuple[int, int, int], target: tuple[int, int, int]) -> str:
        """``name`` zero-filled at the end of each dimension up to ``target`` (add_prev of unequal sizes)."""
        if shape == target:
            return name
        pads = [0, 0, 0, 0, 0, *(t - s for s, t in zip(shape, target, strict=True))]
        return node("Pad", [name, constant("pads", np.asarray(pads, dtype=np.int64))], mode="constant")

    mean = np.asarray(means, dtype=np.float32).reshape(1, 3, 1, 1)
    x = node("Sub", ["chip", constant("input_mean", mean)])
    x = node("Div", [x, constant("input_scale", np.asarray(256.0, dtype=np.float32))])
    shape = (3, CHIP, CHIP)  # channels, rows, cols of x
    tags: dict[int, tuple[str, tuple[int, int, int]]] = {}
    for layer in layers[1:]:
        if layer.kind == "con":
            size, stride, pad_y, pad_x = layer.ints
            x = node(
                "Conv",
                [x, constant("W", layer.weights["W"]), constant("B", layer.weights["B"])],
                kernel_shape=[size, size],
                strides=[stride, stride],
                pads=[pad_y, pad_x, pad_y, pad_x],
            )
            shape = (layer.arg, _pooled(shape[1], size, stride, pad_y), _pooled(shape[2], size, stride, pad_x))
        elif layer.kind == "affine":
            x = node("Mul", [x, constant("gamma", layer.weights["gamma"])])
            x = node("Add", [x, constant("beta", layer.weights["beta"])])
        elif layer.kind == "relu":
            x = node("Relu", [x])
        elif layer.kind in ("max_pool", "avg_pool"):
            rows, cols, stride_y, stride_x, pad_y, pad_x = layer.ints
            x = node(
                "MaxPool" if layer.kind == "max_pool" else "AveragePool",
                [x],
                kernel_shape=[rows, cols],
                strides=[stride_y, stride_x],
                pads=[pad_y, pad_x, pad_y, pad_x],
            )
            shape = (shape[0], _pooled(shape[1], rows, stride_y, pad_y), _pooled(shape[2], cols, stride_x, pad_x))
        elif layer.kind == "tag":
            tags[layer.arg] = (x, shape)
        elif layer.kind == "skip":
            x, shape = tags[layer.arg]
        elif layer.kind == "add_prev":
            other, other_shape = tags[layer.arg]
            target = (max(shape[0], other_shape[0]), max(shape[1], other_shape[1]), max(shape[2], other_shape[2]))
            x = node("Add", [zero_padded(x, shape, target), zero_padded(other, other_shape, target)])
            shape = target
        elif layer.kind == "gap":
            x = node("GlobalAveragePool", [x])
            x = node("Flatten", [x])
            shape = (shape[0], 1, 1)
        elif layer.kind == "fc":
            nodes.append(helper.make_node("MatMul", [x, constant("fc_W", layer.weights["W"])], ["descriptor"]))
    graph = helper.make_graph(
        nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chip", TensorProto.FLOAT, [1, 3, CHIP, CHIP])],
        [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, [1, 128])],
        initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        doc_string=(
            "dlib's face descriptor network (dlib_face_recognition_resnet_model_v1.dat, sha256 "
            f"{source_sha256}, by Davis King, CC0) converted to ONNX. Input: the 150x150 RGB chip dlib "
            "aligns (get_face_chip, padding 0.25), float32 0..255, NCHW. Output: the 128-d descriptor."
        ),
    )
    model.ir_version = 8  # readable by onnxruntime >= 1.10
    onnx.checker.check_model(model, full_check=True)
    return model


def dat_path() -> Path:
    """The ``.dat`` the face-recognition-models package installs (FileNotFoundError without it)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("face-recognition-models is not installed (pip install -r requirements-dev.txt)")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / "dlib_face_recognition_resnet_model_v1.dat"
    if not path.is_file():
        raise FileNotFoundError(f"no {path.name} in {path.parent}")
    return path


def dlib_network(dat: Path | None = None) -> Any:
    """dlib's own network from the ``.dat``: the reference the ONNX file is measured against (tests, bench).

    Not thread-safe (dlib keeps each layer's output in the network object): one thread at a time.
    """
    import dlib

    return dlib.face_recognition_model_v1(str(dat or dat_path()))


def convert(dat: Path, out: Path) -> str:
    """Write the ONNX file; returns its sha256."""
    data = dat.read_bytes()
    layers, means = parse(data)
    model = build(layers, means, hashlib.sha256(data).hexdigest())
    out.parent.mkdir(parents=True, exist_ok=True)
    serialised = model.SerializeToString()  # type: ignore[attr-defined]
    out.write_bytes(serialised)
    return hashlib.sha256(serialised).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dat", type=Path, default=None, help="the .dat (default: face-recognition-models')")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    try:
        dat = args.dat or dat_path()
    except FileNotFoundError as exc:
        sys.exit(str(exc))
    digest = convert(dat, args.out)
    print(f"{dat} (sha256 {hashlib.sha256(dat.read_bytes()).hexdigest()})")
    print(f"-> {args.out} ({args.out.stat().st_size} bytes, sha256 {digest})")


if __name__ == "__main__":
    main()
