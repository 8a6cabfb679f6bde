from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HelloRequest(_message.Message):
    __slots__ = ("division", "chain_der", "sizes", "time_ms", "delivered", "nonce")
    class SizesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class DeliveredEntry(_message.Message):
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
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    division: str
    chain_der: _containers.RepeatedScalarFieldContainer[bytes]
    sizes: _containers.ScalarMap[str, int]
    time_ms: int
    delivered: _containers.ScalarMap[str, int]
    nonce: bytes
    def __init__(self, division: _Optional[str] = ..., chain_der: _Optional[_Iterable[bytes]] = ..., sizes: _Optional[_Mapping[str, int]] = ..., time_ms: _Optional[int] = ..., delivered: _Optional[_Mapping[str, int]] = ..., nonce: _Optional[bytes] = ...) -> None: ...

class HelloResponse(_message.Message):
    __slots__ = ("division", "chain_der", "sizes", "time_ms", "deliveries_waiting", "packs_batches", "nonce_signature")
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
    DELIVERIES_WAITING_FIELD_NUMBER: _ClassVar[int]
    PACKS_BATCHES_FIELD_NUMBER: _ClassVar[int]
    NONCE_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    division: str
    chain_der: _containers.RepeatedScalarFieldContainer[bytes]
    sizes: _containers.ScalarMap[str, int]
    time_ms: int
    deliveries_waiting: bool
    packs_batches: bool
    nonce_signature: bytes
    def __init__(self, division: _Optional[str] = ..., chain_der: _Optional[_Iterable[bytes]] = ..., sizes: _Optional[_Mapping[str, int]] = ..., time_ms: _Optional[int] = ..., deliveries_waiting: _Optional[bool] = ..., packs_batches: _Optional[bool] = ..., nonce_signature: _Optional[bytes] = ...) -> None: ...

class LogBatch(_message.Message):
    __slots__ = ("origin", "first_seq", "records", "checkpoint", "consistency_proof", "certificates", "prefix_frontier", "packed_records")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEQ_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_PROOF_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FRONTIER_FIELD_NUMBER: _ClassVar[int]
    PACKED_RECORDS_FIELD_NUMBER: _ClassVar[int]
    origin: str
    first_seq: int
    records: _containers.RepeatedScalarFieldContainer[bytes]
    checkpoint: bytes
    consistency_proof: _containers.RepeatedScalarFieldContainer[bytes]
    certificates: _containers.RepeatedScalarFieldContainer[bytes]
    prefix_frontier: _containers.RepeatedScalarFieldContainer[bytes]
    packed_records: bytes
    def __init__(self, origin: _Optional[str] = ..., first_seq: _Optional[int] = ..., records: _Optional[_Iterable[bytes]] = ..., checkpoint: _Optional[bytes] = ..., consistency_proof: _Optional[_Iterable[bytes]] = ..., certificates: _Optional[_Iterable[bytes]] = ..., prefix_frontier: _Optional[_Iterable[bytes]] = ..., packed_records: _Optional[bytes] = ...) -> None: ...

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
    __slots__ = ("sizes", "max_bytes", "delivered", "recover", "packed")
    class SizesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class DeliveredEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class RecoverEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SIZES_FIELD_NUMBER: _ClassVar[int]
    MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    RECOVER_FIELD_NUMBER: _ClassVar[int]
    PACKED_FIELD_NUMBER: _ClassVar[int]
    sizes: _containers.ScalarMap[str, int]
    max_bytes: int
    delivered: _containers.ScalarMap[str, int]
    recover: _containers.ScalarMap[str, int]
    packed: bool
    def __init__(self, sizes: _Optional[_Mapping[str, int]] = ..., max_bytes: _Optional[int] = ..., delivered: _Optional[_Mapping[str, int]] = ..., recover: _Optional[_Mapping[str, int]] = ..., packed: _Optional[bool] = ...) -> None: ...

class PullResponse(_message.Message):
    __slots__ = ("batches", "more", "deliveries")
    BATCHES_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    batches: _containers.RepeatedCompositeFieldContainer[LogBatch]
    more: bool
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    def __init__(self, batches: _Optional[_Iterable[_Union[LogBatch, _Mapping]]] = ..., more: _Optional[bool] = ..., deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("record", "checkpoint", "inclusion_proof", "certificates")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    INCLUSION_PROOF_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    record: bytes
    checkpoint: bytes
    inclusion_proof: _containers.RepeatedScalarFieldContainer[bytes]
    certificates: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, record: _Optional[bytes] = ..., checkpoint: _Optional[bytes] = ..., inclusion_proof: _Optional[_Iterable[bytes]] = ..., certificates: _Optional[_Iterable[bytes]] = ...) -> None: ...

class ReceiptEntry(_message.Message):
    __slots__ = ("origin", "size", "checkpoint", "receipt")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    origin: str
    size: int
    checkpoint: bytes
    receipt: bytes
    def __init__(self, origin: _Optional[str] = ..., size: _Optional[int] = ..., checkpoint: _Optional[bytes] = ..., receipt: _Optional[bytes] = ...) -> None: ...

class Bundle(_message.Message):
    __slots__ = ("sender", "recipient", "created_ms", "batches", "receipts", "csrs", "issued_certs", "deliveries", "delivered", "held")
    class DeliveredEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class HeldEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    BATCHES_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    CSRS_FIELD_NUMBER: _ClassVar[int]
    ISSUED_CERTS_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    sender: str
    recipient: str
    created_ms: int
    batches: _containers.RepeatedCompositeFieldContainer[LogBatch]
    receipts: _containers.RepeatedCompositeFieldContainer[ReceiptEntry]
    csrs: _containers.RepeatedScalarFieldContainer[bytes]
    issued_certs: _containers.RepeatedScalarFieldContainer[bytes]
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    delivered: _containers.ScalarMap[str, int]
    held: _containers.ScalarMap[str, int]
    def __init__(self, sender: _Optional[str] = ..., recipient: _Optional[str] = ..., created_ms: _Optional[int] = ..., batches: _Optional[_Iterable[_Union[LogBatch, _Mapping]]] = ..., receipts: _Optional[_Iterable[_Union[ReceiptEntry, _Mapping]]] = ..., csrs: _Optional[_Iterable[bytes]] = ..., issued_certs: _Optional[_Iterable[bytes]] = ..., deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ..., delivered: _Optional[_Mapping[str, int]] = ..., held: _Optional[_Mapping[str, int]] = ...) -> None: ...
