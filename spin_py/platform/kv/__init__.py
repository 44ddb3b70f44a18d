"""Key-value stores: the backend protocol, SQLite and Redis backends, and the label registry."""

from spin_py.platform.kv.backend import (
    AccessDenied,
    KeyValueError,
    KeyValueStore,
    NoSuchStore,
    StoreError,
)
from spin_py.platform.kv.stores import (
    DEFAULT_LABEL,
    ComponentKeyValue,
    KeyValueStores,
    parse_key_value_arg,
    seed,
)

__all__ = [
    "DEFAULT_LABEL",
    "AccessDenied",
    "ComponentKeyValue",
    "KeyValueError",
    "KeyValueStore",
    "KeyValueStores",
    "NoSuchStore",
    "StoreError",
    "parse_key_value_arg",
    "seed",
]
