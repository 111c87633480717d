"""Typed pricing tables: per-model USD rates per 1M tokens, looked up by name, alias or pattern.

Prices are data (``policies/pricing/*.yaml``, schema ``schemas/pricing.schema.json``), not code,
and money is :class:`decimal.Decimal` end to end so that a trace's cost is exact.
"""

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PrivateAttr,
    field_validator,
    model_validator,
)

__all__ = [
    "ModelPattern",
    "ModelPrice",
    "PriceMatch",
    "PricingCatalog",
    "PricingTable",
    "Rates",
    "to_money",
]

_PER_MILLION = Decimal(1_000_000)
_DECIMAL_TEXT = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")


def to_money(value: object) -> Decimal:
    """Convert a schema-valid price (number or decimal string) to an exact ``Decimal``.

    Floats go through ``str()`` so that a YAML ``0.15`` becomes ``Decimal("0.15")`` and not the
    binary approximation ``0.1499999…``.

    Args:
        value: The raw price from the data file.

    Returns:
        The price as a finite, non-negative ``Decimal``.

    Raises:
        ValueError: If the value is not a non-negative finite number or decimal string.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"price must be a number or a decimal string, got {value!r}")
    if isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(value.strip()):
        raise ValueError(f"price string must be a plain non-negative decimal, got {value!r}")
    try:
        money = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:  # pragma: no cover - guarded by the checks above
        raise ValueError(f"invalid price {value!r}") from exc
    if not money.is_finite() or money < 0:
        raise ValueError(f"price must be finite and >= 0, got {value!r}")
    return money


Money = Annotated[Decimal, BeforeValidator(to_money)]


def _normalize_name(name: str) -> str:
    """Return the lookup key for a model name: trimmed and lowercased."""
    return name.strip().lower()


class _Frozen(BaseModel):
    """Base for every pricing model: unknown keys are errors and instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Rates(_Frozen):
    """USD rates per 1,000,000 tokens for one model; optional rates fall back as documented."""

    input: Money
    output: Money
    cache_read: Money | None = None
    cache_write: Money | None = None
    reasoning: Money | None = None


class ModelPrice(_Frozen):
    """One priced model: its canonical name, exact aliases and rates."""

    name: str
    aliases: tuple[str, ...] = ()
    rates: Rates

    def cost(
        self,
        input_tokens: int,
        output_tokens: int,
        cache_read: int = 0,
        cache_write: int = 0,
        *,
        reasoning_tokens: int = 0,
    ) -> Decimal:
        """Compute the exact USD cost of one request (SPEC §7.5).

        ``input_tokens`` counts every prompt token; ``cache_read`` and ``cache_write`` are subsets
        of it, and ``reasoning_tokens`` is a subset of ``output_tokens``, so nothing is counted
        twice. Cache rates default to the input rate and the reasoning rate to the output rate.
        An inconsistent usage report (subsets larger than the total) is clamped at zero rather
        than producing a negative cost.

        Args:
            input_tokens: All prompt tokens, cached ones included.
            output_tokens: All output tokens, reasoning included.
            cache_read: Prompt tokens read from the provider's cache.
            cache_write: Prompt tokens written to the provider's cache.
            reasoning_tokens: Output tokens spent on reasoning.

        Returns:
            The cost in USD as an exact ``Decimal``.

        Raises:
            ValueError: If any token count is negative (a caller bug, not a usage fact).
        """
        counts = (input_tokens, output_tokens, cache_read, cache_write, reasoning_tokens)
        if any(count < 0 for count in counts):
            raise ValueError(f"token counts must be >= 0, got {counts}")
        rates = self.rates
        read_rate = rates.input if rates.cache_read is None else rates.cache_read
        write_rate = rates.input if rates.cache_write is None else rates.cache_write
        reasoning_rate = rates.output if rates.reasoning is None else rates.reasoning
        uncached = max(input_tokens - cache_read - cache_write, 0)
        plain_output = max(output_tokens - reasoning_tokens, 0)
        total = (
            uncached * rates.input
            + cache_read * read_rate
            + cache_write * write_rate
            + plain_output * rates.output
            + min(reasoning_tokens, output_tokens) * reasoning_rate
        )
        return total / _PER_MILLION


class ModelPattern(_Frozen):
    """An ordered rule mapping other model names (dated snapshots) to a table entry."""

    match: str
    model: str
    _regex: re.Pattern[str] = PrivateAttr()

    @field_validator("match")
    @classmethod
    def _check_regex(cls, value: str) -> str:
        """Reject a pattern that does not compile, so a bad file fails at load, not per request."""
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from exc
        return value

    def model_post_init(self, context: object, /) -> None:
        """Compile the pattern once; lookups only run ``fullmatch``."""
        self._regex = re.compile(self.match, re.IGNORECASE)

    def matches(self, model: str) -> bool:
        """Return whether the whole (trimmed) model name matches this pattern."""
        return self._regex.fullmatch(model.strip()) is not None


class PricingTable(_Frozen):
    """A ``kind: pricing`` data file: one table of model prices.

    Built once per policy snapshot from schema-validated data; ``lookup`` is then a dictionary
    hit or, for dated snapshots, a walk over the ordered pre-compiled patterns.
    """

    kind: Literal["pricing"]
    version: Literal[1]
    description: str | None = None
    id: str
    currency: Literal["USD"]
    effective_from: dt.date
    models: tuple[ModelPrice, ...]
    patterns: tuple[ModelPattern, ...] = ()
    _names: Mapping[str, ModelPrice] = PrivateAttr()
    _aliases: Mapping[str, ModelPrice] = PrivateAttr()

    @model_validator(mode="after")
    def _index(self) -> Self:
        """Index names and aliases once and check that the table is self-consistent.

        Raises:
            ValueError: On a duplicate name/alias or a pattern naming an unknown entry.
        """
        names: dict[str, ModelPrice] = {}
        aliases: dict[str, ModelPrice] = {}
        for entry in self.models:
            self._add_unique(names, aliases, entry.name, entry)
            for alias in entry.aliases:
                self._add_unique(aliases, names, alias, entry)
        for pattern in self.patterns:
            if _normalize_name(pattern.model) not in names:
                raise ValueError(
                    f"pricing table {self.id!r}: pattern {pattern.match!r} refers to unknown "
                    f"model {pattern.model!r}"
                )
        self._names = MappingProxyType(names)
        self._aliases = MappingProxyType(aliases)
        return self

    def _add_unique(
        self,
        index: dict[str, ModelPrice],
        other: dict[str, ModelPrice],
        key: str,
        entry: ModelPrice,
    ) -> None:
        """Add ``key`` to ``index``; a name or alias may appear only once in the whole table."""
        normalized = _normalize_name(key)
        if normalized in index or normalized in other:
            raise ValueError(f"pricing table {self.id!r}: duplicate model name {key!r}")
        index[normalized] = entry

    def get(self, name: str) -> ModelPrice | None:
        """Return the entry whose canonical name is ``name`` (no aliases, no patterns)."""
        return self._names.get(_normalize_name(name))

    def lookup(self, model: str) -> ModelPrice | None:
        """Find the price of ``model``: exact name, then aliases, then patterns in order.

        Args:
            model: The model id the client sent or the provider reported.

        Returns:
            The matching entry, or ``None`` when this table does not price the model.
        """
        key = _normalize_name(model)
        found = self._names.get(key) or self._aliases.get(key)
        if found is not None:
            return found
        for pattern in self.patterns:
            if pattern.matches(key):
                return self._names[_normalize_name(pattern.model)]
        return None


class PriceMatch(_Frozen):
    """The result of a catalog lookup: the price and which table supplied it."""

    price: ModelPrice
    table_id: str
    version: int

    @property
    def label(self) -> str:
        """Return the trace-metadata value ``"<table>@<version>"`` (SPEC §7.4)."""
        return f"{self.table_id}@{self.version}"


class PricingCatalog:
    """Several pricing tables layered in order; later tables override earlier ones by model name.

    Packaged tables come first, user tables and per-workspace overrides after them. A name is
    first resolved (latest table first, by name, alias or pattern) to a canonical model name,
    and the latest table that defines that name supplies the price. So a user table that only
    re-prices ``gpt-4o-mini`` also re-prices ``gpt-4o-mini-2024-07-18`` resolved by a packaged
    pattern.
    """

    __slots__ = ("_tables",)

    def __init__(self, tables: Iterable[PricingTable]) -> None:
        """Keep the tables, earliest (lowest precedence) first."""
        self._tables: tuple[PricingTable, ...] = tuple(tables)

    @property
    def tables(self) -> tuple[PricingTable, ...]:
        """Return the layered tables, lowest precedence first."""
        return self._tables

    def lookup(self, model: str) -> PriceMatch | None:
        """Price ``model`` across all tables.

        Args:
            model: The model id the client sent or the provider reported.

        Returns:
            The winning price with its table id and version, or ``None`` when unpriced.
        """
        for table in reversed(self._tables):
            resolved = table.lookup(model)
            if resolved is not None:
                return self._latest_definition(resolved.name)
        return None

    def _latest_definition(self, name: str) -> PriceMatch | None:
        """Return the entry for canonical ``name`` from the latest table that defines it."""
        for table in reversed(self._tables):
            entry = table.get(name)
            if entry is not None:
                return PriceMatch(price=entry, table_id=table.id, version=table.version)
        return None  # pragma: no cover - the resolving table always defines the name
