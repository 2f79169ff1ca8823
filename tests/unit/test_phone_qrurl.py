"""The phone app accepts exactly ISSUER/q/1/QID from a QR code and nothing else (issue 7;
design §2.3 phone step 1, test case 34)."""

import pytest

from clients.phone.qrurl import BadQr, parse_login_url

ISSUER = "https://my.gov.ir"
QID = "AbCdEfGhIjKlMnOpQr_-09"   # 22 base64url characters


def test_the_one_good_shape():
    assert parse_login_url(f"{ISSUER}/q/1/{QID}", ISSUER) == QID


def test_a_loopback_issuer_with_a_port():
    issuer = "http://127.0.0.1:5000"
    assert parse_login_url(f"{issuer}/q/1/{QID}", issuer) == QID
    with pytest.raises(BadQr):
        parse_login_url(f"http://127.0.0.1:5001/q/1/{QID}", issuer)
    with pytest.raises(BadQr):
        parse_login_url(f"http://127.0.0.1/q/1/{QID}", issuer)


def test_an_issuer_with_a_path():
    issuer = "https://sso.example.ir/idp"
    assert parse_login_url(f"{issuer}/q/1/{QID}", issuer) == QID
    with pytest.raises(BadQr):
        parse_login_url(f"https://sso.example.ir/q/1/{QID}", issuer)


BAD = [
    # scheme
    f"http://my.gov.ir/q/1/{QID}",
    f"HTTPS://my.gov.ir/q/1/{QID}",
    f"//my.gov.ir/q/1/{QID}",
    f"my.gov.ir/q/1/{QID}",
    f"https:/my.gov.ir/q/1/{QID}",
    f"javascript://my.gov.ir/q/1/{QID}",
    f"intent://my.gov.ir/q/1/{QID}",
    # host
    f"https://my.gov.ir.evil.example/q/1/{QID}",
    f"https://my-gov.ir/q/1/{QID}",
    f"https://evil.example/my.gov.ir/q/1/{QID}",
    f"https://MY.GOV.IR/q/1/{QID}",
    f"https://my.gov.ir./q/1/{QID}",
    f"https://my.gov.іr/q/1/{QID}",            # Cyrillic і
    f"https://xn--my-gov-ir/q/1/{QID}",
    f"https://my.gov.ir:443/q/1/{QID}",
    f"https://my.gov.ir:8443/q/1/{QID}",
    f"https://sub.my.gov.ir/q/1/{QID}",
    # userinfo
    f"https://evil.example@my.gov.ir/q/1/{QID}",
    f"https://my.gov.ir@evil.example/q/1/{QID}",
    f"https://user:pass@my.gov.ir/q/1/{QID}",
    # path
    f"https://my.gov.ir/q/2/{QID}",
    f"https://my.gov.ir/Q/1/{QID}",
    f"https://my.gov.ir/q/1//{QID}",
    f"https://my.gov.ir//q/1/{QID}",
    f"https://my.gov.ir/x/q/1/{QID}",
    f"https://my.gov.ir/q/1/{QID}/",
    f"https://my.gov.ir/q/1/{QID}/more",
    f"https://my.gov.ir/q/1/{QID};x=1",
    f"https://my.gov.ir/q/1/../1/{QID}",
    f"https://my.gov.ir/q/1/%2e%2e/{QID}",
    f"https://my.gov.ir\\q\\1\\{QID}",
    f"https://my.gov.ir/q/1\\{QID}",
    # query, fragment
    f"https://my.gov.ir/q/1/{QID}?",
    f"https://my.gov.ir/q/1/{QID}?next=https://evil.example",
    f"https://my.gov.ir/q/1/{QID}#",
    f"https://my.gov.ir/q/1/{QID}#frag",
    f"https://my.gov.ir/q/1/?qid={QID}",
    # the QID
    "https://my.gov.ir/q/1/",
    f"https://my.gov.ir/q/1/{QID[:21]}",
    f"https://my.gov.ir/q/1/{QID}A",
    f"https://my.gov.ir/q/1/{QID[:21]}=",
    f"https://my.gov.ir/q/1/{QID[:21]}+",
    f"https://my.gov.ir/q/1/{QID[:21]}/",
    f"https://my.gov.ir/q/1/{QID[:21]}.",
    f"https://my.gov.ir/q/1/{QID[:20]}%41",
    f"https://my.gov.ir/q/1/{QID[:21]}۱",          # a Persian digit
    f"https://my.gov.ir/q/1/{QID[:21]}\u200c",     # ZWNJ
    "https://my.gov.ir/q/1/" + "Ａ" * 22,           # full-width letters
    # whitespace and control characters
    f" https://my.gov.ir/q/1/{QID}",
    f"https://my.gov.ir/q/1/{QID} ",
    f"https://my.gov.ir/q/1/{QID}\n",
    f"https://my.gov.ir/q/1/{QID}\x00",
    f"https://my.gov.ir/q/1/ {QID[:21]}",
    f"\u202ehttps://my.gov.ir/q/1/{QID}",           # bidi override
    # not a URL at all
    "",
    QID,
    f"q/1/{QID}",
    "WIFI:S:home;T:WPA;P:secret;;",
]


@pytest.mark.parametrize("url", BAD)
def test_anything_else_is_refused_with_a_reason(url):
    with pytest.raises(BadQr) as caught:
        parse_login_url(url, ISSUER)
    assert caught.value.reason


def test_the_reason_names_the_wrong_part():
    def why(url: str) -> str:
        with pytest.raises(BadQr) as caught:
            parse_login_url(url, ISSUER)
        return caught.value.reason

    assert "scheme" in why(f"http://my.gov.ir/q/1/{QID}")
    assert "host" in why(f"https://my.gov.ir.evil.example/q/1/{QID}")
    assert "user" in why(f"https://a@my.gov.ir/q/1/{QID}")
    assert "query" in why(f"https://my.gov.ir/q/1/{QID}?a=1")
    assert "fragment" in why(f"https://my.gov.ir/q/1/{QID}#a")
    assert "path" in why(f"https://my.gov.ir/q/2/{QID}")
    assert "extra path" in why(f"https://my.gov.ir/q/1/{QID}/x")
    assert "21 characters" in why(f"https://my.gov.ir/q/1/{QID[:21]}")
