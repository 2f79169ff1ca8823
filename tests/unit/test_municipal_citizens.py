"""The municipal service's citizen record from the provider's claims (seed 000's fields)."""

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from clients.municipal.citizens import local_mobile, normalise_email, upsert, valid_email
from clients.municipal.models import Base

CLAIMS = {"sub": "s-1", "given_name": "علی", "family_name": "محمدی آزمایشی",
          "birthdate": "1981-03-21", "gender": "male", "national_code": "0499370899",
          "address": {"postal_code": "1968913141", "country": "IR"},
          "phone_number": "+989120000001"}


@pytest.fixture
def db():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session


def test_the_registration_fields_come_from_the_claims_and_follow_them(db):
    citizen = upsert(db, CLAIMS)
    assert (citizen.national_code, citizen.postal_code, citizen.mobile, citizen.birth_date) == (
        "0499370899", "1968913141", "+989120000001", "1981-03-21")
    assert citizen.email is None  # to be asked, once
    citizen.email, citizen.email_source = "ali@example.ir", "citizen"
    db.commit()
    moved = upsert(db, {**CLAIMS, "address": {"postal_code": "8739637110"}})
    assert moved.id == citizen.id and moved.postal_code == "8739637110"
    assert moved.email == "ali@example.ir"  # what the citizen gave is kept


def test_only_a_verified_address_from_the_provider_replaces_the_question(db):
    assert upsert(db, {**CLAIMS, "email": "a@example.ir", "email_verified": False}).email is None
    citizen = upsert(db, {**CLAIMS, "email": "a@example.ir", "email_verified": True})
    assert (citizen.email, citizen.email_source) == ("a@example.ir", "provider")


def test_a_foreign_national_is_filed_under_the_fida_code(db):
    claims = {key: value for key, value in CLAIMS.items() if key != "national_code"}
    assert upsert(db, {**claims, "sub": "s-2", "fida_code": "300000000101"}).national_code == \
        "300000000101"


@pytest.mark.parametrize("typed, valid", [
    (" Ali@Example.IR\u200f", True), ("ali.m+city@mail.tehran.ir", True), ("ali@example", False),
    ("علی@example.ir", False), ("ali@@example.ir", False), ("", False),
    ("a" * 250 + "@x.ir", False),
])
def test_email_is_checked_after_it_is_typed(typed, valid):
    assert valid_email(normalise_email(typed)) is valid


def test_mobiles_are_shown_as_09():
    assert local_mobile("+989120000001") == "09120000001"
    assert local_mobile(None) == ""
