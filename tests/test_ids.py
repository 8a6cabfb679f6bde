"""Applicant numbers: GB 11643 resident IDs and GB 32100 credit codes.

Check digits in the valid examples are computed here from the published
algorithms (not taken from stdnum), so a wrong library result would show.
"""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.ids import Applicant, ApplicantError, check_applicant, check_resident_id, check_uscc
from pki.errors import InputError

_RIC_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def ric(first17: str) -> str:
    """GB 11643: ISO 7064 MOD 11-2 over the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _RIC_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def uscc(first17: str) -> str:
    """GB 32100: weighted sum mod 31 over the code alphabet."""
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return first17 + _USCC_ALPHABET[(31 - total % 31) % 31]


def test_helpers_agree_with_published_examples():
    # The GB 11643 example number and the GB 32100 example from the standard's annex.
    assert ric("11010519491231002") == "11010519491231002X"
    assert uscc("91110000600037341") == "91110000600037341L"


def test_lhasa_resident_id_is_natural_with_birth_date_and_region():
    number = ric("54010219900307123")
    applicant = check_applicant(number)
    assert applicant == Applicant(
        kind="natural",
        id=number,
        warnings=[],
        birth_date=date(1990, 3, 7),
        region="540102",
        region_name="西藏自治区城关区",
    )


def test_normalises_spaces_hyphens_and_lower_case_x():
    number = ric("11010519491231002")
    assert number.endswith("X")
    spaced = f" {number[:6]} {number[6:14]}-{number[14:-1]}x "
    assert check_applicant(spaced).id == number


def test_wrong_check_digit_names_got_and_want_and_masks_the_number():
    number = ric("54010219900307001")
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    with pytest.raises(ApplicantError) as info:
        check_applicant(wrong)
    assert str(info.value) == (
        f"bad resident ID 5401021990...: check digit is {wrong[-1]}, want {number[-1]}"
    )
    assert wrong[10:] not in str(info.value)
    assert isinstance(info.value, InputError)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("54010219900307", "14 characters, want 18"),
        ("540102900307001", "15-digit first-generation IDs are no longer valid"),
        ("", "empty"),
    ],
)
def test_bad_lengths(value, message):
    with pytest.raises(ApplicantError, match=message):
        check_applicant(value)


def test_impossible_birth_date_with_correct_check_digit_is_refused():
    number = ric("54010219900230001")
    with pytest.raises(ApplicantError, match="birth date 19900230 is not a date"):
        check_applicant(number)


def test_birth_date_after_today_is_refused_only_when_today_is_given():
    number = ric("54010220300101001")
    assert check_applicant(number).birth_date == date(2030, 1, 1)
    with pytest.raises(ApplicantError, match="after today"):
        check_applicant(number, today=date(2026, 11, 21))


@pytest.mark.parametrize(
    ("prefix", "city", "founded"),
    [("659005", "北屯市", 2011), ("659009", "昆玉市", 2016), ("659011", "新星市", 2021)],
)
def test_xinjiang_city_newer_than_birth_is_accepted_with_a_warning(prefix, city, founded):
    number = ric(prefix + "19850302004")
    applicant = check_applicant(number)
    assert applicant.kind == "natural" and applicant.id == number
    assert applicant.birth_date == date(1985, 3, 2)
    assert len(applicant.warnings) == 1
    assert city in applicant.warnings[0] and str(founded) in applicant.warnings[0]


def test_xinjiang_city_older_than_birth_has_no_warning():
    applicant = check_applicant(ric("65900120010101002"))  # 石河子市 since 1986
    assert applicant.warnings == []
    assert applicant.region_name == "新疆维吾尔自治区石河子市"


def test_unknown_region_is_accepted_with_a_warning():
    applicant = check_applicant(ric("65909919900101002"))
    assert applicant.region == "659099"
    assert applicant.region_name == ""
    assert applicant.warnings == [
        "address code 659099 is not a known division code; check it with the applicant"
    ]


def test_government_organ_credit_code_is_legal():
    code = uscc("11540102MB0127561")
    applicant = check_applicant(code)
    assert applicant.kind == "legal" and applicant.id == code
    assert applicant.region == "540102" and applicant.birth_date is None
    assert applicant.warnings == []


def test_village_collective_code_with_letter_authority_is_accepted():
    code = uscc("N2540102MA6T00010")
    assert check_applicant(code).kind == "legal"


def test_all_digit_credit_code_is_not_mistaken_for_a_resident_id():
    # Positions 7-14 ("00000000") are no date, so the number can only be a credit code.
    code = next(c for c in (uscc(f"12540102{n:09d}") for n in range(100)) if c[17].isdigit())
    assert code.isdigit()
    assert check_applicant(code).kind == "legal"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("11540102MB0I275610", "characters I are not allowed"),
        ("B1540102MB01275610", "registration authority B is unknown"),
        ("10540102000000010A", r"organisation type 0 is not one that authority 1 \(机构编制\)"),
        ("115401A2MB01275610", "region 5401A2 is not a six-digit division code"),
        ("11540102MB0127561", "17 characters, want 18"),
    ],
)
def test_malformed_credit_codes(code, message):
    with pytest.raises(ApplicantError, match=message):
        check_uscc(code)


def test_credit_code_wrong_check_character_names_got_and_want():
    code = uscc("11540102MB0127561")
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(ApplicantError) as info:
        check_applicant(wrong)
    assert str(info.value).endswith(f"check character is {wrong[-1]}, want {code[-1]}")


def test_non_string_is_an_input_error():
    with pytest.raises(ApplicantError, match="want a string"):
        check_applicant(540102199003070018)  # type: ignore[arg-type]


@given(st.text(max_size=25))
def test_any_text_is_accepted_or_refused_with_an_applicant_error(text):
    try:
        applicant = check_applicant(text)
    except ApplicantError:
        return
    assert len(applicant.id) == 18
    assert check_applicant(applicant.id) == applicant


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 1, 1)),
    st.integers(0, 999),
    st.sampled_from(["540102", "542621", "650102", "659004", "110101"]),
)
def test_every_constructed_resident_id_passes_and_one_wrong_digit_fails(born, serial, region):
    number = ric(f"{region}{born:%Y%m%d}{serial:03d}")
    applicant = check_applicant(number)
    assert applicant.birth_date == born and applicant.region == region
    position = (serial + born.day) % 17
    flipped = str((int(number[position]) + 1) % 10)
    with pytest.raises(ApplicantError):
        check_resident_id(number[:position] + flipped + number[position + 1 :])


def _uscc(first17: str) -> str:
    from stdnum.cn import uscc
    return first17 + uscc.calc_check_digit(first17)


def test_a_resident_id_with_an_impossible_date_is_not_read_as_a_credit_code():
    number = "540102199002301232"  # check digit holds for GB 11643; 02-30 is no date
    from stdnum.cn import ric, uscc  # it also carries a valid GB 32100 check character
    assert ric.calc_check_digit(number) == number[17]
    assert uscc.calc_check_digit(number[:17]) == number[17]
    with pytest.raises(ApplicantError, match=r"^bad resident ID 5401021990\.\.\.: birth date "
                                             r"19900230 is not a date"):
        check_applicant(number)


@pytest.mark.parametrize(("authority", "allowed"), [
    ("1", "1239"), ("2", "19"), ("3", "123459"), ("4", "19"), ("5", "1239"), ("6", "129"),
    ("7", "129"), ("8", "19"), ("9", "123"), ("A", "19"), ("N", "1239"), ("Y", "1")])
def test_credit_code_authority_and_type_pairs_follow_gb_32100(authority, allowed):
    for kind in "123456789":
        code = _uscc(f"{authority}{kind}540102MA6T0N0Y0")
        if kind in allowed:
            assert check_uscc(code).kind == "legal"
        else:
            with pytest.raises(ApplicantError, match=f"organisation type {kind} is not one "
                                                     f"that authority {authority}"):
                check_uscc(code)


def test_credit_code_messages_mask_the_number():
    code = _uscc("91999999MA6T0N0Y0")  # region 999999 is no division: a warning
    warning = check_uscc(code).warnings[0]
    assert code not in warning and "91999999MA..." in warning
    with pytest.raises(ApplicantError) as refused:
        check_uscc(code[:17] + ("0" if code[17] != "0" else "1"))
    assert code[:17] not in str(refused.value)
