"""Acting for a company as its CEO (seed 002, the note after §5.1; issue 8).

Only the person the company registry names as CEO (مدیرعامل) may log in for a company. A CEO is
replaced at any board meeting, so every check asks the registry: a stored link only offers the
company again (on the company step and the account page's «حقوقی» tab), it never stands in for
the registry's answer. A refusal removes the link, because the citizen it named is no longer
the CEO.
"""

from dataclasses import dataclass

from flask import redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import delete, select
from wtforms import StringField
from wtforms.validators import ValidationError

from idp import account_page, identifiers
from idp.audit import record
from idp.models import Account, CompanyLink
from idp.models.base import utcnow
from idp.ratelimit import per_ip
from idp.registries import Company, RegistryUnavailable
from idp.services import services

# seed 002, the note after §5.1: the board-update message, whole, then the CEO-only rule.
MSG_NOT_CEO = (
    _l("کاربر گرامی در صورتی که تغییرات هیات مدیره و افزایش / کاهش سرمایه از سال ۹۳ به بعد ثبت "
       "شده است ، برای به روزرسانی اطلاعات مدیران به مراجع ثبت شرکتها مراجعه فرمایند. در غیر "
       "اینصورت می بایست نسبت به ثبت صورتجلسه مجمع عمومی عادی یا صورتجلسه هیات مدیره با تصمیم "
       "انتخاب مدیران/ تعیین سمت مدیران و تعیین حق امضا و پذیرش در سامانه جامع ثبت شرکتها و "
       "موسسات غیر تجاری به آدرس irsherkat.ssaa.ir و ارسال صورتجلسه از طریق شرکت پست نسبت به، "
       "به روزرسانی اطلاعات هیات مدیره اقدام گردد."),
    _l("فقط شخص مدیرعامل امکان ورود به صورت حقوقی را دارا می باشد"),
)
MSG_NOT_FOUND = _l("شرکتی با این شناسه ملی یافت نشد")
MSG_INVALID = _l("شناسه ملی شرکت معتبر نیست")
MSG_LENGTH = _l("شناسه ملی شرکت باید ۱۱ رقم باشد")

ROLE_CEO = "ceo"


class CompanyIdField(StringField):
    """The company national ID typed in the field or sent by a linked company's button.

    Both carry the name ``company_national_id`` in one form; a browser sends the field first and
    the pressed button after it, so the last value that is not empty is the citizen's choice.
    """

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = next((v for v in reversed(valuelist) if v.strip()), "")


class CompanyForm(FlaskForm):
    company_national_id = CompanyIdField()
    decision = StringField()

    @property
    def cancelled(self) -> bool:
        return self.decision.data == "cancel"

    def validate_company_national_id(self, field) -> None:
        if self.cancelled:
            return
        digits = identifiers.to_ascii_digits(field.data or "")
        if len(digits) != 11 or not (digits.isascii() and digits.isdigit()):
            raise ValidationError(MSG_LENGTH)
        self.national_id = identifiers.normalize_company_id(digits)
        if self.national_id is None:
            # SPEC §8: the check digit is wrong.
            raise ValidationError(MSG_INVALID)


@dataclass(frozen=True)
class CeoCheck:
    """The registry's answer about one citizen and one company national ID."""

    company: Company | None  # None: the registry does not hold this company
    ceo: bool

    @property
    def claim(self) -> dict:
        """The ``company`` claim (SPEC §4) of a login for this company."""
        assert self.company is not None and self.ceo
        return {"national_id": self.company.national_id, "name": self.company.name,
                "role": ROLE_CEO}

    @property
    def messages(self) -> tuple:
        """What the citizen is told when refused."""
        return (MSG_NOT_FOUND,) if self.company is None else MSG_NOT_CEO


def _link_of(account_id: str, national_id: str) -> CompanyLink | None:
    return services().db.session.scalars(select(CompanyLink).where(
        CompanyLink.account_id == account_id, CompanyLink.national_id == national_id)).first()


def check_ceo(account: Account, national_id: str, *, client_id: str | None = None) -> CeoCheck:
    """Ask the company registry whether ``account`` is the CEO of ``national_id``.

    The CEO gets the company linked (or the link refreshed); anyone else loses a link they had.
    Each outcome is an audit event riding in the caller's commit. Raises
    :class:`RegistryUnavailable` (nothing changed) when the registry cannot tell.
    """
    company = services().registries.companies.find_company(national_id)
    if company is None:
        record("company.refused", account_id=account.id, client_id=client_id,
               company=national_id, reason="not_found")
        return CeoCheck(None, ceo=False)
    link = _link_of(account.id, company.national_id)
    # A foreign national has no national code, so the registry names them CEO of nothing.
    if account.national_code is None or company.ceo_national_code != account.national_code:
        record("company.refused", account_id=account.id, client_id=client_id,
               company=company.national_id, reason="not_ceo")
        if link is not None:
            services().db.session.delete(link)
            record("company.unlinked", account_id=account.id, client_id=client_id,
                   company=company.national_id, reason="not_ceo")
        return CeoCheck(company, ceo=False)
    if link is None:
        services().db.session.add(CompanyLink(account_id=account.id,
                                              national_id=company.national_id,
                                              name=company.name))
    else:
        link.name = company.name
        link.checked_at = utcnow()
    record("company.linked", account_id=account.id, client_id=client_id,
           company=company.national_id, refreshed=link is not None)
    return CeoCheck(company, ceo=True)


def linked_companies(account_id: str) -> list[CompanyLink]:
    """The companies the citizen linked, oldest first (offered as buttons, listed on the tab)."""
    return list(services().db.session.scalars(
        select(CompanyLink).where(CompanyLink.account_id == account_id)
        .order_by(CompanyLink.linked_at, CompanyLink.id)))


def unlink(account_id: str, national_id: str) -> bool:
    """The citizen removes a link; False when there was none."""
    removed = services().db.session.execute(delete(CompanyLink).where(
        CompanyLink.account_id == account_id, CompanyLink.national_id == national_id)).rowcount
    if removed:
        record("company.unlinked", account_id=account_id, company=national_id,
               reason="by_citizen")
    return bool(removed)


class RemoveForm(FlaskForm):
    remove = StringField()


@account_page.tab(account_page.bp, "/account/companies", _l("حقوقی"), order=60,
                  methods=("GET", "POST"))
@per_ip("company_per_ip")
def companies():
    """seed 002's «سربرگ حقوقی»: the citizen's companies; add one (the CEO check) or remove one."""
    account = current_user.account
    db = services().db.session
    form, removal = CompanyForm(), RemoveForm()
    status, error, added = 200, None, None
    if request.method == "POST" and "remove" in request.form:
        if removal.validate_on_submit():
            unlink(account.id, removal.remove.data or "")
            db.commit()
            return redirect(url_for("account.companies"))
        status = 400
    elif request.method == "POST":
        if form.validate_on_submit():
            try:
                check = check_ceo(account, form.national_id)
            except RegistryUnavailable:
                return account_page.render_tab(
                    "account/companies.html", form=form, removal=removal,
                    companies=linked_companies(account.id), unavailable=True), 503
            db.commit()
            if check.ceo:
                added = check.company
            else:
                error, status = check.messages, 422
        else:
            status = 422
    return account_page.render_tab("account/companies.html", form=form, removal=removal,
                                   companies=linked_companies(account.id), error=error,
                                   added=added, unavailable=False), status
