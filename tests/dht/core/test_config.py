"""Config: the seed's defaults, and validation that names the bad setting."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from dht import Config
from dht.wire import krpc
from dht.errors import ConfigError, DHTError, LocalError

#: SimpleTests.DHT_DEFAULTS of the seed (khashmir.py), less PORT and SPEW.
SEED_DEFAULTS = {
    "K": 8, "HASH_LENGTH": 160, "CHECKPOINT_INTERVAL": 300, "CONCURRENT_REQS": 4,
    "STORE_REDUNDANCY": 3, "RETRIEVE_VALUES": -10000, "MAX_FAILURES": 3,
    "MIN_PING_INTERVAL": 900, "BUCKET_STALENESS": 3600, "KEY_EXPIRE": 3600,
}


def test_defaults_equal_the_seed() -> None:
    config = Config()
    for name, value in SEED_DEFAULTS.items():
        assert getattr(config, name) == value, name
    # The wire notes: KRPC_TIMEOUT was 20 s in the original.
    assert config.KRPC_TIMEOUT == 20


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.K = 4  # type: ignore[misc]


INVALID: list[tuple[str, Any]] = [
    ("K", 0), ("K", 1), ("K", -8), ("K", 8.0), ("K", "8"), ("K", True), ("K", None),
    ("HASH_LENGTH", 128), ("HASH_LENGTH", 0),
    ("CHECKPOINT_INTERVAL", 0), ("CHECKPOINT_INTERVAL", -1.5), ("CHECKPOINT_INTERVAL", "300"),
    ("CONCURRENT_REQS", 0), ("CONCURRENT_REQS", 2.5),
    ("STORE_REDUNDANCY", 0), ("STORE_REDUNDANCY", -3),
    ("RETRIEVE_VALUES", 1.5), ("RETRIEVE_VALUES", "all"),
    ("MAX_FAILURES", 0),
    ("MIN_PING_INTERVAL", -900), ("BUCKET_STALENESS", 0), ("KEY_EXPIRE", -1),
    ("KRPC_TIMEOUT", 0), ("KRPC_TIMEOUT", -20), ("KRPC_TIMEOUT", float("nan")),
    ("KRPC_TIMEOUT", False), ("KRPC_TIMEOUT", [20]),
    ("SOFT_TIMEOUT_MIN", 0), ("SOFT_TIMEOUT_MAX", -1), ("SOFT_TIMEOUT_MIN", 5.0),
    ("MAX_VALUE_SIZE", 0), ("MAX_VALUE_SIZE", 1473), ("MAX_VALUE_SIZE", 1400), ("MAX_VALUE_SIZE", 1e3),
    ("MAX_VALUES_PER_KEY", 0), ("MAX_VALUES", -1),
]


@pytest.mark.parametrize("name,value", INVALID, ids=[f"{n}={v!r}" for n, v in INVALID])
def test_invalid_value_raises_config_error_naming_the_setting(name: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        Config(**{name: value})
    assert name in str(info.value)
    # replace() validates the same way.
    with pytest.raises(ConfigError) as info2:
        Config().replace(**{name: value})
    assert name in str(info2.value)


def test_config_error_is_a_local_dht_error() -> None:
    assert issubclass(ConfigError, LocalError) and issubclass(ConfigError, DHTError)


def test_replace_changes_only_what_is_asked() -> None:
    base = Config()
    changed = base.replace(K=4, KRPC_TIMEOUT=0.5)
    assert (changed.K, changed.KRPC_TIMEOUT) == (4, 0.5)
    for f in dataclasses.fields(Config):
        if f.name not in ("K", "KRPC_TIMEOUT"):
            assert getattr(changed, f.name) == getattr(base, f.name)
    assert base.K == 8


def test_replace_refuses_unknown_settings() -> None:
    with pytest.raises(ConfigError) as info:
        Config().replace(KK=8)
    assert "KK" in str(info.value)


def test_float_settings_accept_integers_and_negative_retrieve_values() -> None:
    config = Config(KRPC_TIMEOUT=5, RETRIEVE_VALUES=-3, SOFT_TIMEOUT_MIN=1, SOFT_TIMEOUT_MAX=1)
    assert config.KRPC_TIMEOUT == 5 and config.RETRIEVE_VALUES == -3
    assert Config(RETRIEVE_VALUES=0).RETRIEVE_VALUES == 0


def largest_accepted_value_size() -> int:
    size = 0
    for n in range(1, 4096):
        try:
            Config(MAX_VALUE_SIZE=n)
        except ConfigError:
            break
        size = n
    return size


def test_largest_allowed_value_fits_one_store_datagram() -> None:
    """A store of a MAX_VALUE_SIZE value must not exceed the 1472-byte limit."""
    size = largest_accepted_value_size()
    assert size >= Config().MAX_VALUE_SIZE
    args = {b"id": bytes(20), b"key": bytes(20), b"value": b"v" * size, b"token": bytes(20)}
    data = krpc.encode_query(krpc.new_tid(), "store_value", args)
    assert len(data) <= krpc.UDP_PACKET_LIMIT
    # ...and the limit is not needlessly low: one byte more would not fit.
    args[b"value"] = b"v" * (size + 1)
    assert len(krpc.encode_query(krpc.new_tid(), "store_value", args)) > krpc.UDP_PACKET_LIMIT
