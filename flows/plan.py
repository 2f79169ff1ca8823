"""The journey's plan: which steps a login needs, in which order (SPEC §3).

Like node-oidc-provider's interaction policy, the plan is made of checks. Each step module
registers its step once, with

- ``applies(start)``: whether the step belongs to a login started this way — by which method the
  citizen proves who they are (``otp`` today; QR, password later; ``session`` for single
  sign-on) and what the request asks for;
- ``needed(journey)``: asked when the step's turn comes, with everything the earlier steps
  learnt — whether there is still something to do (the identity step is not needed when the
  mobile's owner is already known);
- the step is done when its view says so (:meth:`Journey.complete`).

Adding a step or a way to log in is one module and one registration: nothing here names a step.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flows.journey import Journey


@dataclass(frozen=True)
class Start:
    """What is known when a journey starts, and all a step's ``applies`` may look at."""

    method: str
    # False when the citizen logs in to the provider itself (the account page).
    relying_party: bool
    prompts: tuple[str, ...] = ()
    scopes: frozenset[str] = frozenset()
    # A legal-entity client: every login to it is a company login (issue 8).
    legal_entity: bool = False


def always(_journey: Journey) -> bool:
    return True


@dataclass(frozen=True)
class Step:
    name: str
    order: int
    applies: Callable[[Start], bool]
    needed: Callable[[Journey], bool] = always


STEPS: dict[str, Step] = {}


def register(step: Step) -> Step:
    if step.name in STEPS:
        raise ValueError(f"step {step.name!r} is registered twice")
    STEPS[step.name] = step
    return step


def make_plan(start: Start) -> list[str]:
    """The steps of a login started like ``start``, in order."""
    return [step.name for step in sorted(STEPS.values(), key=lambda s: s.order)
            if step.applies(start)]


def advance(journey: Journey) -> str | None:
    """Move the journey to its first step that is neither done nor passed over; None: finished.

    A step whose turn came with nothing to do is passed over for good: the facts its
    ``needed`` reads were settled by the steps before it.
    """
    for name in journey.plan:
        if name in journey.done:
            continue
        if STEPS[name].needed(journey):
            journey.current = name
            return name
        journey.done.append(name)
    journey.current = None
    return None
