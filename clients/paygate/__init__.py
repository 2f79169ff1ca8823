"""«درگاه پرداخت آزمایشی»: a sandbox of an Iranian bank's internet payment gateway (issue 10),
for the municipal e-services' «پرداخت آنلاین». Run it with
``python -m clients.paygate --config FILE --port P``; it reads the ``[payment]`` section of the
municipal settings file (``gateway_url``, ``merchant_id``, ``secret``)."""

from clients.paygate.app import create_app

__all__ = ["create_app"]
