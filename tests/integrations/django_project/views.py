"""Views of the test project."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from lucia.errors import DatabaseError, InvalidCredentialsError
from lucia.integrations.django.conf import get_lucia
from lucia.integrations.django.decorators import login_required
from lucia.integrations.django.middleware import sign_in


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("home")


@login_required
def me(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"id": request.lucia_user.id, "session": request.lucia_session.id})


@login_required
async def ame(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"id": request.lucia_user.id, "async": True})


def public(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("public")
    response["Cache-Control"] = "public, max-age=600"
    return response


def varies(request: HttpRequest, vary: str) -> HttpResponse:
    response = HttpResponse("varies")
    response["Vary"] = "*" if vary == "star" else "Accept-Encoding"
    return response


def change(request: HttpRequest) -> HttpResponse:
    return HttpResponse("changed" if request.lucia_user is not None else "anonymous change")


@csrf_exempt
def webhook(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"hook user={request.lucia_user is not None}")


def password_login(request: HttpRequest) -> HttpResponse:
    data = json.loads(request.body)
    try:
        user = get_lucia().authenticate("email", data["email"], data["password"])
    except InvalidCredentialsError:
        return HttpResponse("wrong email or password", status=400)
    response = HttpResponse("signed in")
    sign_in(request, response, user.id)
    return response


def broken(request: HttpRequest) -> HttpResponse:
    raise DatabaseError("SQL: SELECT secret")
