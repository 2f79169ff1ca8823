"""The journey's plan and the consent rule: pure functions, no HTTP."""

import dataclasses

import pytest

import flows  # noqa: F401  (registers every step)
from flows.consent import consent_required
from flows.journey import new_journey
from flows.plan import STEPS, Start, Step, advance, make_plan, register


@pytest.fixture
def no_consent_lookup(monkeypatch):
    """Consent's check reads the database; here the test decides."""
    answer = {"needed": False}
    step = dataclasses.replace(STEPS["consent"], needed=lambda journey: answer["needed"])
    monkeypatch.setitem(STEPS, "consent", step)
    return answer


def journey_for(start: Start):
    journey = new_journey({"client_id": "c"} if start.relying_party else None,
                          "c" if start.relying_party else None, method=start.method)
    journey.plan = make_plan(start)
    return journey


def test_a_one_time_code_login_plans_every_step_in_order():
    assert make_plan(Start(method="otp", relying_party=True)) == [
        "mobile", "otp", "identity", "postal", "consent"]


def test_single_sign_on_plans_no_proof_and_no_postal_step():
    assert make_plan(Start(method="session", relying_party=True)) == ["consent"]


def test_the_providers_own_login_has_no_consent():
    assert make_plan(Start(method="otp", relying_party=False)) == [
        "mobile", "otp", "identity", "postal"]


def test_steps_come_in_order_and_are_passed_over_when_not_needed(no_consent_lookup):
    journey = journey_for(Start(method="otp", relying_party=True))
    assert advance(journey) == "mobile"
    journey.complete("mobile")
    assert advance(journey) == "otp"
    journey.complete("otp")
    assert advance(journey) == "identity"
    journey.account_id = "a1"
    journey.postal_review = True
    assert advance(journey) == "postal"
    assert "identity" in journey.done
    journey.complete("postal")
    no_consent_lookup["needed"] = True
    assert advance(journey) == "consent"
    journey.complete("consent")
    assert advance(journey) is None
    assert journey.current is None


def test_a_known_mobile_owner_skips_identity_and_an_unchanged_postal_code(no_consent_lookup):
    journey = journey_for(Start(method="otp", relying_party=True))
    journey.done = ["mobile", "otp"]
    journey.account_id = "a1"
    assert advance(journey) is None
    assert journey.done == ["mobile", "otp", "identity", "postal", "consent"]


def test_a_step_passed_over_stays_passed_over(no_consent_lookup):
    journey = journey_for(Start(method="session", relying_party=True))
    assert advance(journey) is None
    no_consent_lookup["needed"] = True
    assert advance(journey) is None


def test_a_new_step_is_one_registration(monkeypatch):
    monkeypatch.setattr("flows.plan.STEPS", dict(STEPS))
    register(Step("device", order=55, applies=lambda start: "device" in start.scopes))
    with_device = Start(method="session", relying_party=True, scopes=frozenset({"device"}))
    assert make_plan(with_device) == ["device", "consent"]
    assert make_plan(Start(method="session", relying_party=True)) == ["consent"]


def test_company_step_after_postal_before_consent_also_under_single_sign_on():
    # Issue 8: asked for with the company scope or by a legal-entity client.
    asked = frozenset({"openid", "company"})
    assert make_plan(Start(method="otp", relying_party=True, scopes=asked)) == [
        "mobile", "otp", "identity", "postal", "company", "consent"]
    assert make_plan(Start(method="session", relying_party=True, scopes=asked)) == [
        "company", "consent"]
    assert make_plan(Start(method="session", relying_party=True, legal_entity=True)) == [
        "company", "consent"]
    assert "company" not in make_plan(Start(method="session", relying_party=True))
    assert "company" not in make_plan(Start(method="otp", relying_party=False))


def test_a_step_is_registered_once():
    with pytest.raises(ValueError, match="twice"):
        register(STEPS["otp"])


def test_each_journey_has_its_own_unguessable_id():
    first, second = (new_journey(None, None, method="otp") for _ in range(2))
    assert first.id != second.id
    assert len(first.id) >= 32


def test_consent_rule():
    asked = {"openid", "profile"}
    assert consent_required(first_party=False, requested=asked, remembered=None, prompts=[])
    assert not consent_required(first_party=False, requested=asked,
                                remembered={"openid", "profile", "phone"}, prompts=[])
    assert consent_required(first_party=False, requested=asked | {"offline_access"},
                            remembered=asked, prompts=[])
    assert not consent_required(first_party=True, requested=asked, remembered=None, prompts=[])
    assert consent_required(first_party=True, requested=asked, remembered=asked,
                            prompts=["consent"])
