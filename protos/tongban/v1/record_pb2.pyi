from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KIND_UNSPECIFIED: _ClassVar[Kind]
    MATTER_PUBLISHED: _ClassVar[Kind]
    MATTER_RETIRED: _ClassVar[Kind]
    CASE_EVENT: _ClassVar[Kind]
    LICENCE_ISSUED: _ClassVar[Kind]
    LICENCE_REVOKED: _ClassVar[Kind]
    CERT_ISSUED: _ClassVar[Kind]
    CERT_REVOKED: _ClassVar[Kind]
    CALENDAR_NOTICE: _ClassVar[Kind]
    POLICY_NOTICE: _ClassVar[Kind]
    MATTER_CHANGE_REQUEST: _ClassVar[Kind]
    KEY_ROTATED: _ClassVar[Kind]
    SEAL_ISSUED: _ClassVar[Kind]
    LICENCE_STATUS: _ClassVar[Kind]
    LICENCE_TYPE_PUBLISHED: _ClassVar[Kind]
    SUPERVISION_NOTICE: _ClassVar[Kind]
    SUPERVISION_REPLY: _ClassVar[Kind]
    EVALUATION: _ClassVar[Kind]
    EVALUATION_FOLLOW_UP: _ClassVar[Kind]
    STAFF_REGISTERED: _ClassVar[Kind]
    STAFF_DISABLED: _ClassVar[Kind]
    BASE_ITEM_PUBLISHED: _ClassVar[Kind]
    CHANGE_REQUEST_ANSWERED: _ClassVar[Kind]
KIND_UNSPECIFIED: Kind
MATTER_PUBLISHED: Kind
MATTER_RETIRED: Kind
CASE_EVENT: Kind
LICENCE_ISSUED: Kind
LICENCE_REVOKED: Kind
CERT_ISSUED: Kind
CERT_REVOKED: Kind
CALENDAR_NOTICE: Kind
POLICY_NOTICE: Kind
MATTER_CHANGE_REQUEST: Kind
KEY_ROTATED: Kind
SEAL_ISSUED: Kind
LICENCE_STATUS: Kind
LICENCE_TYPE_PUBLISHED: Kind
SUPERVISION_NOTICE: Kind
SUPERVISION_REPLY: Kind
EVALUATION: Kind
EVALUATION_FOLLOW_UP: Kind
STAFF_REGISTERED: Kind
STAFF_DISABLED: Kind
BASE_ITEM_PUBLISHED: Kind
CHANGE_REQUEST_ANSWERED: Kind

class Record(_message.Message):
    __slots__ = ("origin", "seq", "hlc", "kind", "recipient", "body")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    HLC_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    origin: str
    seq: int
    hlc: int
    kind: Kind
    recipient: str
    body: bytes
    def __init__(self, origin: _Optional[str] = ..., seq: _Optional[int] = ..., hlc: _Optional[int] = ..., kind: _Optional[_Union[Kind, str]] = ..., recipient: _Optional[str] = ..., body: _Optional[bytes] = ...) -> None: ...

class Material(_message.Message):
    __slots__ = ("name", "required", "deferrable", "licence_type", "commitment", "format", "copies", "legal_basis", "sample", "source", "issuer")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DEFERRABLE_FIELD_NUMBER: _ClassVar[int]
    LICENCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    COPIES_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    name: str
    required: bool
    deferrable: bool
    licence_type: str
    commitment: bool
    format: str
    copies: int
    legal_basis: str
    sample: str
    source: str
    issuer: str
    def __init__(self, name: _Optional[str] = ..., required: _Optional[bool] = ..., deferrable: _Optional[bool] = ..., licence_type: _Optional[str] = ..., commitment: _Optional[bool] = ..., format: _Optional[str] = ..., copies: _Optional[int] = ..., legal_basis: _Optional[str] = ..., sample: _Optional[str] = ..., source: _Optional[str] = ..., issuer: _Optional[str] = ...) -> None: ...

class Situation(_message.Message):
    __slots__ = ("name", "materials", "promised_limit_days")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_FIELD_NUMBER: _ClassVar[int]
    PROMISED_LIMIT_DAYS_FIELD_NUMBER: _ClassVar[int]
    name: str
    materials: _containers.RepeatedScalarFieldContainer[str]
    promised_limit_days: int
    def __init__(self, name: _Optional[str] = ..., materials: _Optional[_Iterable[str]] = ..., promised_limit_days: _Optional[int] = ...) -> None: ...

class LicenceResult(_message.Message):
    __slots__ = ("type_code", "type_name", "valid_years")
    TYPE_CODE_FIELD_NUMBER: _ClassVar[int]
    TYPE_NAME_FIELD_NUMBER: _ClassVar[int]
    VALID_YEARS_FIELD_NUMBER: _ClassVar[int]
    type_code: str
    type_name: str
    valid_years: int
    def __init__(self, type_code: _Optional[str] = ..., type_name: _Optional[str] = ..., valid_years: _Optional[int] = ...) -> None: ...

class Matter(_message.Message):
    __slots__ = ("base_code", "impl_code", "version", "name", "type", "level", "body_name", "body_uscc", "legal_basis", "conditions", "service_object", "legal_limit_days", "promised_limit_days", "fees", "materials", "steps", "handling_form", "online_depth", "scope", "result", "decide_with_owed", "commitment_check_days", "theme_members", "result_name", "result_sample", "review_criteria", "fee_basis", "main_item", "sub_item", "situations", "local")
    BASE_CODE_FIELD_NUMBER: _ClassVar[int]
    IMPL_CODE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    BODY_NAME_FIELD_NUMBER: _ClassVar[int]
    BODY_USCC_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    SERVICE_OBJECT_FIELD_NUMBER: _ClassVar[int]
    LEGAL_LIMIT_DAYS_FIELD_NUMBER: _ClassVar[int]
    PROMISED_LIMIT_DAYS_FIELD_NUMBER: _ClassVar[int]
    FEES_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    HANDLING_FORM_FIELD_NUMBER: _ClassVar[int]
    ONLINE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    DECIDE_WITH_OWED_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_CHECK_DAYS_FIELD_NUMBER: _ClassVar[int]
    THEME_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    RESULT_NAME_FIELD_NUMBER: _ClassVar[int]
    RESULT_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    REVIEW_CRITERIA_FIELD_NUMBER: _ClassVar[int]
    FEE_BASIS_FIELD_NUMBER: _ClassVar[int]
    MAIN_ITEM_FIELD_NUMBER: _ClassVar[int]
    SUB_ITEM_FIELD_NUMBER: _ClassVar[int]
    SITUATIONS_FIELD_NUMBER: _ClassVar[int]
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    base_code: str
    impl_code: str
    version: int
    name: str
    type: str
    level: str
    body_name: str
    body_uscc: str
    legal_basis: str
    conditions: str
    service_object: str
    legal_limit_days: int
    promised_limit_days: int
    fees: str
    materials: _containers.RepeatedCompositeFieldContainer[Material]
    steps: _containers.RepeatedScalarFieldContainer[str]
    handling_form: str
    online_depth: int
    scope: str
    result: LicenceResult
    decide_with_owed: bool
    commitment_check_days: int
    theme_members: _containers.RepeatedScalarFieldContainer[str]
    result_name: str
    result_sample: str
    review_criteria: str
    fee_basis: str
    main_item: str
    sub_item: str
    situations: _containers.RepeatedCompositeFieldContainer[Situation]
    local: bool
    def __init__(self, base_code: _Optional[str] = ..., impl_code: _Optional[str] = ..., version: _Optional[int] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., level: _Optional[str] = ..., body_name: _Optional[str] = ..., body_uscc: _Optional[str] = ..., legal_basis: _Optional[str] = ..., conditions: _Optional[str] = ..., service_object: _Optional[str] = ..., legal_limit_days: _Optional[int] = ..., promised_limit_days: _Optional[int] = ..., fees: _Optional[str] = ..., materials: _Optional[_Iterable[_Union[Material, _Mapping]]] = ..., steps: _Optional[_Iterable[str]] = ..., handling_form: _Optional[str] = ..., online_depth: _Optional[int] = ..., scope: _Optional[str] = ..., result: _Optional[_Union[LicenceResult, _Mapping]] = ..., decide_with_owed: _Optional[bool] = ..., commitment_check_days: _Optional[int] = ..., theme_members: _Optional[_Iterable[str]] = ..., result_name: _Optional[str] = ..., result_sample: _Optional[str] = ..., review_criteria: _Optional[str] = ..., fee_basis: _Optional[str] = ..., main_item: _Optional[str] = ..., sub_item: _Optional[str] = ..., situations: _Optional[_Iterable[_Union[Situation, _Mapping]]] = ..., local: _Optional[bool] = ...) -> None: ...

class BaseItem(_message.Message):
    __slots__ = ("base_code", "version", "name", "type", "legal_basis", "levels", "main_item", "sub_item", "retired", "reason")
    BASE_CODE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    MAIN_ITEM_FIELD_NUMBER: _ClassVar[int]
    SUB_ITEM_FIELD_NUMBER: _ClassVar[int]
    RETIRED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    base_code: str
    version: int
    name: str
    type: str
    legal_basis: str
    levels: _containers.RepeatedScalarFieldContainer[str]
    main_item: str
    sub_item: str
    retired: bool
    reason: str
    def __init__(self, base_code: _Optional[str] = ..., version: _Optional[int] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., legal_basis: _Optional[str] = ..., levels: _Optional[_Iterable[str]] = ..., main_item: _Optional[str] = ..., sub_item: _Optional[str] = ..., retired: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class ChangeRequest(_message.Message):
    __slots__ = ("proposed", "retire", "reason", "impl_code", "item")
    PROPOSED_FIELD_NUMBER: _ClassVar[int]
    RETIRE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    IMPL_CODE_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    proposed: BaseItem
    retire: bool
    reason: str
    impl_code: str
    item: Matter
    def __init__(self, proposed: _Optional[_Union[BaseItem, _Mapping]] = ..., retire: _Optional[bool] = ..., reason: _Optional[str] = ..., impl_code: _Optional[str] = ..., item: _Optional[_Union[Matter, _Mapping]] = ...) -> None: ...

class ChangeRequestAnswer(_message.Message):
    __slots__ = ("request_origin", "request_seq", "approve", "reason", "base_code", "base_version")
    REQUEST_ORIGIN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_SEQ_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    BASE_CODE_FIELD_NUMBER: _ClassVar[int]
    BASE_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_origin: str
    request_seq: int
    approve: bool
    reason: str
    base_code: str
    base_version: int
    def __init__(self, request_origin: _Optional[str] = ..., request_seq: _Optional[int] = ..., approve: _Optional[bool] = ..., reason: _Optional[str] = ..., base_code: _Optional[str] = ..., base_version: _Optional[int] = ...) -> None: ...

class MatterRetired(_message.Message):
    __slots__ = ("impl_code", "version", "reason")
    IMPL_CODE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    impl_code: str
    version: int
    reason: str
    def __init__(self, impl_code: _Optional[str] = ..., version: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class CaseEvent(_message.Message):
    __slots__ = ("case_no", "action", "actor", "matter_code", "matter_version", "applicant_id", "applicant_name", "channel", "materials", "reason", "due_days", "score", "comment", "method", "approve", "limit_days", "missing_material", "licences", "os_login", "one_person_office", "owed", "decide_with_owed", "committed", "check_days", "commitment_kept", "theme_case", "theme")
    CASE_NO_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    MATTER_CODE_FIELD_NUMBER: _ClassVar[int]
    MATTER_VERSION_FIELD_NUMBER: _ClassVar[int]
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICANT_NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DUE_DAYS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_DAYS_FIELD_NUMBER: _ClassVar[int]
    MISSING_MATERIAL_FIELD_NUMBER: _ClassVar[int]
    LICENCES_FIELD_NUMBER: _ClassVar[int]
    OS_LOGIN_FIELD_NUMBER: _ClassVar[int]
    ONE_PERSON_OFFICE_FIELD_NUMBER: _ClassVar[int]
    OWED_FIELD_NUMBER: _ClassVar[int]
    DECIDE_WITH_OWED_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    CHECK_DAYS_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_KEPT_FIELD_NUMBER: _ClassVar[int]
    THEME_CASE_FIELD_NUMBER: _ClassVar[int]
    THEME_FIELD_NUMBER: _ClassVar[int]
    case_no: str
    action: str
    actor: str
    matter_code: str
    matter_version: int
    applicant_id: str
    applicant_name: str
    channel: str
    materials: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    due_days: int
    score: int
    comment: str
    method: str
    approve: bool
    limit_days: int
    missing_material: str
    licences: _containers.RepeatedCompositeFieldContainer[CitedLicence]
    os_login: str
    one_person_office: bool
    owed: _containers.RepeatedCompositeFieldContainer[OwedMaterial]
    decide_with_owed: bool
    committed: _containers.RepeatedScalarFieldContainer[str]
    check_days: int
    commitment_kept: bool
    theme_case: str
    theme: bool
    def __init__(self, case_no: _Optional[str] = ..., action: _Optional[str] = ..., actor: _Optional[str] = ..., matter_code: _Optional[str] = ..., matter_version: _Optional[int] = ..., applicant_id: _Optional[str] = ..., applicant_name: _Optional[str] = ..., channel: _Optional[str] = ..., materials: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ..., due_days: _Optional[int] = ..., score: _Optional[int] = ..., comment: _Optional[str] = ..., method: _Optional[str] = ..., approve: _Optional[bool] = ..., limit_days: _Optional[int] = ..., missing_material: _Optional[str] = ..., licences: _Optional[_Iterable[_Union[CitedLicence, _Mapping]]] = ..., os_login: _Optional[str] = ..., one_person_office: _Optional[bool] = ..., owed: _Optional[_Iterable[_Union[OwedMaterial, _Mapping]]] = ..., decide_with_owed: _Optional[bool] = ..., committed: _Optional[_Iterable[str]] = ..., check_days: _Optional[int] = ..., commitment_kept: _Optional[bool] = ..., theme_case: _Optional[str] = ..., theme: _Optional[bool] = ...) -> None: ...

class OwedMaterial(_message.Message):
    __slots__ = ("name", "due_days")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DUE_DAYS_FIELD_NUMBER: _ClassVar[int]
    name: str
    due_days: int
    def __init__(self, name: _Optional[str] = ..., due_days: _Optional[int] = ...) -> None: ...

class StaffMember(_message.Message):
    __slots__ = ("staff_id", "name", "roles")
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    staff_id: str
    name: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, staff_id: _Optional[str] = ..., name: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ...) -> None: ...

class StaffDisabled(_message.Message):
    __slots__ = ("staff_id", "reason")
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    staff_id: str
    reason: str
    def __init__(self, staff_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CitedLicence(_message.Message):
    __slots__ = ("licence_id", "material", "type_code", "issuer", "checked_by", "status_as_of_ms")
    LICENCE_ID_FIELD_NUMBER: _ClassVar[int]
    MATERIAL_FIELD_NUMBER: _ClassVar[int]
    TYPE_CODE_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    CHECKED_BY_FIELD_NUMBER: _ClassVar[int]
    STATUS_AS_OF_MS_FIELD_NUMBER: _ClassVar[int]
    licence_id: str
    material: str
    type_code: str
    issuer: str
    checked_by: str
    status_as_of_ms: int
    def __init__(self, licence_id: _Optional[str] = ..., material: _Optional[str] = ..., type_code: _Optional[str] = ..., issuer: _Optional[str] = ..., checked_by: _Optional[str] = ..., status_as_of_ms: _Optional[int] = ...) -> None: ...

class Licence(_message.Message):
    __slots__ = ("licence_id", "sealed", "seal_certificate_der")
    LICENCE_ID_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    SEAL_CERTIFICATE_DER_FIELD_NUMBER: _ClassVar[int]
    licence_id: str
    sealed: bytes
    seal_certificate_der: bytes
    def __init__(self, licence_id: _Optional[str] = ..., sealed: _Optional[bytes] = ..., seal_certificate_der: _Optional[bytes] = ...) -> None: ...

class LicenceRevoked(_message.Message):
    __slots__ = ("licence_id", "reason", "revoked_at_ms")
    LICENCE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    licence_id: str
    reason: str
    revoked_at_ms: int
    def __init__(self, licence_id: _Optional[str] = ..., reason: _Optional[str] = ..., revoked_at_ms: _Optional[int] = ...) -> None: ...

class SealIssued(_message.Message):
    __slots__ = ("certificate_der", "body_uscc", "body_name", "image_png")
    CERTIFICATE_DER_FIELD_NUMBER: _ClassVar[int]
    BODY_USCC_FIELD_NUMBER: _ClassVar[int]
    BODY_NAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_PNG_FIELD_NUMBER: _ClassVar[int]
    certificate_der: bytes
    body_uscc: str
    body_name: str
    image_png: bytes
    def __init__(self, certificate_der: _Optional[bytes] = ..., body_uscc: _Optional[str] = ..., body_name: _Optional[str] = ..., image_png: _Optional[bytes] = ...) -> None: ...

class LicenceStatus(_message.Message):
    __slots__ = ("certificates", "revocations")
    CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    REVOCATIONS_FIELD_NUMBER: _ClassVar[int]
    certificates: _containers.RepeatedScalarFieldContainer[bytes]
    revocations: _containers.RepeatedCompositeFieldContainer[RelayedRevocation]
    def __init__(self, certificates: _Optional[_Iterable[bytes]] = ..., revocations: _Optional[_Iterable[_Union[RelayedRevocation, _Mapping]]] = ...) -> None: ...

class LicenceType(_message.Message):
    __slots__ = ("code", "name", "holder")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    holder: str
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., holder: _Optional[str] = ...) -> None: ...

class RelayedRevocation(_message.Message):
    __slots__ = ("issuer", "seq", "licence_id", "serial_hex", "revoked_at_ms", "reason")
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    LICENCE_ID_FIELD_NUMBER: _ClassVar[int]
    SERIAL_HEX_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    issuer: str
    seq: int
    licence_id: str
    serial_hex: str
    revoked_at_ms: int
    reason: str
    def __init__(self, issuer: _Optional[str] = ..., seq: _Optional[int] = ..., licence_id: _Optional[str] = ..., serial_hex: _Optional[str] = ..., revoked_at_ms: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class CertIssued(_message.Message):
    __slots__ = ("certificate_der",)
    CERTIFICATE_DER_FIELD_NUMBER: _ClassVar[int]
    certificate_der: bytes
    def __init__(self, certificate_der: _Optional[bytes] = ...) -> None: ...

class CertRevoked(_message.Message):
    __slots__ = ("serial_hex", "reason", "revoked_at_ms")
    SERIAL_HEX_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    serial_hex: str
    reason: str
    revoked_at_ms: int
    def __init__(self, serial_hex: _Optional[str] = ..., reason: _Optional[str] = ..., revoked_at_ms: _Optional[int] = ...) -> None: ...

class CalendarNotice(_message.Message):
    __slots__ = ("year", "holidays", "working_days")
    YEAR_FIELD_NUMBER: _ClassVar[int]
    HOLIDAYS_FIELD_NUMBER: _ClassVar[int]
    WORKING_DAYS_FIELD_NUMBER: _ClassVar[int]
    year: int
    holidays: _containers.RepeatedScalarFieldContainer[str]
    working_days: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, year: _Optional[int] = ..., holidays: _Optional[_Iterable[str]] = ..., working_days: _Optional[_Iterable[str]] = ...) -> None: ...

class PolicyNotice(_message.Message):
    __slots__ = ("title", "text")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    title: str
    text: str
    def __init__(self, title: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class KeyRotated(_message.Message):
    __slots__ = ("new_certificate_der",)
    NEW_CERTIFICATE_DER_FIELD_NUMBER: _ClassVar[int]
    new_certificate_der: bytes
    def __init__(self, new_certificate_der: _Optional[bytes] = ...) -> None: ...

class SupervisionNotice(_message.Message):
    __slots__ = ("case_no", "text", "due_days")
    CASE_NO_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    DUE_DAYS_FIELD_NUMBER: _ClassVar[int]
    case_no: str
    text: str
    due_days: int
    def __init__(self, case_no: _Optional[str] = ..., text: _Optional[str] = ..., due_days: _Optional[int] = ...) -> None: ...

class SupervisionReply(_message.Message):
    __slots__ = ("notice_origin", "notice_seq", "case_no", "text")
    NOTICE_ORIGIN_FIELD_NUMBER: _ClassVar[int]
    NOTICE_SEQ_FIELD_NUMBER: _ClassVar[int]
    CASE_NO_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    notice_origin: str
    notice_seq: int
    case_no: str
    text: str
    def __init__(self, notice_origin: _Optional[str] = ..., notice_seq: _Optional[int] = ..., case_no: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class Evaluation(_message.Message):
    __slots__ = ("case_no", "level", "evaluator_kind", "channel", "evaluator", "entered_by", "comment", "anonymous")
    CASE_NO_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    EVALUATOR_KIND_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    EVALUATOR_FIELD_NUMBER: _ClassVar[int]
    ENTERED_BY_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    ANONYMOUS_FIELD_NUMBER: _ClassVar[int]
    case_no: str
    level: int
    evaluator_kind: str
    channel: str
    evaluator: str
    entered_by: str
    comment: str
    anonymous: bool
    def __init__(self, case_no: _Optional[str] = ..., level: _Optional[int] = ..., evaluator_kind: _Optional[str] = ..., channel: _Optional[str] = ..., evaluator: _Optional[str] = ..., entered_by: _Optional[str] = ..., comment: _Optional[str] = ..., anonymous: _Optional[bool] = ...) -> None: ...

class EvaluationFollowUp(_message.Message):
    __slots__ = ("evaluation_origin", "evaluation_seq", "case_no", "step", "text", "actor")
    EVALUATION_ORIGIN_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_SEQ_FIELD_NUMBER: _ClassVar[int]
    CASE_NO_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    evaluation_origin: str
    evaluation_seq: int
    case_no: str
    step: str
    text: str
    actor: str
    def __init__(self, evaluation_origin: _Optional[str] = ..., evaluation_seq: _Optional[int] = ..., case_no: _Optional[str] = ..., step: _Optional[str] = ..., text: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...
