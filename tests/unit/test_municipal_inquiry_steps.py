"""The pure rules of «استعلام ادارات/ ترهین»: «بررسی سوابق» takes the latest certificate of the
registry's and those issued here, and the wizard's own step count and keys."""

import jdatetime

from clients.municipal import wizard
from clients.municipal.records import Certificate, latest
from clients.municipal.registry import AnsweredRequest, Property


def answered(number: str, certificate: str | None, issued: tuple[int, int, int] | None):
    return AnsweredRequest(number, certificate, jdatetime.date(*issued) if issued else None)


def home(*requests: AnsweredRequest) -> Property:
    return Property(renovation_code="10-1", address="تهران", owners=frozenset({"0499370899"}),
                    attorneys=frozenset(), dues_rials=0, requests=requests)


def test_the_latest_certificate_of_the_registry_and_of_this_service():
    registry_only = home(answered("1398-1", "گواهی پایان کار", (1398, 2, 1)),
                         answered("1402-2", "گواهی انتقال آپارتمان", (1402, 9, 3)),
                         answered("1403-3", None, None))
    assert latest(registry_only, []).number == "1402-2"
    here = Certificate("گواهی انتقال آپارتمان", "4000000001", jdatetime.date(1404, 1, 5))
    assert latest(registry_only, [here]) == here
    older = Certificate("گواهی انتقال آپارتمان", "4000000002", jdatetime.date(1390, 1, 5))
    assert latest(registry_only, [older]).number == "1402-2"
    # An answered request without a certificate, or without its date, is no certificate.
    assert latest(home(answered("1403-3", None, None),
                       answered("1403-4", "گواهی پایان کار", None)), []) is None
    assert latest(home(), [older]) == older


def test_the_inquiry_has_five_draft_steps_and_forgets_its_records_check_on_a_new_search():
    assert wizard.reachable(4, 5, wizard.INQUIRY_DRAFT_STEPS)
    assert not wizard.reachable(3, 5, wizard.INQUIRY_DRAFT_STEPS)
    assert not wizard.reachable(5, 6, wizard.INQUIRY_DRAFT_STEPS)
    data = {"accepted": True, "apartment": {"code": "1"}, "certificate": {"number": "x"},
            "letter": {"body": "بانک"}}
    kept, done = wizard.after_change(data, 4, 2, wizard.INQUIRY_STEP_KEYS)
    assert kept == {"accepted": True, "apartment": {"code": "1"}, "letter": {"body": "بانک"}}
    assert done == 1
    # The transfer's own keys are untouched by the inquiry's.
    assert wizard.after_change(data, 4, 2)[0]["certificate"] == {"number": "x"}
