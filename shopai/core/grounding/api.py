"""What the grounding guard reports: flags on a draft, and the result."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Flag:
    """A phrase of the draft (verbatim) that the product's data does not support, and why."""

    phrase: str
    reason: str
    # number, price, size, material, colour, claim, health, promise, origin, name, instruction,
    # link, email, phone, markup
    kind: str = "fact"
    start: int = -1  # offsets of ``phrase`` in the draft
    end: int = -1


@dataclass
class GroundingResult:
    flags: list[Flag] = field(default_factory=list)
    language: str = "en"

    @property
    def grounded(self) -> bool:
        return not self.flags
