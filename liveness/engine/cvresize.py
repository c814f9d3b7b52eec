"""OpenCV's ``cv2.resize`` for 8-bit images, written in numpy, for the passive models' input contracts.

The passive models were trained on crops resized by OpenCV, and what a model sees at 80x80 or 128x128
depends on the resampling (a Pillow-filtered resize refused about twice as many genuine photos; see
``shared/models/README.md``). The product must not depend on OpenCV, so the three interpolations the
contracts use are transcribed here from OpenCV 4.x ``imgproc/src/resize.cpp`` for ``uint8`` input:

- :func:`resize_linear` — ``INTER_LINEAR``: half-pixel centres, two taps, **no** antialiasing, weights in
  11-bit fixed point (``INTER_RESIZE_COEF_BITS``) and OpenCV's integer rounding of the vertical pass;
- :func:`resize_area` — ``INTER_AREA`` when shrinking: each output pixel the area-weighted mean of the
  source pixels it covers (``computeResizeAreaTab``);
- :func:`resize_lanczos4` — ``INTER_LANCZOS4``: an 8-tap Lanczos (a = 4) kernel, fixed-point weights,
  edge pixels replicated.

``tests/test_engine_passive.py`` compares each with ``opencv-python-headless`` (a development
requirement only) on real crops and random arrays, shrinking and enlarging: identical or within one grey
level (float summation order in the area filter).
"""

from __future__ import annotations

import numpy as np

_COEF_BITS = 11  # OpenCV's INTER_RESIZE_COEF_BITS
_COEF_SCALE = 1 << _COEF_BITS


def _check(image: np.ndarray, width: int, height: int) -> None:
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError("expected an HxW or HxWxC uint8 image")
    if image.shape[0] < 1 or image.shape[1] < 1 or width < 1 or height < 1:
        raise ValueError("empty image or output size")


def _source_positions(src: int, dst: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output index: the integer source index and the float32 fraction, as OpenCV computes them."""
    inv_scale = dst / src  # double, as cv::resize computes inv_scale_x from the sizes
    scale = 1.0 / inv_scale
    positions = ((np.arange(dst, dtype=np.float64) + 0.5) * scale - 0.5).astype(np.float32)
    index = np.floor(positions).astype(np.int64)
    fraction = (positions - index.astype(np.float32)).astype(np.float32)
    return index, fraction


def _fixed(weights: np.ndarray) -> np.ndarray:
    """``saturate_cast<short>(w * INTER_RESIZE_COEF_SCALE)``: round half to even, as cvRound does."""
    return np.rint(weights.astype(np.float32) * np.float32(_COEF_SCALE)).astype(np.int64)


def _linear_taps(src: int, dst: int, *, clamp: bool) -> tuple[np.ndarray, np.ndarray]:
    index, fraction = _source_positions(src, dst)
    if clamp:
        # Columns: OpenCV moves a position outside the image onto the edge pixel with weight 1 ...
        before = index < 0
        fraction[before], index[before] = 0, 0
        after = index >= src - 1
        fraction[after], index[after] = 0, src - 1
    # ... rows keep their weights and read the edge row twice (each product is rounded on its own).
    taps = np.clip(np.stack([index, index + 1], axis=1), 0, src - 1)
    weights = np.stack([_fixed(np.float32(1) - fraction), _fixed(fraction)], axis=1)
    return taps, weights


def resize_linear(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``cv2.resize(image, (width, height))`` (INTER_LINEAR) for uint8 images, bit for bit."""
    _check(image, width, height)
    src_h, src_w = image.shape[:2]
    if (src_w, src_h) == (width, height):
        return image.copy()
    x_taps, x_weights = _linear_taps(src_w, width, clamp=True)
    y_taps, y_weights = _linear_taps(src_h, height, clamp=False)
    # Only the source pixels the taps read (two rows per output row, two columns per output column) are
    # gathered: the same arithmetic on each as on the whole crop, at a cost set by the output size.
    pixels = image[y_taps.ravel()][:, x_taps.ravel()].astype(np.int64)
    x_shape = (1, width) + (1,) * (image.ndim - 2)
    # Horizontal pass: integer rows scaled by 2^11.
    rows = pixels[:, 0::2] * x_weights[:, 0].reshape(x_shape) + pixels[:, 1::2] * x_weights[:, 1].reshape(x_shape)
    y_shape = (height, 1) + (1,) * (image.ndim - 2)
    top = rows[0::2] >> 4
    bottom = rows[1::2] >> 4
    # VResizeLinear<uchar, int, short, FixedPtCast<int, uchar, 22>>: two 16-bit high products, then >> 2.
    value = ((y_weights[:, 0].reshape(y_shape) * top) >> 16) + ((y_weights[:, 1].reshape(y_shape) * bottom) >> 16)
    return np.clip((value + 2) >> 2, 0, 255).astype(np.uint8)


def _area_axis(pixels: np.ndarray, axis: int, dst: int) -> np.ndarray:
    """``computeResizeAreaTab`` along one axis: each output is the mean of the source cells it covers,
    partial cells at its two ends weighted by the part covered. The whole cells are summed by one
    ``np.add.reduceat`` pass, so the cost is linear in the source size whatever the factor."""
    src = pixels.shape[axis]
    scale = src / dst
    starts = np.arange(dst, dtype=np.float64) * scale
    ends = starts + scale
    cells = np.minimum(scale, src - starts)
    first = np.ceil(starts).astype(np.int64)
    last = np.minimum(np.floor(ends).astype(np.int64), src - 1)
    first = np.minimum(first, last)
    head = np.where(first - starts > 1e-3, first - starts, 0.0)
    tail = np.where(ends - last > 1e-3, np.minimum(np.minimum(ends - last, 1.0), cells), 0.0)
    moved = np.moveaxis(pixels, axis, 0)
    shape = (dst,) + (1,) * (moved.ndim - 1)
    # Sums over [first, last) for each output (the bounds never decrease); an empty range reads as one pixel.
    bounds = np.stack([first, last], axis=1).ravel()
    accumulate = np.uint32 if moved.dtype == np.uint8 else np.float64  # exact, and fast on 8-bit input
    whole = np.add.reduceat(moved, bounds, axis=0, dtype=accumulate)[0::2].astype(np.float64)
    whole = np.where((last > first).reshape(shape), whole, 0.0)
    total = whole + head.reshape(shape) * moved[np.maximum(first - 1, 0)] + tail.reshape(shape) * moved[last]
    return np.moveaxis(total / cells.reshape(shape), 0, axis)


def resize_area(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``cv2.resize(..., interpolation=cv2.INTER_AREA)`` for shrinking a uint8 image (within one grey level)."""
    _check(image, width, height)
    src_h, src_w = image.shape[:2]
    if (src_w, src_h) == (width, height):
        return image.copy()
    if width > src_w or height > src_h:
        raise ValueError("resize_area only shrinks; enlarge with resize_lanczos4 or resize_linear")
    out = _area_axis(_area_axis(image, 0, height), 1, width)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _lanczos4_weights(fraction: np.ndarray) -> np.ndarray:
    """``interpolateLanczos4`` for each fraction: 8 float32 weights summing to 1."""
    s45 = 0.70710678118654752440084436210485
    cs = np.array([[1, 0], [-s45, -s45], [0, 1], [s45, -s45], [-1, 0], [s45, s45], [0, -1], [-s45, s45]])
    x = fraction.astype(np.float32)
    y0 = -(x.astype(np.float64) + 3) * np.pi * 0.25
    s0, c0 = np.sin(y0), np.cos(y0)
    coeffs = np.empty((x.size, 8), dtype=np.float32)
    for i in range(8):
        offset = (x + np.float32(3 - i)).astype(np.float32)
        y = -offset.astype(np.float64) * np.pi * 0.25
        with np.errstate(divide="ignore", invalid="ignore"):
            value = ((cs[i, 0] * s0 + cs[i, 1] * c0) / (y * y)).astype(np.float32)
        coeffs[:, i] = np.where(np.abs(offset) >= np.float32(1e-6), value, np.float32(1e30))
    total = np.zeros(x.size, dtype=np.float32)
    for i in range(8):
        total = (total + coeffs[:, i]).astype(np.float32)
    return (coeffs * (np.float32(1) / total)[:, None]).astype(np.float32)


def resize_lanczos4(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``cv2.resize(..., interpolation=cv2.INTER_LANCZOS4)`` for uint8 images."""
    _check(image, width, height)
    src_h, src_w = image.shape[:2]
    if (src_w, src_h) == (width, height):
        return image.copy()
    x_index, x_fraction = _source_positions(src_w, width)
    y_index, y_fraction = _source_positions(src_h, height)
    offsets = np.arange(-3, 5)
    x_taps = np.clip(x_index[:, None] + offsets, 0, src_w - 1)  # edge pixels replicated
    y_taps = np.clip(y_index[:, None] + offsets, 0, src_h - 1)
    x_weights = _fixed(_lanczos4_weights(x_fraction))
    y_weights = _fixed(_lanczos4_weights(y_fraction))
    pixels = image.astype(np.int64)
    x_shape = (1, width) + (1,) * (image.ndim - 2)
    rows = sum(pixels[:, x_taps[:, k]] * x_weights[:, k].reshape(x_shape) for k in range(8))
    y_shape = (height, 1) + (1,) * (image.ndim - 2)
    value = sum(rows[y_taps[:, k]] * y_weights[:, k].reshape(y_shape) for k in range(8))
    # FixedPtCast<int, uchar, 22>: round half up, then saturate.
    return np.clip((value + (1 << 21)) >> 22, 0, 255).astype(np.uint8)


def pad_reflect_101(image: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """``cv2.copyMakeBorder(..., cv2.BORDER_REFLECT_101)``: mirrored without repeating the edge pixel."""
    if min(top, bottom, left, right) < 0:
        raise ValueError("negative padding")
    pad = ((top, bottom), (left, right)) + ((0, 0),) * (image.ndim - 2)
    if image.shape[0] == 1 and (top or bottom):
        pad = ((0, 0), *pad[1:])
        image = np.pad(image, ((top, bottom),) + ((0, 0),) * (image.ndim - 1), mode="edge")
    if image.shape[1] == 1 and (left or right):
        pad = (pad[0], (0, 0), *pad[2:])
        image = np.pad(image, ((0, 0), (left, right)) + ((0, 0),) * (image.ndim - 2), mode="edge")
    return np.pad(image, pad, mode="reflect")
