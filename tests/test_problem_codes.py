"""The API's problem codes are a closed list (liveness.api.problem_codes.ProblemCode): every code written in
the code base is on it, nothing on it is unused, the README and the OpenAPI schema list it, and an unlisted
code is refused at the point where a problem body is made."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from rest_framework import exceptions as drf

import liveness
from liveness.api.exceptions import problem_body
from liveness.api.problem_codes import ProblemCode
from liveness.intake import ImageRejected
from liveness.services.errors import ServiceError
from liveness.services.sessions import SessionError

ROOT = Path(__file__).resolve().parents[1]
#: Where the API's problem bodies are made (and the dict literals with a "code" that become them).
PROBLEM_MAKERS = ("liveness/api", "kyc_portal")
#: The DRF exceptions the API answers with, whose code is DRF's own default.
DRF_RAISED = (
    drf.NotAuthenticated,
    drf.AuthenticationFailed,
    drf.PermissionDenied,
    drf.NotFound,
    drf.MethodNotAllowed,
    drf.NotAcceptable,
    drf.UnsupportedMediaType,
    drf.Throttled,
    drf.ParseError,
)
#: Codes made at run time rather than written as literals: a closed session's status is its code (410).
DYNAMIC = {"submitted", "cancelled", "expired"}


def _subclasses(cls: type) -> set[type]:
    found = {cls}
    sub: type
    for sub in cls.__subclasses__():
        found |= _subclasses(sub)
    return found


def _import_everything() -> None:
    for module in pkgutil.walk_packages(liveness.__path__, "liveness."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)


def _code_position(cls: type) -> int | None:
    """Where ``code`` stands among the positional parameters of ``cls(...)``."""
    names = [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()  # type: ignore[misc]
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"
    ]
    return names.index("code") if "code" in names else None


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _code_argument(call: ast.Call, position: int | None) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == "code":
            return _literal(keyword.value)
    if position is not None and position < len(call.args):
        return _literal(call.args[position])
    return None


def written_codes() -> dict[str, set[str]]:
    """Every problem code written as a literal in liveness/ and kyc_portal/ -> where (file:line).

    Read: the code argument of every refusal (ServiceError and its families, ImageRejected, SessionError,
    DRF exceptions, ProblemError, field_problem, problem_body/problem_response), ``super().__init__`` in such
    a class, ``code``/``default_code`` assignments and ``{"code": ...}`` literals where problem bodies are made.
    """
    _import_everything()
    refusals: dict[str, type] = {}
    for base in (ServiceError, ImageRejected, SessionError, drf.APIException):
        for cls in _subclasses(base):
            if cls is not drf.ValidationError:  # its codes are per field; the problem code is validation_error
                refusals.setdefault(cls.__name__, cls)
    keyword_only = {"ProblemError", "field_problem", "problem_body", "problem_response"}
    found: dict[str, set[str]] = {}

    def add(code: str | None, path: Path, node: ast.AST) -> None:
        if code is not None:
            found.setdefault(code, set()).add(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}")

    paths = [p for p in (ROOT / "liveness").rglob("*.py") if not {"migrations", "sandbox"} & set(p.parts)]
    paths += list((ROOT / "kyc_portal").rglob("*.py"))
    for path in paths:
        tree = ast.parse(path.read_text())
        makes_problems = str(path.relative_to(ROOT)).startswith(PROBLEM_MAKERS)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in refusals:
                parent = refusals[node.name].__mro__[1]
                for inner in ast.walk(node):
                    if (
                        isinstance(inner, ast.Call)
                        and isinstance(inner.func, ast.Attribute)
                        and inner.func.attr == "__init__"
                        and isinstance(inner.func.value, ast.Call)
                        and getattr(inner.func.value.func, "id", "") == "super"
                    ):
                        add(_code_argument(inner, _code_position(parent)), path, inner)
            elif isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name in keyword_only:
                    add(_code_argument(node, None), path, node)
                elif name in refusals:
                    add(_code_argument(node, _code_position(refusals[name])), path, node)
            elif makes_problems and isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id in ("code", "default_code"):
                        add(_literal(node.value), path, node)
                    elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        for element, value in zip(target.elts, node.value.elts, strict=False):
                            if isinstance(element, ast.Name) and element.id == "code":
                                add(_literal(value), path, node)
            elif makes_problems and isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if _literal(key) == "code":
                        add(_literal(value), path, node)
    for cls in DRF_RAISED:
        found.setdefault(str(cls.default_code), set()).add(f"rest_framework: {cls.__name__}")
    return found


@pytest.fixture(scope="module")
def written() -> dict[str, set[str]]:
    return written_codes()


def test_every_code_in_the_code_base_is_on_the_list(written):
    unlisted = {code: sorted(where) for code, where in written.items() if code not in ProblemCode.values}
    assert not unlisted, f"add these to liveness.api.problem_codes.ProblemCode: {unlisted}"


def test_the_walk_finds_codes_of_every_source(written):
    """The walk itself works: it sees a code of each kind of source (else the test above proves nothing)."""
    assert "liveness/services/idempotency.py" in str(written["idempotency_conflict"])  # super().__init__
    assert "liveness/services/decisions.py" in str(written["own_override"])  # positional ServiceError
    assert "liveness/intake.py" in str(written["not_an_image"])  # ImageRejected
    assert "liveness/services/sessions.py" in str(written["consent_required"])  # SessionError
    assert "liveness/api/permissions.py" in str(written["operator_required"])  # a class attribute
    assert "liveness/api/exceptions.py" in str(written["too_many_files"])  # an assignment
    assert "kyc_portal/errors.py" in str(written["internal_error"])  # a dict literal
    assert "rest_framework: Throttled" in written["throttled"]


def test_nothing_on_the_list_is_unused(written):
    assert set(ProblemCode.values) - set(written) - DYNAMIC == set()


def test_an_unlisted_code_is_refused_where_a_problem_body_is_made(settings):
    settings.PROBLEM_CODES_STRICT = True
    with pytest.raises(ValueError, match="unknown problem code 'no_such_code'"):
        problem_body(status_code=400, code="no_such_code", detail="x")
    assert problem_body(status_code=400, code="required", detail="x")["code"] == "required"


def test_outside_strict_mode_an_unlisted_code_is_answered_and_logged(settings, caplog):
    settings.PROBLEM_CODES_STRICT = False
    with caplog.at_level("WARNING", logger="liveness.api.exceptions"):
        body = problem_body(status_code=400, code="no_such_code", detail="x")
    assert body["code"] == "no_such_code"
    assert "no_such_code" in caplog.text


def test_the_readme_lists_exactly_the_codes():
    text = (ROOT / "README.md").read_text()
    section = text.split("<!-- section: api (partner REST API) -->", 1)[1].split("<!-- section:", 1)[0]
    table = section.split("#### Problem codes", 1)[1].split("| code | meaning |", 1)[1].split("\n\n", 1)[0]
    listed = re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.M)
    assert sorted(listed) == sorted(ProblemCode.values)


@pytest.mark.django_db
def test_the_openapi_schema_lists_the_codes_as_an_enum(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert schema["components"]["schemas"]["Problem"]["properties"]["code"]["enum"] == list(ProblemCode.values)
