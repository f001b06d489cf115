"""judgeapp: experts and model judges rate the same things; background jobs measure the gap."""

from judgeapp.celery import app as celery_app

__all__ = ("celery_app",)
