"""The typed shape of ``ProviderResult.details``: what providers store and what the console draws.

Every provider (the local engine and each vendor adapter) builds its detail as a :class:`CheckDetail` and
stores ``dump(detail)``; the console reads ``load(check.details)`` and never a provider's own keys. The
stored form is plain JSON (a ``JSONField``), flat like the rows stored before this contract existed:

``CheckDetail`` (one check)
    ``engine`` / ``vendor`` (who answered), ``kind``, ``images`` (one :class:`ImageDetail` per image sent),
    ``score_method``, ``heuristic`` + ``heuristic_label``, ``components`` (the score's ingredients),
    ``challenge``, ``identity``, ``not_assessed_reasons`` / ``not_assessed_parts``, ``findings``,
    ``passive_available``, ``request`` (what was sent), ``sandbox_basis``, ``vendor_fields`` (the vendor's
    own fields worth keeping).
``ImageDetail`` (one image)
    ``role`` + ``index`` (which evidence it is), ``face_parameter``, ``image`` (the size the provider measured
    in), ``face_outcome`` / ``face_count`` / ``face_found``, ``faces`` (each a :class:`Face` with a
    :class:`Box` in pixels of ``image`` and a detection score), ``main_face``, ``quality``, ``pose``, ``eyes``,
    ``mouth``, ``parameters`` (every parameter answered), ``parameter_check`` (the frame's own parameter),
    ``passive``, ``label`` + ``label_confidence`` (the vendor's own word for the image), ``vendor_fields``.

Loading is tolerant: a key the contract does not know, or a known key whose value does not fit, is kept in
``extra`` and written back unchanged by ``dump`` (never dropped), and the misfit is noted in ``problems``
(not stored; :func:`settle_details` stores them as ``contract_problems``). Rows stored by older versions
load too: the engine's ``ear_image_left``/``mar`` eyes and mouth, Riset's ``frames`` with
``match``/``spoof``, Kairos' top-level ``faces_predicted``/``img``, Accura's top-level
``face_found``/``quality`` word (a single-image row's role comes from the case kind, see :func:`primary_role`).
"""

from __future__ import annotations

import logging
import math
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, ClassVar, Self, Union, cast, get_args, get_origin, get_type_hints

from ..vocabulary import FINDINGS

logger = logging.getLogger(__name__)

Loader = Callable[[Mapping[str, Any], str, list[str]], Any]

#: The findings a check may report, in plain words for the operator. A mismatch is not a spoof: it says the
#: faces are different people, not that any of them is an attack.
#: Titles in plain words for the findings the console knows best; every code of ``vocabulary.FINDINGS`` is
#: known to the contract (one list of codes for the engine, the policy, the API and the console).
_FINDING_TITLES = {
    "challenge_failed": "Challenge failed: too few frames showed what was asked",
    "identity_mismatch": "Mismatch: the frames do not all show the same person",
    "face_mismatch": "Mismatch: the selfie and the document portrait are different people",
    "repeated_frame": "Repeated frame: the same picture was sent more than once",
}
FINDING_CODES: dict[str, str] = {
    code: _FINDING_TITLES.get(code, f"{code.replace('_', ' ').capitalize()}: {meaning}")
    for code, meaning in FINDINGS.items()
}


# --- reading JSON into typed fields, noting misfits and keeping every key -------------------------------


class _Reader:
    """Reads one JSON object. A key read with the right type is consumed; anything else stays in ``rest()``."""

    def __init__(self, data: Mapping[str, Any], where: str, problems: list[str]) -> None:
        self.data = data
        self.where = where
        self.problems = problems
        self.used: set[str] = set()

    def get(self, key: str, accepts: Callable[[Any], bool], kind: str) -> tuple[bool, Any]:
        if key not in self.data or self.data[key] is None:
            if key in self.data:
                self.used.add(key)
            return False, None
        value = self.data[key]
        if not accepts(value):
            self.problems.append(f"{self.where}.{key} is not {kind} ({type(value).__name__})")
            return False, None
        self.used.add(key)
        return True, value

    def raw(self, key: str) -> Any:
        self.used.add(key)
        return self.data.get(key)

    def text(self, key: str) -> str:
        return str(self.get(key, lambda v: isinstance(v, str), "a string")[1] or "")

    def number(self, key: str) -> float | None:
        found, value = self.get(key, _is_number, "a finite number")
        return float(value) if found else None

    def integer(self, key: str) -> int | None:
        found, value = self.get(key, lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer")
        return int(value) if found else None

    def flag(self, key: str) -> bool | None:
        found, value = self.get(key, lambda v: isinstance(v, bool), "true or false")
        return bool(value) if found else None

    def mapping(self, key: str) -> dict[str, Any]:
        return dict(self.get(key, lambda v: isinstance(v, Mapping), "an object")[1] or {})

    def strings(self, key: str) -> list[str]:
        found, value = self.get(key, lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v), "a list")
        return list(value) if found else []

    def obj(self, key: str, load: Loader) -> Any:
        found, value = self.get(key, lambda v: isinstance(v, Mapping), "an object")
        loaded = load(value, f"{self.where}.{key}", self.problems) if found else None
        if found and loaded is None:
            self.used.discard(key)  # the loader refused it: kept as it came
        return loaded

    def objects(self, key: str, load: Loader) -> list[Any] | None:
        accepts = lambda v: isinstance(v, list) and all(isinstance(i, Mapping) for i in v)  # noqa: E731
        found, value = self.get(key, accepts, "a list of objects")
        if not found:
            return None
        return [load(item, f"{self.where}.{key}[{i}]", self.problems) for i, item in enumerate(value)]

    def object_map(self, key: str, load: Loader) -> dict[str, Any] | None:
        accepts = lambda v: isinstance(v, Mapping) and all(isinstance(i, Mapping) for i in v.values())  # noqa: E731
        found, value = self.get(key, accepts, "an object of objects")
        if not found:
            return None
        return {name: load(item, f"{self.where}.{key}.{name}", self.problems) for name, item in value.items()}

    def rest(self) -> dict[str, Any]:
        return {k: v for k, v in self.data.items() if k not in self.used}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _json_safe(value: Any) -> Any:
    """Plain JSON: PostgreSQL's jsonb refuses NaN and infinities, and a JSONField cannot hold tuples or sets."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _field_reader(hint: Any) -> tuple[Callable[[_Reader, str], Any], bool]:
    """How to read a field of this type, and whether the type is optional (None differs from empty)."""
    args = get_args(hint)
    optional = get_origin(hint) in (Union, types.UnionType) and type(None) in args
    inner = next(a for a in args if a is not type(None)) if optional else hint
    origin, inner_args = get_origin(inner), get_args(inner)
    simple: dict[Any, Callable[[_Reader, str], Any]] = {
        str: _Reader.text,
        float: _Reader.number,
        int: _Reader.integer,
        bool: _Reader.flag,
        Any: _Reader.raw,
    }
    if inner in simple:
        return simple[inner], optional
    if origin is list and inner_args[0] is str:
        return _Reader.strings, optional
    empty: Any = None if optional else origin() if origin in (list, dict) else None
    if origin is list:
        item = inner_args[0]
        return (lambda read, key: _or(read.objects(key, item.load), empty)), optional
    if origin is dict and inner_args[1] is Any:
        return (lambda read, key: read.mapping(key) or empty), optional
    if origin is dict:
        return (lambda read, key: read.object_map(key, inner_args[1].load)), optional
    if is_dataclass(inner):
        loader: Loader = cast(Any, inner).load
        return (lambda read, key: read.obj(key, loader)), optional
    raise TypeError(f"no reader for {hint!r}")


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


_READERS: dict[type, dict[str, tuple[Callable[[_Reader, str], Any], bool]]] = {}


def _readers(cls: type) -> dict[str, tuple[Callable[[_Reader, str], Any], bool]]:
    """Each field's reader, by its type (computed once per class)."""
    if cls not in _READERS:
        hints = get_type_hints(cls)
        skip = {"extra", "problems", *getattr(cls, "_CUSTOM", ())}
        _READERS[cls] = {f.name: _field_reader(hints[f.name]) for f in fields(cls) if f.name not in skip}
    return _READERS[cls]


def _dumped(value: Any) -> Any:
    if isinstance(value, _Shape | Box):
        return value.dump()
    if isinstance(value, list):
        return [_dumped(v) for v in value]
    if isinstance(value, dict):
        return {k: _dumped(v) for k, v in value.items()}
    return value


class _Shape:
    """Load and dump by the dataclass fields' types. ``_ALWAYS``: fields written even when empty; ``_CUSTOM``:
    fields a subclass reads and writes itself. Empty values are left out of the stored form, except that an
    optional container keeps its emptiness (``faces: []`` says "looked, found none"; None says nothing)."""

    _ALWAYS: ClassVar[tuple[str, ...]] = ()
    _CUSTOM: ClassVar[tuple[str, ...]] = ()
    extra: dict[str, Any]

    @classmethod
    def load(cls, data: Mapping[str, Any], where: str, problems: list[str]) -> Self:
        read = _Reader(data, where, problems)
        values = cls._pre_contract(read)
        for name, (reader, _) in _readers(cls).items():
            if name not in values:
                values[name] = reader(read, name)
        return cls(**values, extra=read.rest())  # type: ignore[call-arg]  # every subclass is a dataclass

    @classmethod
    def _pre_contract(cls, read: _Reader) -> dict[str, Any]:
        """Field values read from the keys of rows stored before the contract (and custom fields)."""
        return {}

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, (_, optional) in _readers(type(self)).items():
            value = getattr(self, name)
            empty = value is None or (value in ("", [], {}) and not (optional and isinstance(value, list | dict)))
            if name in self._ALWAYS or not empty:
                out[name] = _dumped(value)
        return {**out, **self.extra}


# --- per image ------------------------------------------------------------------------------------------


@dataclass
class Box:
    """A face box in pixels of the image the provider measured (edges, ``right > left``, ``bottom > top``)."""

    left: float
    top: float
    right: float
    bottom: float

    @classmethod
    def load(cls, data: Mapping[str, Any], where: str, problems: list[str]) -> Box | None:
        raw = [data.get(k) for k in ("left", "top", "right", "bottom")]
        edges = [float(e) for e in raw if e is not None and _is_number(e)]
        if len(edges) != 4 or edges[2] <= edges[0] or edges[3] <= edges[1]:
            problems.append(f"{where} is not a box of pixel edges left < right, top < bottom")
            return None
        return cls(*edges)

    def dump(self) -> dict[str, Any]:
        return {"left": self.left, "top": self.top, "right": self.right, "bottom": self.bottom}


@dataclass
class Face(_Shape):
    box: Box | None = None
    detection_score: float | None = None  # the detector's or the vendor's confidence ("confidence" in Kairos)
    width: float | None = None
    height: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _ALWAYS = ("detection_score",)

    @classmethod
    def _pre_contract(cls, read: _Reader) -> dict[str, Any]:
        if "detection_score" in read.data or "confidence" not in read.data:
            return {}
        return {"detection_score": read.number("confidence")}  # Kairos rows before the contract


@dataclass
class Size(_Shape):
    width: float | None = None
    height: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _ALWAYS = ("width", "height")


@dataclass
class Quality(_Shape):
    """The engine's measured quality, or a vendor's own word for it (``label``: Accura's "good" / "poor")."""

    usable: bool | None = None
    reasons: list[str] = field(default_factory=list)
    label: str = ""
    face_px: float | None = None
    sharpness: float | None = None
    brightness: float | None = None
    clipped_fraction: float | None = None
    checks: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Pose(_Shape):
    """Degrees; the sign convention is the provider's, said in ``convention`` when it gives one."""

    yaw: float | None = None
    pitch: float | None = None
    roll: float | None = None
    fit_error: float | None = None
    convention: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    _ALWAYS = ("yaw", "pitch", "roll")


#: Older engine rows named the eye and mouth ratios after the measure; the contract calls both "ratio".
_LEGACY_RATIOS = {
    "ear_image_left": ("EAR", "image_left"),
    "ear_image_right": ("EAR", "image_right"),
    "mar": ("MAR", ""),
}


@dataclass
class Openness(_Shape):
    """An open/closed reading: one eye, both eyes or the mouth. ``ratio`` is the measured aspect ratio (named
    in ``measure``) where the provider measures one, ``score`` a vendor's confidence in ``state``; ``sides``
    holds each eye, stored under its own key (``image_left``/``image_right`` from the engine, ``left``/``right``
    from Riset)."""

    state: str = ""  # open | closed | uncertain; "" when only the sides have one
    ratio: float | None = None
    score: float | None = None
    sides: dict[str, Openness] = field(default_factory=dict)
    open_bound: str = ""
    closed_bound: str = ""
    measure: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    _CUSTOM = ("sides",)
    _SIDES: ClassVar[tuple[str, ...]] = ("image_left", "image_right", "left", "right")

    @classmethod
    def _pre_contract(cls, read: _Reader) -> dict[str, Any]:
        sides = {side: value for side in cls._SIDES if (value := read.obj(side, cls.load)) is not None}
        values: dict[str, Any] = {"sides": sides}
        for legacy, (measure, side) in _LEGACY_RATIOS.items():
            if (ratio := read.number(legacy)) is None:
                continue
            if "measure" not in read.data:
                values["measure"] = measure
            if side:
                sides[side] = cls(ratio=ratio)
            elif "ratio" not in read.data:
                values["ratio"] = ratio
        return values

    def dump(self) -> dict[str, Any]:
        out = super().dump()
        return {**out, **{side: value.dump() for side, value in self.sides.items()}}


@dataclass
class ParameterAnswer(_Shape):
    """Whether a face shows an active-liveness parameter, with the measured value and the bound applied."""

    parameter: str = ""
    matched: bool | None = None
    value: Any = None
    bound: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    _ALWAYS = ("matched", "value", "bound")


@dataclass
class Passive(_Shape):
    """Passive attack detection on one face: the fused real probability and, when several, each model's."""

    available: bool | None = None
    real_probability: float | None = None
    message: str = ""
    models: dict[str, Any] = field(default_factory=dict)
    fusion: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    _ALWAYS = ("available", "real_probability")


@dataclass
class ImageDetail(_Shape):
    role: str = ""
    index: int | None = None
    face_parameter: str = ""
    image: Size | None = None
    face_outcome: str = ""  # one_face | no_face | multiple_faces
    face_count: int | None = None
    face_found: bool | None = None
    #: None: the provider does not say where faces are; []: it looked and found none.
    faces: list[Face] | None = None
    main_face: Face | None = None
    quality: Quality | None = None
    pose: Pose | None = None
    pose_error: str = ""
    eyes: Openness | None = None
    mouth: Openness | None = None
    parameters: dict[str, ParameterAnswer] | None = None
    parameter_check: ParameterAnswer | None = None
    passive: Passive | None = None
    label: str = ""  # the vendor's own word for this image (Riset's "real" / "spoof")
    label_confidence: float | None = None
    vendor_fields: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def _pre_contract(cls, read: _Reader) -> dict[str, Any]:
        data, values = read.data, {}
        if "image" not in data and "img" in data:
            values["image"] = read.obj("img", Size.load)  # Kairos rows before the contract
        if "faces" not in data and "faces_predicted" in data:
            values["faces"] = read.objects("faces_predicted", Face.load)  # Kairos rows before the contract
        if isinstance(data.get("quality"), str):
            values["quality"] = Quality(label=read.raw("quality"))  # Accura's word, in rows before the contract
        if "parameter_check" not in data and isinstance(data.get("match"), bool):
            # Riset rows before the contract: "match" is the frame's answer to its own parameter.
            parameter = data.get("face_parameter")
            values["parameter_check"] = ParameterAnswer(
                parameter=parameter if isinstance(parameter, str) else "", matched=read.raw("match")
            )
        if "label" not in data and isinstance(data.get("spoof"), str):
            values["label"], values["label_confidence"] = read.raw("spoof"), read.number("spoof_score")
        return values


# --- per check ------------------------------------------------------------------------------------------


@dataclass
class Challenge(_Shape):
    """An active challenge: how many frames answered their parameter against how many were required."""

    matched: int | None = None
    required: int | None = None
    frames: int | None = None
    unassessable: list[str] = field(default_factory=list)
    passed: bool | None = None  # None: undecided (unassessable frames could still make it pass)
    extra: dict[str, Any] = field(default_factory=dict)

    _ALWAYS = ("matched", "required", "frames", "unassessable", "passed")


@dataclass
class Identity(_Shape):
    """Whether every frame of a series shows the same person; ``worst_pair`` is the most different pair."""

    frames: list[str] = field(default_factory=list)
    consistent: bool | None = None
    worst_pair: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _ALWAYS = ("frames", "consistent", "worst_pair")


@dataclass
class Finding(_Shape):
    """A reason the check found, not a score: one of :data:`FINDING_CODES`, with a message and the frames."""

    code: str = ""
    message: str = ""
    #: The images it concerns, as labels ("selfie", "id_front", "frame 2").
    images: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    _ALWAYS = ("code", "message")

    @property
    def plain(self) -> str:
        """The code in plain words for the operator (the code itself when it is not one the contract knows)."""
        return FINDING_CODES.get(self.code, self.code.replace("_", " "))

    @property
    def is_mismatch(self) -> bool:
        return self.code in ("face_mismatch", "identity_mismatch")

    @classmethod
    def _pre_contract(cls, read: _Reader) -> dict[str, Any]:
        if read.data.get("code") not in FINDING_CODES:
            read.problems.append(
                f"{read.where}.code {read.data.get('code')!r} is not one of {', '.join(FINDING_CODES)}"
            )
        return {}


#: Keys of a single-image row from before the contract (Kairos, Accura) that describe its one image.
_SINGLE_IMAGE_KEYS = ("faces", "faces_predicted", "img", "face_count", "face_found", "quality")


def primary_role(kind: str) -> str:
    """The image a single-image provider assessed: the document of an ID case, else the selfie."""
    return "id_front" if kind == "id_document" else "selfie"


@dataclass
class CheckDetail(_Shape):
    engine: str = ""  # the in-process engine that answered ("local")
    vendor: str = ""  # or the vendor ("kairos", "riset", "accura")
    kind: str = ""
    images: list[ImageDetail] = field(default_factory=list)
    score_method: str = ""
    heuristic: bool | None = None  # None: the provider did not say (its class attribute decides)
    heuristic_label: str = ""
    components: dict[str, Any] = field(default_factory=dict)
    challenge: Challenge | None = None
    identity: Identity | None = None
    not_assessed_reasons: list[str] = field(default_factory=list)
    not_assessed_parts: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    passive_available: bool | None = None
    request: dict[str, Any] = field(default_factory=dict)  # what was sent (sizes, fields; never bytes)
    sandbox_basis: str = ""
    vendor_fields: dict[str, Any] = field(default_factory=dict)
    #: What did not fit the contract when the check settled (see :func:`settle_details`).
    contract_problems: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    #: What did not fit while loading (kept in ``extra``); not part of the stored form.
    problems: list[str] = field(default_factory=list, compare=False)

    _ALWAYS = ("images",)

    def dump(self) -> dict[str, Any]:
        return dict(_json_safe(super().dump()))


def load(data: Any, *, kind: str = "") -> CheckDetail:
    """A stored or freshly built detail as a :class:`CheckDetail`. Never raises: what does not fit is kept in
    ``extra`` and noted in ``problems``. ``kind`` (the case's) places the images of rows that predate roles."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        if data not in (None, "", [], {}):
            problems.append(f"details is not an object ({type(data).__name__})")
        return CheckDetail(extra={"value": data} if data not in (None, "", [], {}) else {}, problems=problems)
    data = dict(data)
    legacy_images: list[ImageDetail] | None = None
    if "images" not in data and isinstance(data.get("frames"), list):
        # Riset rows before the contract: one entry per frame sent, in frame order, without a role.
        frames = data.pop("frames")
        problems.append("details.frames is the pre-contract shape (use images)")
        legacy_images = [
            ImageDetail.load(f, f"details.frames[{i}]", problems) if isinstance(f, Mapping) else ImageDetail()
            for i, f in enumerate(frames)
        ]
        for position, image in enumerate(legacy_images):
            image.role = image.role or ("frame" if kind == "active" else primary_role(kind))
            image.index = position if image.index is None else image.index
    elif "images" not in data and any(key in data for key in _SINGLE_IMAGE_KEYS):
        # Kairos and Accura rows before the contract: the top level describes the one image sent.
        part = {key: data.pop(key) for key in _SINGLE_IMAGE_KEYS if key in data}
        problems.append(f"details.{', '.join(part)} at the top level is the pre-contract shape (use images)")
        legacy_images = [ImageDetail.load(part, "details", problems)]
        legacy_images[0].role, legacy_images[0].index = primary_role(kind), 0
    detail = CheckDetail.load(data, "details", problems)
    if legacy_images is not None:
        detail.images = legacy_images
    detail.problems = problems
    return detail


def dump(detail: CheckDetail) -> dict[str, Any]:
    """The JSON-safe stored form of a detail (``load(dump(d))`` gives ``d`` back)."""
    return detail.dump()


def settle_details(details: Any, *, check_id: int) -> dict[str, Any]:
    """The detail as it is stored when a check settles: the provider's own dict, validated against the contract.

    A detail that does not fit is a bug in its adapter, but the check's score is a real answer and failing
    the check (``internal_error``) would throw that answer away. So it is stored as given (nothing accepted
    is ever lost; only made JSON-safe), the misfits are listed in ``contract_problems`` for the console, and
    a warning is logged naming the keys (never their values, which may hold vendor text).
    """
    detail = load(details)
    stored = _json_safe(details) if isinstance(details, Mapping) else {"value": _json_safe(details)}
    if detail.problems:
        logger.warning(
            "check %s: provider details do not fit the contract (stored as given): %s",
            check_id,
            "; ".join(detail.problems),
        )
        stored["contract_problems"] = list(detail.problems)
    return stored
