"""The project's views: a home page, a signed-in API view, password sign-up and sign-in."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.views.decorators.http import require_POST

from lucia import InvalidCredentialsError, InvalidPasswordError, accounts
from lucia.integrations.django.conf import get_lucia
from lucia.integrations.django.decorators import login_required
from lucia.integrations.django.middleware import current_session, session_attributes, set_cookie


def home(request: HttpRequest) -> HttpResponse:
    user = request.lucia_user  # type: ignore[attr-defined]
    if user is None:
        return HttpResponse(
            '<a href="/auth/login/github/?next=/">Sign in with GitHub</a>'
            '<form method="post" action="/signin"><input name="email">'
            '<input name="password" type="password"><button>Sign in</button></form>'
        )
    name = user.attributes.get("username") or user.attributes.get("email") or user.id
    return HttpResponse(
        f"<p>Signed in as {escape(name)}</p>"
        '<form method="post" action="/auth/logout/"><button>Sign out</button></form>'
    )


@login_required
def me(request: HttpRequest) -> HttpResponse:
    user = request.lucia_user  # type: ignore[attr-defined]
    return JsonResponse({"id": user.id, "attributes": user.attributes})


@require_POST
def signup(request: HttpRequest) -> HttpResponse:
    try:
        signed = accounts.sign_up(
            get_lucia(),
            request.POST.get("email", ""),
            request.POST.get("password", ""),
            session_attributes=session_attributes(request),
        )
    except accounts.InvalidEmailError:
        return HttpResponse("not an email address", status=400)
    except accounts.EmailTakenError:
        return HttpResponse("this address already has an account", status=409)
    except InvalidPasswordError as error:
        return HttpResponse(f"password refused: {error.reason}", status=400)
    return _signed_in(request, signed)


@require_POST
def signin(request: HttpRequest) -> HttpResponse:
    try:
        signed = accounts.sign_in(
            get_lucia(),
            request.POST.get("email", ""),
            request.POST.get("password", ""),
            session_attributes=session_attributes(request),
        )
    except InvalidCredentialsError:
        # The same answer for an unknown address and a wrong password.
        return HttpResponse("wrong email or password", status=400)
    return _signed_in(request, signed)


def _signed_in(request: HttpRequest, signed: accounts.SignedIn) -> HttpResponse:
    """Replace the browser's session (no fixation), set the new cookie, 303 home."""
    old = current_session(request)
    if old is not None:
        get_lucia().invalidate_session(old.id)
    response = HttpResponse(status=303, headers={"Location": "/"})
    set_cookie(response, signed.cookie)
    response["Cache-Control"] = "no-store"
    return response
