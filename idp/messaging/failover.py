"""Several SMS gateways, one after the other: a code goes out through the first that takes it.

Each gateway has a circuit breaker (idp.outbound): after a few failed sends in a row it is
skipped at once for a while, so while one gateway is down every code goes straight to the next
instead of waiting for the dead one first. A send is never repeated on the same gateway (it is
not idempotent: the citizen could get the code twice); the next gateway sends the same code.
"""

import logging

from idp import outbound
from idp.messaging.base import MessagingUnavailable, SmsSender

log = logging.getLogger(__name__)


class FailoverSms:
    def __init__(self, gateways: list[tuple[str, SmsSender]], deadline: float,
                 breaker_failures: int, breaker_seconds: float) -> None:
        self.gateways = [(name, gateway, outbound.OutsideService(
            f"sms {name}", deadline, retries=0, breaker_failures=breaker_failures,
            breaker_seconds=breaker_seconds)) for name, gateway in gateways]

    def send(self, to: str, text: str, *, code: str | None, purpose: str) -> None:
        reasons = []
        for name, gateway, service in self.gateways:
            def attempt(_seconds: float, gateway: SmsSender = gateway) -> None:
                try:
                    gateway.send(to, text, code=code, purpose=purpose)
                except MessagingUnavailable as exc:
                    raise outbound.Failed(str(exc)) from None

            try:
                service.call(attempt, idempotent=False)
                return
            except outbound.Failed as exc:
                reasons.append(f"{name}: {exc.reason}")
                log.warning("sms gateway %s skipped for %s: %s", name, purpose, exc.reason)
        raise MessagingUnavailable("every sms gateway failed (" + "; ".join(reasons) + ")")

    def breaker_states(self) -> dict[str, str]:
        return {name: service.breaker.state for name, _gateway, service in self.gateways}
