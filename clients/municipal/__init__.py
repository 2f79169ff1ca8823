"""«حساب شهروندی شهرداری»: the demo municipal relying party (seed 000)."""

from clients.municipal.app import create_app

__all__ = ["create_app"]
