"""Kubernetes memory quantities as bytes, and the errors that name the fix."""

import pytest

from tfserving_contract.quantity import QuantityError, ceil_mi, mib, parse_bytes


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512Mi", 512 * 2**20),
        ("2Gi", 2 * 2**30),
        ("1.5Gi", 3 * 2**29),
        ("1G", 10**9),
        ("500M", 500 * 10**6),
        ("128k", 128_000),
        ("1073741824", 2**30),
        ("129e6", 129 * 10**6),
        (" 1Ki ", 1024),
    ],
)
def test_quantities_the_chart_and_the_api_server_write_parse_to_bytes(text, size):
    assert parse_bytes(text) == size


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("512m", "512Mi?: the m suffix means thousandths of a byte"),
        ("512MB", "Kubernetes writes no B"),
        ("1GiB", "Kubernetes writes no B"),
        ("lots", "write e.g. 512Mi, 2Gi, 1G or 1073741824"),
        ("-1Gi", "write e.g. 512Mi"),
        ("0", "must be above 0"),
    ],
)
def test_a_bad_quantity_names_the_problem_and_an_example(text, hint):
    with pytest.raises(QuantityError, match=r"e\.g\. 512Mi") as raised:
        parse_bytes(text)
    assert hint in str(raised.value)


def test_sizes_print_in_mib_and_round_up_to_whole_mi():
    assert mib(3 * 2**19) == "1.5 MiB"
    assert ceil_mi(2**20 + 1) == "2Mi"
    assert ceil_mi(2**20) == "1Mi"
