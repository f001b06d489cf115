"""People's API tokens: a user makes, replaces and revokes their own, on the API tokens page.

DRF's `authtoken.Token` (one per user) is what the API authenticates (`Token <key>`, see
settings.REST_FRAMEWORK and `annotate.queue_sql.auth`), so it is used as is: a new token
replaces the old one, and the key is shown once, on the page that answers the creation.
Model raters' keys are another thing (`annotations/judges/tokens.py`).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.authtoken.models import Token


def user_token_create(*, user: AbstractBaseUser) -> Token:
    """A new token for the user; the old one, if any, stops working."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


def user_token_revoke(*, user: AbstractBaseUser) -> bool:
    """Revoke the user's token; whether there was one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)


def user_token_get(*, user: AbstractBaseUser) -> Token | None:
    return Token.objects.filter(user=user).first()


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """The user's token: when it was made; POST makes a new one and shows its key once."""
    created = None
    if request.method == "POST":
        created = user_token_create(user=request.user)
    context = {"token": user_token_get(user=request.user), "created": created}
    response = render(request, "annotations/tokens.html", context)
    response["Cache-Control"] = "no-store"  # the page may hold a key
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest) -> HttpResponse:
    if user_token_revoke(user=request.user):
        messages.success(request, "Your API token is revoked; calls with it now get a 401.")
    return redirect("tokens")
