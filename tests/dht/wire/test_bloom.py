"""BEP 33 scrape bloom filters against the BEP's own test vector."""

from __future__ import annotations

import ipaddress

import pytest

from dht.errors import RemoteProtocolError
from dht.wire.bloom import BLOOM_BYTES, ScrapeBloom

BEP33_FILTER = bytes.fromhex(
    "F6C3F5EA A07FFD91 BDE89F77 7F26FB2B FF37BDB8 FB2BBAA2 FD3DDDE7 BACFFF75 EE7CCBAE"
    "FE5EEDB1 FBFAFF67 F6ABFF5E 43DDBCA3 FD9B9FFD F4FFD3E9 DFF12D1B DF59DB53 DBE9FA5B"
    "7FF3B8FD FCDE1AFB 8BEDD7BE 2F3EE71E BBBFE93B CDEEFE14 8246C2BC 5DBFF7E7 EFDCF24F"
    "D8DC7ADF FD8FFFDF DDFFF7A4 BBEEDF5C B95CE81F C7FCFF1F F4FFFFDF E5F7FDCB B7FD79B3"
    "FA1FC77B FE07FFF9 05B7B7FF C7FEFEFF E0B8370B B0CD3F5B 7F2BD93F EB4386CF DD6F7FD5"
    "BFAF2E9E BFFFFEEC D67ADBF7 C67F17EF D5D75EBA 6FFEBA7F FF47A91E B1BFBB53 E8ABFB57"
    "62ABE8FF 237279BF EFBFEEF5 FFC5FEBF DFE5ADFF ADFEE1FB 737FFFFB FD9F6AEF FEEE76B6"
    "FD8F72EF".replace(" ", "")
)


def bep33_addresses() -> list[str]:
    v4 = [f"192.0.2.{i}" for i in range(256)]
    base = int(ipaddress.IPv6Address("2001:db8::"))
    v6 = [str(ipaddress.IPv6Address(base + i)) for i in range(0x3E8)]
    return v4 + v6


def test_the_bep33_vector() -> None:
    bloom = ScrapeBloom.of(bep33_addresses())
    assert len(BEP33_FILTER) == BLOOM_BYTES
    assert bloom.to_bytes() == BEP33_FILTER
    assert bloom.estimate() == pytest.approx(1224.9308, abs=1e-4)


def test_packed_and_text_ips_insert_the_same() -> None:
    a = ScrapeBloom.of(["10.1.2.3", "2001:db8::1"])
    b = ScrapeBloom.of([bytes([10, 1, 2, 3]), ipaddress.IPv6Address("2001:db8::1").packed])
    assert a.to_bytes() == b.to_bytes()


def test_estimates_and_union() -> None:
    empty = ScrapeBloom()
    assert empty.estimate() < 1  # BEP 33 caps the zero count at m - 1: 0.5
    a = ScrapeBloom.of(f"10.0.{i}.1" for i in range(100))
    b = ScrapeBloom.of(f"10.0.{i}.1" for i in range(50, 200))
    assert 90 < a.estimate() < 110
    assert 180 < a.union(b).estimate() < 220  # 200 distinct, 50 shared
    assert ScrapeBloom(a.to_bytes()).to_bytes() == a.to_bytes()


@pytest.mark.parametrize("data", [b"", b"\x00" * 255, b"\x00" * 257])
def test_a_filter_of_the_wrong_size_is_a_remote_error(data: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        ScrapeBloom(data)
