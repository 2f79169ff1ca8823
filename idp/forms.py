"""Forms the provider's own pages share (Flask-WTF: CSRF on every one)."""

from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """A form that only carries the CSRF token (resend, logout confirmation, …)."""
