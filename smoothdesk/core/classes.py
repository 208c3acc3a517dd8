"""The five priority classes and their order."""

from __future__ import annotations

from enum import StrEnum


class PriorityClass(StrEnum):
    """What a group deserves; the actuator maps each class to concrete levers."""

    CRITICAL = "critical"
    INTERACTIVE = "interactive"
    NORMAL = "normal"
    BACKGROUND = "background"
    IDLE = "idle"

    @property
    def rank(self) -> int:
        """0 for the most important class, 4 for idle."""
        return CLASS_ORDER.index(self)

    @property
    def demoted(self) -> bool:
        """True for the classes whose processes the actuator lowers."""
        # Identity with module constants: asked of every group every tick, and a member lookup
        # through the class (PriorityClass.IDLE) costs an enum descriptor call each time.
        return self is _BACKGROUND or self is _IDLE

    @classmethod
    def parse(cls, value: str) -> PriorityClass:
        """Parse a class name case-insensitively; ValueError names the valid choices."""
        try:
            return cls(value.strip().lower())
        except ValueError:
            choices = ", ".join(c.value for c in cls)
            raise ValueError(f"unknown class {value!r} (expected one of: {choices})") from None


CLASS_ORDER: tuple[PriorityClass, ...] = (
    PriorityClass.CRITICAL,
    PriorityClass.INTERACTIVE,
    PriorityClass.NORMAL,
    PriorityClass.BACKGROUND,
    PriorityClass.IDLE,
)
_BACKGROUND, _IDLE = PriorityClass.BACKGROUND, PriorityClass.IDLE
