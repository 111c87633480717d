"""Token usage as the gateway counts it (SPEC §7.5): every kind stored apart, nothing twice.

`input_tokens` is every prompt token (for Anthropic: input + cache read + cache write; for
OpenAI: `prompt_tokens`); the two cache counts are subsets of it; `reasoning_tokens` is a subset
of `output_tokens`; `total_tokens = input + output`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Usage"]


@dataclass(frozen=True, slots=True)
class Usage:
    """Normalized token counts of one request; `reported` says the upstream sent any usage."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_write_input_tokens: int = 0
    reasoning_tokens: int = 0
    reported: bool = False

    @property
    def total_tokens(self) -> int:
        """Input plus output (cache and reasoning counts are already inside them)."""
        return self.input_tokens + self.output_tokens

    @property
    def uncached_input_tokens(self) -> int:
        """Prompt tokens billed at the plain input rate."""
        return max(
            0, self.input_tokens - self.cache_read_input_tokens - self.cache_write_input_tokens
        )
