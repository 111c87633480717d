"""Pricing data kind: schema, packaged tables, typed model and cost arithmetic."""

import copy
import json
from decimal import Decimal
from importlib.resources import files
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from ongoingai.engine.models.pricing import (
    ModelPrice,
    PriceMatch,
    PricingCatalog,
    PricingTable,
    to_money,
)

TABLES = ("openai", "anthropic")


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        files("ongoingai.schemas").joinpath("pricing.schema.json").read_text()
    )
    return schema


def _data(name: str) -> dict[str, Any]:
    text = (files("ongoingai.policies") / "pricing" / f"{name}.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _errors(data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    validator = Draft202012Validator(_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [(tuple(e.absolute_path), e.message) for e in validator.iter_errors(data)]


def _table(name: str) -> PricingTable:
    return PricingTable.model_validate(_data(name))


def _catalog() -> PricingCatalog:
    return PricingCatalog(_table(name) for name in TABLES)


def _price(table: str, model: str) -> ModelPrice:
    price = _table(table).lookup(model)
    assert price is not None, model
    return price


def _match(model: str, catalog: PricingCatalog | None = None) -> PriceMatch:
    match = (catalog or _catalog()).lookup(model)
    assert match is not None, model
    return match


def _price_of(table: PricingTable, model: str = "m") -> ModelPrice:
    price = table.lookup(model)
    assert price is not None
    return price


def _minimal(**rates: Any) -> dict[str, Any]:
    return {
        "kind": "pricing",
        "version": 1,
        "id": "custom",
        "currency": "USD",
        "effective_from": "2025-01-01",
        "models": [{"name": "m", "rates": rates or {"input": 1, "output": 2}}],
    }


# --- schema ------------------------------------------------------------------------------------


def test_pricing_schema_is_a_valid_draft_2020_12_schema():
    schema = _schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "https://ongoingai.dev/schemas/pricing.schema.json"


@pytest.mark.parametrize("name", TABLES)
def test_packaged_pricing_table_validates_against_the_schema(name):
    assert _errors(_data(name)) == []


def test_schema_rejects_a_negative_price_at_its_json_path():
    data = _minimal(input=-1, output=2)
    assert _errors(data) == [(("models", 0, "rates", "input"), "-1 is less than the minimum of 0")]


def test_schema_rejects_a_price_string_that_is_not_a_plain_decimal():
    errors = _errors(_minimal(input="1e3", output="-0.5"))
    assert {path for path, _ in errors} == {
        ("models", 0, "rates", "input"),
        ("models", 0, "rates", "output"),
    }


def test_schema_accepts_decimal_strings_and_numbers_for_prices():
    assert _errors(_minimal(input="0.075", output=4, cache_read=0.5)) == []


def test_schema_rejects_an_unknown_rate_key_on_the_rates_object():
    errors = _errors(_minimal(input=1, output=2, batch=1))
    assert len(errors) == 1
    path, message = errors[0]
    assert path == ("models", 0, "rates")
    assert "'batch' was unexpected" in message


def test_schema_rejects_an_unknown_top_level_key_and_a_foreign_currency():
    data = _minimal() | {"currency": "EUR", "bogus": True}
    paths = {path for path, _ in _errors(data)}
    assert paths == {(), ("currency",)}


def test_schema_requires_an_output_rate():
    errors = _errors(_minimal(input=1))
    assert errors == [(("models", 0, "rates"), "'output' is a required property")]


# --- packaged prices ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "rates"),
    [
        ("gpt-4o-mini", {"input": "0.15", "output": "0.60", "cache_read": "0.075"}),
        ("gpt-4o", {"input": "2.50", "output": "10.00", "cache_read": "1.25"}),
        ("gpt-4.1", {"input": "2.00", "output": "8.00", "cache_read": "0.50"}),
        ("o4-mini", {"input": "1.10", "output": "4.40", "cache_read": "0.275"}),
        ("gpt-5", {"input": "1.25", "output": "10.00", "cache_read": "0.125"}),
        ("text-embedding-3-small", {"input": "0.02", "output": "0"}),
        ("text-embedding-3-large", {"input": "0.13", "output": "0"}),
        (
            "claude-opus-4",
            {"input": "15", "output": "75", "cache_read": "1.50", "cache_write": "18.75"},
        ),
        (
            "claude-sonnet-4",
            {"input": "3", "output": "15", "cache_read": "0.30", "cache_write": "3.75"},
        ),
        ("claude-3-5-haiku", {"input": "0.80", "output": "4"}),
        ("claude-haiku-4-5", {"input": "1", "output": "5"}),
        ("claude-3-haiku", {"input": "0.25", "output": "1.25"}),
    ],
)
def test_packaged_prices_equal_the_published_list_prices(model, rates):
    match = _match(model)
    for field, expected in rates.items():
        assert getattr(match.price.rates, field) == Decimal(expected), field


def test_yaml_float_prices_become_exact_decimals():
    rates = _price("openai", "gpt-4o-mini").rates
    assert isinstance(rates.input, Decimal)
    assert str(rates.input) == "0.15"
    assert str(rates.cache_read) == "0.075"


def test_decimal_string_prices_are_kept_digit_for_digit():
    table = PricingTable.model_validate(_minimal(input="0.0000001", output="12.345"))
    assert table.get("m") == table.lookup("m")
    assert _price_of(table).rates.input == Decimal("0.0000001")


@pytest.mark.parametrize("value", [-1, "-1", "abc", True, None, float("inf"), float("nan")])
def test_to_money_rejects_values_that_are_not_non_negative_finite_prices(value):
    with pytest.raises(ValueError, match="price"):
        to_money(value)


# --- lookup ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snapshot", "family"),
    [
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"),
        ("gpt-5-mini-2025-08-07", "gpt-5-mini"),
        ("gpt-5-2025-08-07", "gpt-5"),
        ("o3-mini-2025-01-31", "o3-mini"),
        ("o1-2024-12-17", "o1"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("claude-opus-4-6-20260220", "claude-opus-4-6"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("claude-3-haiku-20240307", "claude-3-haiku"),
    ],
)
def test_dated_snapshot_resolves_to_its_family_through_the_ordered_patterns(snapshot, family):
    assert _match(snapshot).price.name == family


def test_exact_snapshot_entry_wins_over_a_family_pattern():
    price = _price("openai", "gpt-4o-2024-05-13")
    assert price.name == "gpt-4o-2024-05-13"
    assert price.rates.input == Decimal("5")


def test_alias_resolves_to_its_entry():
    assert _price("anthropic", "claude-3-5-haiku-latest").name == "claude-3-5-haiku"
    assert _price("openai", "gpt-5-chat-latest").name == "gpt-5"


def test_lookup_ignores_case_and_surrounding_whitespace():
    assert _price("openai", "  GPT-4o-Mini ").name == "gpt-4o-mini"
    assert _price("anthropic", "Claude-Sonnet-4-20250514").name == "claude-sonnet-4"


@pytest.mark.parametrize(
    "model",
    ["unknown-model", "gpt-4o-mini-search-preview", "claude-sonnet-4-2025051", "gpt-4o-mini-x", ""],
)
def test_unknown_model_is_unpriced_rather_than_guessed(model):
    assert _catalog().lookup(model) is None


# --- cost --------------------------------------------------------------------------------------


def test_gpt_4o_mini_cost_matches_the_original_gateway():
    price = _price("openai", "gpt-4o-mini")
    assert price.cost(1000, 1000) == Decimal("0.00075")


def test_gpt_4o_mini_prices_cached_input_at_the_cached_rate():
    price = _price("openai", "gpt-4o-mini-2024-07-18")
    # 600 uncached x 0.15 + 400 cached x 0.075 + 200 out x 0.60 = 90 + 30 + 120 per 1M.
    assert price.cost(1000, 200, cache_read=400) == Decimal("0.00024")


def test_claude_sonnet_4_cost_prices_cache_read_and_write_at_their_own_rates():
    price = _match("claude-sonnet-4-20250514").price
    # 2000 uncached x 3 + 6000 read x 0.30 + 2000 write x 3.75 + 1000 out x 15 = 30300 per 1M.
    cost = price.cost(10_000, 1000, cache_read=6000, cache_write=2000)
    assert cost == Decimal("0.0303")
    assert isinstance(cost, Decimal)


@pytest.mark.parametrize(
    ("model", "input_tokens", "output_tokens", "expected"),
    [
        ("claude-haiku-4-5-20251001", 1000, 500, "0.0035"),
        ("claude-opus-4-6-20260220", 2000, 1000, "0.035"),
    ],
)
def test_anthropic_costs_match_the_original_gateway(model, input_tokens, output_tokens, expected):
    price = _match(model).price
    assert price.cost(input_tokens, output_tokens) == Decimal(expected)


def test_cache_rates_default_to_the_input_rate_when_not_published():
    price = _price("openai", "gpt-4o-2024-05-13")
    assert price.cost(1000, 0, cache_read=500) == Decimal("0.005")


def test_embeddings_are_priced_at_the_input_rate():
    price = _price("openai", "text-embedding-3-small")
    assert price.cost(1_000_000, 0) == Decimal("0.02")


def test_reasoning_tokens_cost_the_output_rate_unless_priced_apart():
    data = _minimal(input=1, output=10, reasoning=20)
    priced_apart = _price_of(PricingTable.model_validate(data))
    plain = _price("openai", "o3")
    assert plain.cost(0, 1000, reasoning_tokens=800) == plain.cost(0, 1000)
    # 200 plain output x 10 + 800 reasoning x 20 = 18000 per 1M.
    assert priced_apart.cost(0, 1000, reasoning_tokens=800) == Decimal("0.018")


def test_inconsistent_cache_counts_never_make_a_cost_negative():
    price = _match("claude-sonnet-4").price
    assert price.cost(100, 0, cache_read=300) == Decimal("0.00009")


def test_cost_rejects_negative_token_counts():
    price = _price("openai", "gpt-4o")
    with pytest.raises(ValueError, match="token counts"):
        price.cost(-1, 0)


# --- table consistency -------------------------------------------------------------------------


def test_pattern_naming_a_model_outside_its_table_is_rejected():
    data = _minimal() | {"patterns": [{"match": "m-\\d+", "model": "other"}]}
    with pytest.raises(ValidationError, match="unknown model 'other'"):
        PricingTable.model_validate(data)


def test_duplicate_model_names_and_aliases_are_rejected():
    data = _minimal()
    data["models"].append({"name": "n", "aliases": ["M"], "rates": {"input": 1, "output": 1}})
    with pytest.raises(ValidationError, match="duplicate model name 'M'"):
        PricingTable.model_validate(data)


def test_pattern_that_does_not_compile_is_rejected():
    data = _minimal() | {"patterns": [{"match": "m-(", "model": "m"}]}
    with pytest.raises(ValidationError, match="invalid regular expression"):
        PricingTable.model_validate(data)


def test_pricing_table_is_immutable():
    table = _table("openai")
    with pytest.raises(ValidationError):
        table.id = "other"  # type: ignore[misc]


# --- catalog -----------------------------------------------------------------------------------


def test_catalog_reports_which_table_and_version_priced_a_model():
    match = _match("claude-sonnet-4-20250514")
    assert (match.table_id, match.version, match.label) == ("anthropic", 1, "anthropic@1")


def test_later_table_overrides_an_earlier_entry_by_model_name_even_through_a_pattern():
    override = copy.deepcopy(_minimal(input="0.10", output="0.40"))
    override["id"] = "acme"
    override["models"][0]["name"] = "gpt-4o-mini"
    catalog = PricingCatalog([_table("openai"), PricingTable.model_validate(override)])
    assert [table.id for table in catalog.tables] == ["openai", "acme"]
    for name in ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"):
        match = _match(name, catalog)
        assert (match.table_id, match.price.rates.input) == ("acme", Decimal("0.10")), name
    assert _match("gpt-4o", catalog).table_id == "openai"


def test_empty_catalog_prices_nothing():
    assert PricingCatalog([]).lookup("gpt-4o") is None
