"""The order of the steps and the consent rule: pure functions, no HTTP."""

from flows.consent import consent_required
from flows.journey import Journey, Step, new_journey, next_step


def journey(**changes) -> Journey:
    item = new_journey({"client_id": "c"}, "c")
    for key, value in changes.items():
        setattr(item, key, value)
    return item


def test_steps_come_in_order():
    item = journey()
    assert next_step(item) is Step.MOBILE
    item.mobile = "+989120000001"
    assert next_step(item) is Step.OTP
    item.otp_verified = True
    assert next_step(item) is Step.IDENTITY
    item.identity_verified = True
    assert next_step(item) is Step.DONE
    item.postal_needed = True
    assert next_step(item) is Step.POSTAL
    item.postal_done = True
    item.consent_needed = True
    assert next_step(item) is Step.CONSENT
    item.consent_given = True
    assert next_step(item) is Step.DONE


def test_a_provider_session_skips_the_proof_steps_not_consent():
    item = journey(by_session=True)
    assert next_step(item) is Step.DONE
    item.consent_needed = True
    assert next_step(item) is Step.CONSENT


def test_each_journey_has_its_own_unguessable_id():
    assert journey().id != journey().id
    assert len(journey().id) >= 32


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
