"""The base of every configuration model, and the one convention for errors that name a key.

Models are frozen and forbid unknown keys. A check between fields of a model is a method marked
``@cross_check`` that returns problems: ``at("field", "message")`` aims one at a field, and
``protocols.config`` turns the ``@field|`` prefix back into a key path, so the technician's error names
``points[3].word_order`` and its line, not just ``points[3]``.

Every mistake in one run: pydantic runs a model's own validators only when all its fields are valid, so a
wrong ``scale`` would hide a ``bit`` on a ``uint16``, and one wrong point would hide a ``fault_flag`` that
names no point. So when a model's fields fail, ``StrictModel`` builds a ``Partial`` of it (the fields that
did validate, and the partials of its nested models) and runs its cross checks on that; a check that needs
a failed field raises ``Unknown`` and is skipped (that field's own error is reported already). Validation
with a ``check_context()`` collects these late problems; ``protocols.config`` reports them with the rest.
"""

from __future__ import annotations

import functools
import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)

KEY_MARK = "@"
KEY_END = "|"
FOUND = "found"  # check_context(): id(raw mapping) -> the model or Partial made of it
LATE = "late"  # check_context(): (id(raw mapping), problems) of cross checks run on partials

Check = Callable[[Any], list[str]]


class Unknown(Exception):  # noqa: N818 - not an error: "this field's value is unknown"
    """A cross check needed a field that failed its own validation: the check is skipped."""


def cross_check(fn: Callable[[Any], list[str]]) -> Callable[[Any], list[str]]:
    """Mark a model method as a check between its fields; it returns problems (see ``at``)."""
    fn.__cross_check__ = True  # type: ignore[attr-defined]
    return fn


def check_context() -> dict[str, Any]:
    """The validation context that keeps partial models and their late problems (``protocols.config``)."""
    return {FOUND: {}, LATE: []}


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    @classmethod
    def cross_checks(cls) -> tuple[Check, ...]:
        """The model's ``@cross_check`` methods, base classes' first (an override replaces its base's)."""
        return _cross_checks_of(cls)

    @model_validator(mode="wrap")
    @classmethod
    def _fields_then_cross_checks(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo
    ) -> Self:
        context = info.context if isinstance(info.context, dict) and FOUND in info.context else None
        try:
            model = handler(data)
        except ValidationError as e:
            if context is not None and isinstance(data, dict):
                partial = _partial(cls, data, e, context[FOUND])
                context[FOUND][id(data)] = partial
                late = run_checks(cls, partial)
                if late:
                    context[LATE].append((id(data), late))
            raise
        if context is not None and isinstance(data, dict):
            context[FOUND][id(data)] = model
        raise_all(run_checks(cls, model))
        return model


@functools.cache
def _cross_checks_of(model: type[BaseModel]) -> tuple[Check, ...]:
    named: dict[str, Check] = {}
    for klass in reversed(model.__mro__):
        for name, member in vars(klass).items():
            if getattr(member, "__cross_check__", False):
                named.pop(name, None)
                named[name] = member
    return tuple(named.values())


def run_checks(model: type[StrictModel], view: Any) -> list[str]:
    """Every problem the cross checks of ``model`` find in ``view`` (a model or a ``Partial``)."""
    problems: list[str] = []
    for check in model.cross_checks():
        try:
            problems += check(view)
        except Unknown:
            continue
    return problems


class Partial:
    """What validated of a model whose fields did not all validate.

    Its good fields by name (nested models as models or partials), the model's properties and methods
    over them, and ``isinstance`` answers for the model class (as ``unittest.mock`` specs do), so cross
    checks written for the model run on it unchanged. A field that failed raises ``Unknown``.
    """

    __slots__ = ("_model", "_values")

    def __init__(self, model: type[BaseModel] | None, values: dict[str, Any]) -> None:
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_values", values)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance() reads it
        return self._model or Partial

    def knows(self, name: str) -> bool:
        return name in self._values

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        model = object.__getattribute__(self, "_model")
        if model is None or name in model.model_fields or name.startswith("__"):
            raise Unknown(name)
        member = inspect.getattr_static(model, name, None)
        if isinstance(member, property) and member.fget is not None:
            return member.fget(self)
        if isinstance(member, types.FunctionType):
            return types.MethodType(member, self)
        if member is None:
            raise Unknown(name)
        return getattr(model, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Partial is read-only")

    def __repr__(self) -> str:
        name = self._model.__name__ if self._model else "?"
        return f"Partial({name}, {self._values!r})"


def is_partial(view: object) -> bool:
    """Whether ``view`` is a ``Partial`` (``isinstance`` answers for its model class)."""
    return type(view) is Partial


def knows(view: Any, *names: str) -> bool:
    """Whether ``view`` (a model or a ``Partial``) has a valid value for every field in ``names``."""
    return not isinstance(view, Partial) or all(view.knows(n) for n in names)


def _partial(
    model: type[BaseModel], data: dict[Any, Any], exc: ValidationError, found: dict[int, Any]
) -> Partial:
    errors = exc.errors()
    failed = {err["loc"][0] for err in errors if err["loc"]}
    nested = {err["loc"][0] for err in errors if len(err["loc"]) > 1}
    # a list "too short" only because its items failed is not wrong as a whole
    whole = {
        err["loc"][0]
        for err in errors
        if len(err["loc"]) == 1 and not (err["type"] == "too_short" and err["loc"][0] in nested)
    }
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in data:
            if not field.is_required():
                values[name] = field.get_default(call_default_factory=True)
            continue
        raw = data[key]
        if key in whole or (key in failed and not isinstance(raw, dict | list)):
            continue  # its own error is reported; checks that need it are skipped
        values[name] = _resolve(raw, field.annotation, found)
    return Partial(model, values)


def _resolve(raw: Any, annotation: Any, found: dict[int, Any]) -> Any:
    """A raw value as the model would hold it: nested mappings as their models or partials."""
    if isinstance(raw, dict | list) and id(raw) in found:
        return found[id(raw)]
    annotation = unwrap(annotation)
    args = typing.get_args(annotation)
    if isinstance(raw, list):
        item = args[0] if typing.get_origin(annotation) in (list, tuple) and args else Any
        return tuple(_resolve(x, item, found) for x in raw)
    if isinstance(raw, dict):
        if typing.get_origin(annotation) is dict and len(args) == 2:
            return {k: _resolve(v, args[1], found) for k, v in raw.items()}
        return Partial(None, {})  # a model no variant of which got as far as its fields
    return raw


def unwrap(annotation: Any) -> Any:
    """``Annotated[X, ...]`` -> X and ``X | None`` -> X; other unions stay."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def at(key: str, message: str) -> str:
    """An error message aimed at ``key`` (a dotted path below the model that raises it)."""
    return f"{KEY_MARK}{key}{KEY_END}{message}"


_KEYED = re.compile(rf"^(?:Value error, )?{KEY_MARK}([^{KEY_END}]+)\{KEY_END}(.*)$", re.DOTALL)


def split_keyed(message: str) -> tuple[str | None, str]:
    """``(key, message)`` of a message made by ``at``; ``(None, message)`` for any other."""
    m = _KEYED.match(message)
    if m is None:
        return None, message.removeprefix("Value error, ")
    return m.group(1), m.group(2)


# Identifiers technicians write: device ids, point names, bus names. Lower case, digits, _ and -.
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]{0,62}$")]
IDENTIFIER_HINT = "lower-case letters, digits, '_' and '-', starting with a letter or digit, at most 63"

ISSUE_SEPARATOR = "\x1e"  # joins several keyed messages raised by one validator


def raise_all(problems: list[str]) -> None:
    """Raise every problem a validator found at once (``protocols.config`` splits them again)."""
    if problems:
        raise ValueError(ISSUE_SEPARATOR.join(problems))
