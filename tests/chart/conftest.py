"""Chart tests need the pinned helm in bin/ (`make tools`); skip without it."""

import pytest

from tests.chart.helpers import HELM


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/chart as `chart` and skip it when helm is missing."""
    skip = pytest.mark.skip(reason=f"{HELM} is missing: run `make tools`")
    for item in items:
        if "tests/chart/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.chart)
            if not HELM.exists():
                item.add_marker(skip)
