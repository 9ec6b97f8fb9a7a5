"""Declarative, validated analysis parameters.

Each analysis declares a dataclass whose fields carry their constraints in ``field(metadata=...)``
through :func:`param`. One template writes every message, so the command line (``--set key=value``)
and the app's widgets report the same words:

    The 'bin_size' parameter of hmmglm must be a float in (0, 60] s. Got -1 instead.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from neurotools.errors import UserError

PS = TypeVar("PS", bound="ParamSet")

#: Data sources an analysis can read from a recording.
SOURCES = ("auto", "units", "rois", "acquisition")


def param(
    default: Any,
    *,
    help: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    choices: tuple | None = None,
    unit: str = "",
    allow_none: bool = False,
    allow_auto: bool = False,
) -> Any:
    """Declare one parameter with its default, its allowed values and its help text.

    Parameters
    ----------
    default
        The default value (an int, float, str, bool, or None when ``allow_none``).
    help
        One sentence shown in ``--help`` style listings and as the widget's tooltip.
    low, high
        Inclusive (or open, see ``low_open``/``high_open``) bounds for numbers.
    choices
        Allowed values for strings.
    unit
        Physical unit appended to messages and labels, e.g. ``"s"``.
    allow_none
        Whether ``None`` (written ``none`` on the command line) is accepted.
    allow_auto
        Whether the string ``"auto"`` is accepted for a numeric parameter.
    """
    meta = dict(
        help=help,
        low=low,
        high=high,
        low_open=low_open,
        high_open=high_open,
        choices=choices,
        unit=unit,
        allow_none=allow_none,
        allow_auto=allow_auto,
    )
    return field(default=default, metadata=meta)


def _kind(f: dataclasses.Field) -> type:
    t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    for name, typ in (("bool", bool), ("int", int), ("float", float), ("str", str)):
        if t.startswith(name):
            return typ
    return str


def describe_constraint(f: dataclasses.Field) -> str:
    """Say in words what values a parameter accepts, e.g. ``a float in (0, 60] s``."""
    m = f.metadata
    typ = _kind(f)
    if m.get("choices"):
        text = "one of " + ", ".join(repr(c) for c in m["choices"])
    elif typ in (int, float):
        name = "an integer" if typ is int else "a float"
        lo = "-inf" if m.get("low") is None else f"{m['low']:g}"
        hi = "inf" if m.get("high") is None else f"{m['high']:g}"
        lb = "(" if (m.get("low_open") or m.get("low") is None) else "["
        hb = ")" if (m.get("high_open") or m.get("high") is None) else "]"
        text = f"{name} in {lb}{lo}, {hi}{hb}"
        if m.get("unit"):
            text += f" {m['unit']}"
        if m.get("allow_auto"):
            text += " or 'auto'"
    elif typ is bool:
        text = "true or false"
    else:
        text = "a string"
    if m.get("allow_none"):
        text += " (or none)"
    return text


@dataclass
class ParamSet:
    """Validated parameters: fields declared with :func:`param`, checked on construction.

    Subclasses set the class attribute ``analysis`` (the name used in messages).
    """

    analysis = "analysis"

    def __post_init__(self) -> None:
        self.validate()

    # -- validation -------------------------------------------------------------------------
    def _fail(self, f: dataclasses.Field, value: Any) -> None:
        raise UserError(
            f"The '{f.name}' parameter of {self.analysis} must be {describe_constraint(f)}. "
            f"Got {value!r} instead."
        )

    def validate(self) -> None:
        """Check every field against its declared constraint; raise :class:`UserError` if not."""
        for f in fields(self):
            self._check_field(f)

    def _check_field(self, f: dataclasses.Field) -> None:
        value = getattr(self, f.name)
        m = f.metadata
        if value is None:
            if not m.get("allow_none"):
                self._fail(f, value)
            return
        if m.get("allow_auto") and value == "auto":
            return
        typ = _kind(f)
        if typ is bool:
            if not isinstance(value, bool):
                self._fail(f, value)
        elif typ in (int, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self._fail(f, value)
            if typ is int and not float(value).is_integer():
                self._fail(f, value)
            if not math.isfinite(value):
                self._fail(f, value)
            lo, hi = m.get("low"), m.get("high")
            if lo is not None and (value < lo or (m.get("low_open") and value == lo)):
                self._fail(f, value)
            if hi is not None and (value > hi or (m.get("high_open") and value == hi)):
                self._fail(f, value)
        elif m.get("choices") and value not in m["choices"]:
            self._fail(f, value)
        elif typ is str and not isinstance(value, str):
            self._fail(f, value)

    # -- conversion -------------------------------------------------------------------------
    @classmethod
    def from_strings(cls: type[PS], settings: dict[str, str]) -> PS:
        """Build validated parameters from ``key=value`` strings (the CLI's ``--set``).

        Raises
        ------
        UserError
            For an unknown key, a value of the wrong type or a value out of range.
        """
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in settings.items():
            if key not in known:
                raise UserError(
                    f"Unknown parameter '{key}' for {cls.analysis}; known parameters: "
                    f"{', '.join(sorted(known))}."
                )
            values[key] = _parse(cls, known[key], raw)
        return cls(**values)

    @classmethod
    def from_dict(cls: type[PS], values: dict[str, Any]) -> PS:
        """Build validated parameters from a dict (e.g. a result's ``params``); unknown keys fail."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise UserError(
                f"Unknown parameter '{sorted(unknown)[0]}' for {cls.analysis}; known parameters: "
                f"{', '.join(sorted(known))}."
            )
        return cls(**values)

    @classmethod
    def from_record(cls: type[PS], values: dict[str, Any]) -> PS:
        """Parameters of a recorded run (a result's or recipe's ``params``, which hold every field).

        A field that the record lacks was added after the run; :meth:`recorded_values` gives it
        the value that reproduces what that run computed, where that differs from the default.
        """
        return cls.from_dict(cls.recorded_values(dict(values)))

    @classmethod
    def recorded_values(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Fill the fields a record from before their introduction lacks (none by default)."""
        return values

    def to_dict(self) -> dict[str, Any]:
        """All parameter values as a JSON-ready dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def spec(cls) -> list[dict[str, Any]]:
        """Describe every parameter (name, type, default, bounds, help) for UIs and docs."""
        out = []
        for f in fields(cls):
            d = dict(f.metadata)
            d.update(name=f.name, type=_kind(f).__name__, default=f.default,
                     constraint=describe_constraint(f))
            out.append(d)
        return out



@dataclass
class Params(ParamSet):
    """Parameters shared by every analysis (the data selection).

    Subclasses add their own fields with :func:`param` and set ``analysis``.
    """

    source: str = param("auto", help="Data source: Units, ophys ROIs or per-neuron acquisition TimeSeries.", choices=SOURCES)
    bin_size: float = param(0.05, help="Width of the time bins.", low=0.0, high=60.0, low_open=True, unit="s")
    t_start: float = param(None, help="Start of the analysed time range (file clock).", unit="s", allow_none=True)
    t_stop: float = param(None, help="End of the analysed time range (file clock).", unit="s", allow_none=True)
    units: str = param("", help="Comma-separated neuron indices to keep (empty keeps all).")

    def validate(self) -> None:
        """Check every field, the time range and the unit selection."""
        super().validate()
        if self.t_start is not None and self.t_stop is not None and self.t_stop <= self.t_start:
            raise UserError(
                f"'t_stop' ({self.t_stop} s) must be later than 't_start' ({self.t_start} s)."
            )
        self.unit_indices()

    def unit_indices(self) -> list[int] | None:
        """The ``units`` selection as a list of indices, or None for all neurons."""
        text = (self.units or "").strip()
        if not text:
            return None
        try:
            idx = [int(tok) for tok in text.replace(" ", "").split(",") if tok != ""]
        except ValueError:
            raise UserError(
                f"The 'units' parameter of {self.analysis} must be comma-separated neuron indices "
                f"such as 0,3,7. Got {self.units!r} instead."
            ) from None
        if any(i < 0 for i in idx) or len(set(idx)) != len(idx):
            raise UserError(
                f"The 'units' parameter of {self.analysis} must list distinct non-negative indices. "
                f"Got {self.units!r} instead."
            )
        return idx

def _parse(cls: type[ParamSet], f: dataclasses.Field, raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    m = f.metadata
    if m.get("allow_none") and text.lower() in ("none", "null", ""):
        return None
    if m.get("allow_auto") and text.lower() == "auto":
        return "auto"
    typ = _kind(f)
    try:
        if typ is bool:
            if text.lower() in ("true", "1", "yes", "on"):
                return True
            if text.lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError(text)
        if typ is int:
            v = float(text)
            if not v.is_integer():
                raise ValueError(text)
            return int(v)
        if typ is float:
            return float(text)
    except ValueError:
        raise UserError(
            f"The '{f.name}' parameter of {cls.analysis} must be {describe_constraint(f)}. "
            f"Got {raw!r} instead."
        ) from None
    return text
