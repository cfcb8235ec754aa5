"""Fixtures every test folder shares: render a config the test states itself."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra.engine import RunResult
from tests.builders import Raw, rendered


@pytest.fixture
def render() -> Callable[[Raw], RunResult]:
    """render(raw) -> the program's recording under Pulumi's mock engine (cached by config)."""
    return rendered
