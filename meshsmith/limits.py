"""Every request parameter's limits, in one place, for every side (server, workers, clients).

A value outside its range is refused with InvalidInput before any work starts; error
messages quote user input only through `quote`, so an oversized value cannot overflow
the status metadata.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from meshsmith.errors import InvalidInput

QUOTE_CHARS = 80


def quote(value, max_chars: int = QUOTE_CHARS) -> str:
    """repr(value) cut to `max_chars` characters (with the full length said) for error messages."""
    text = repr(value)
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}… ({len(text)} characters)"


@dataclass(frozen=True)
class Limit:
    """A closed range [lo, hi] in `unit`; `integer` values must be whole numbers."""

    lo: float
    hi: float
    unit: str = ""
    integer: bool = False

    def check(self, name: str, value):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok and self.integer:
            ok = float(value).is_integer()
        if not ok or not self.lo <= value <= self.hi:
            unit = f" {self.unit}" if self.unit else ""
            kind = "a whole number" if self.integer else "a number"
            raise InvalidInput(f"{name} must be {kind} from {self.lo:g} to {self.hi:g}{unit}, got {quote(value)}")
        return int(value) if self.integer else value


# Sizes: sub-millimetre to kilometres.
LIMITS: dict[str, Limit] = {
    "target_height_m": Limit(1e-4, 1e4, "m"),
    "target_width_m": Limit(1e-4, 1e4, "m"),
    "depth_m": Limit(1e-4, 1e4, "m"),
    "fov_deg": Limit(0, 120, "degrees"),
    "extra_views": Limit(0, 5, "pictures besides the front one (6 in all)", integer=True),
}

# Parameters that take one of a few names.
CHOICES: dict[str, tuple[str, ...]] = {
    "depth_units": ("m", "mm", "relative"),
}


def check_choice(name: str, value: str) -> str:
    """`value` if it is one of CHOICES[name], else InvalidInput listing them."""
    if value not in CHOICES[name]:
        raise InvalidInput(f"{name} must be one of {', '.join(CHOICES[name])}, got {quote(value)}")
    return value


def check(name: str, value):
    """`value` if it lies within LIMITS[name], else InvalidInput naming the range."""
    return LIMITS[name].check(name, value)
