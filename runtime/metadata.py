"""Reading a model file's metadata_props as the browser's worker reads them (`static/widget/onnx-metadata.js`): each
key parsed as JSON and checked, with the same words when it is missing or wrong."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import fields

from runtime.settings import Settings, settings_from


class MetadataError(ValueError):
    """A metadata key is missing or does not hold what the readers expect."""


def parsed(metadata: dict[str, str], key: str, check: Callable[[object], bool], expected: str) -> object:
    """The JSON value of `key`, if `check` accepts it; else a MetadataError saying what was `expected`."""
    if key not in metadata:
        raise MetadataError(f'its metadata has no "{key}" (expected {expected})')
    try:
        value = json.loads(metadata[key])
    except json.JSONDecodeError:
        raise MetadataError(f'its metadata "{key}" is not JSON (expected {expected})') from None
    if not check(value):
        raise MetadataError(f'its metadata "{key}" is {metadata[key]} (expected {expected})')
    return value


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_positive_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def settings_value(metadata: dict[str, str], key: str, kind: type[Settings]) -> Settings:
    """`kind` from `key`, a JSON object with exactly its fields, all numbers."""
    names = ", ".join(f.name for f in fields(kind))
    value = parsed(metadata, key, lambda v: settings_from(kind, v) is not None, f"a JSON object of numbers: {names}")
    return settings_from(kind, value)
