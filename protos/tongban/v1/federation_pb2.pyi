from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HelloRequest(_message.Message):
    __slots__ = ("division", "chain_der", "sizes", "time_ms")
    class SizesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DIVISION_FIELD_NUMBER: _ClassVar[int]
    CHAIN_DER_FIELD_NUMBER: _ClassVar[int]
    SIZES_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    division: str
    chain_der: _containers.RepeatedScalarFieldContainer[bytes]
    sizes: _containers.ScalarMap[str, int]
    time_ms: int
    def __init__(self, division: _Optional[str] = ..., chain_der: _Optional[_Iterable[bytes]] = ..., sizes: _Optional[_Mapping[str, int]] = ..., time_ms: _Optional[int] = ...) -> None: ...

class HelloResponse(_message.Message):
    __slots__ = ("division", "chain_der", "sizes", "time_ms")
    class SizesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DIVISION_FIELD_NUMBER: _ClassVar[int]
    CHAIN_DER_FIELD_NUMBER: _ClassVar[int]
    SIZES_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    division: str
    chain_der: _containers.RepeatedScalarFieldContainer[bytes]
    sizes: _containers.ScalarMap[str, int]
    time_ms: int
    def __init__(self, division: _Optional[str] = ..., chain_der: _Optional[_Iterable[bytes]] = ..., sizes: _Optional[_Mapping[str, int]] = ..., time_ms: _Optional[int] = ...) -> None: ...

class LogBatch(_message.Message):
    __slots__ = ("origin", "first_seq", "records", "checkpoint", "consistency_proof", "certificates")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEQ_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_PROOF_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    origin: str
    first_seq: int
    records: _containers.RepeatedScalarFieldContainer[bytes]
    checkpoint: bytes
    consistency_proof: _containers.RepeatedScalarFieldContainer[bytes]
    certificates: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, origin: _Optional[str] = ..., first_seq: _Optional[int] = ..., records: _Optional[_Iterable[bytes]] = ..., checkpoint: _Optional[bytes] = ..., consistency_proof: _Optional[_Iterable[bytes]] = ..., certificates: _Optional[_Iterable[bytes]] = ...) -> None: ...

class PushRequest(_message.Message):
    __slots__ = ("batch",)
    BATCH_FIELD_NUMBER: _ClassVar[int]
    batch: LogBatch
    def __init__(self, batch: _Optional[_Union[LogBatch, _Mapping]] = ...) -> None: ...

class PushResponse(_message.Message):
    __slots__ = ("stored_size", "receipt", "receipt_time_ms")
    STORED_SIZE_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    stored_size: int
    receipt: bytes
    receipt_time_ms: int
    def __init__(self, stored_size: _Optional[int] = ..., receipt: _Optional[bytes] = ..., receipt_time_ms: _Optional[int] = ...) -> None: ...

class PullRequest(_message.Message):
    __slots__ = ("sizes", "max_bytes")
    class SizesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SIZES_FIELD_NUMBER: _ClassVar[int]
    MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
    sizes: _containers.ScalarMap[str, int]
    max_bytes: int
    def __init__(self, sizes: _Optional[_Mapping[str, int]] = ..., max_bytes: _Optional[int] = ...) -> None: ...

class PullResponse(_message.Message):
    __slots__ = ("batches", "more")
    BATCHES_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    batches: _containers.RepeatedCompositeFieldContainer[LogBatch]
    more: bool
    def __init__(self, batches: _Optional[_Iterable[_Union[LogBatch, _Mapping]]] = ..., more: _Optional[bool] = ...) -> None: ...
