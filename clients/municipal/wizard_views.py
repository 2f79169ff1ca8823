"""The pages both wizards of seed 003 («درخواست انتقال», «استعلام ادارات/ ترهین») show alike:
the citizen's requests and drafts, «ثبت درخواست جدید», and the dispatch of a draft's step
behind the server's step guard. Each blueprint gives only what is its own (kind, steps, step
views); the endpoints stay the blueprint's (``<name>.requests``, ``<name>.new``,
``<name>.step``).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select

from clients.common.app import current_rp
from clients.municipal import drafts
from clients.municipal.auth import applicant_code, current_citizen, login_required
from clients.municipal.models import Draft, ServiceRequest

StepView = Callable[[Draft, FlaskForm], object]


@dataclass(frozen=True)
class Wizard:
    """One wizard: its draft ``kind`` (also its templates' folder), the stepper's ``steps``,
    its ``last`` draft step, the view of each step, what «گام قبلی» keeps of a step, and its
    title on the page of a login without a national code."""

    kind: str
    title: str
    steps: tuple
    last: int
    step_views: Mapping[int, StepView]
    keep_typed: Callable[[Draft, int], None]


def search_step(draft: Draft, form: FlaskForm, page: Callable, go_next: Callable, missing: str,
                open_codes: Callable[[], set[str]], step_keys: dict[int, tuple[str, ...]]):
    """Step 2 of both wizards: the search checks the code and the answered request's number
    against the registry (``open_codes``: the codes a request in progress holds; ``step_keys``:
    what each step keeps); «گام بعدی» only after a good one (``missing``: the wizard's words
    for pressing it before). ``page`` and ``go_next`` are the wizard's own step page and
    redirect to the next step."""
    current = draft.data.get("apartment")
    if request.method == "GET":
        return page(draft, 2, form, found=current, entered=drafts.entered(draft, 2))
    if request.form.get("action") == "next":
        if current is None:
            return page(draft, 2, form, 400, found=None, entered={}, error=missing)
        drafts.save(draft, draft.data, max(draft.done, 2))
        return go_next(draft, 2)
    entered = {key: request.form.get(key, "").strip()
               for key in ("renovation_code", "request_number")}
    # A new search replaces the old answer: the steps after this one are to be done again.
    found, error, status = drafts.search(draft, 2, open_codes(), step_keys)
    return page(draft, 2, form, status, found=found, entered=entered, error=error)


def no_national_code(title: str):
    """A login without a national code can start no request (seed 003)."""
    return render_template("wizard/no_code.html", title=title), 403


def register(bp: Blueprint, wizard: Wizard) -> None:
    """Add the list, «ثبت درخواست جدید» and the step dispatch of ``wizard`` to ``bp``."""
    step_endpoint = f"{bp.name}.step"

    def requests():
        citizen = current_citizen()
        db = current_rp().db.session
        registered = db.scalars(select(ServiceRequest).where(
            ServiceRequest.citizen_id == citizen.id, ServiceRequest.kind == wizard.kind)
            .order_by(ServiceRequest.created_at.desc())).all()
        unfinished = db.scalars(select(Draft).where(Draft.citizen_id == citizen.id,
                                                    Draft.kind == wizard.kind)
                                .order_by(Draft.created_at.desc())).all()
        return render_template(f"{wizard.kind}/list.html", registered=registered,
                               drafts=unfinished, has_code=applicant_code() is not None,
                               form=FlaskForm(), steps=wizard.steps)

    def new():
        """«ثبت درخواست جدید»: a draft at its first step."""
        if not FlaskForm().validate_on_submit():
            abort(400)
        if applicant_code() is None:
            return no_national_code(wizard.title)
        draft = drafts.start(wizard.kind)
        return redirect(url_for(step_endpoint, draft_id=draft.id, number=1), 303)

    def step(draft_id: str, number: int):
        draft = drafts.own(draft_id, wizard.kind, for_update=request.method == "POST")
        if applicant_code() is None:
            return no_national_code(wizard.title)
        early = drafts.refuse_early(draft, number, wizard.last, step_endpoint)
        if early is not None:
            return early
        form = FlaskForm()
        if request.method == "POST":
            if not form.validate_on_submit():
                abort(400)
            if request.form.get("action") == "back" and number > 1:
                wizard.keep_typed(draft, number)
                return redirect(url_for(step_endpoint, draft_id=draft.id, number=number - 1),
                                303)
        return wizard.step_views[number](draft, form)

    bp.add_url_rule("", "requests", login_required(requests), methods=["GET"])
    bp.add_url_rule("/new", "new", login_required(new), methods=["POST"])
    bp.add_url_rule("/draft/<draft_id>/<int:number>", "step", login_required(step),
                    methods=["GET", "POST"])
