"""``/login``: username and password, then the TOTP or recovery code when the user has a second
factor; the same users, roles and limits as the API."""

from __future__ import annotations

from nicegui import ui

from gridpilot.auth.login_guard import client_address
from gridpilot.web.session import MfaPending, complete_mfa, log_in, principal


def safe_target(redirect_to: str) -> str:
    """Only local paths: never redirect to another site after log-in (``//host``, ``/\\host``
    and control characters are what browsers turn into another origin)."""
    local = redirect_to.startswith("/") and not redirect_to.startswith(("//", "/\\"))
    clean = local and all(c.isprintable() and c != "\\" for c in redirect_to)
    return redirect_to if clean else "/"


def register() -> None:
    @ui.page("/login")
    async def login_page(redirect_to: str = "/") -> None:
        target = safe_target(redirect_to)
        if await principal() is not None:
            ui.navigate.to(target)
            return
        ui.page_title("Log in · gridpilot")
        address = client_address(ui.context.client.request)  # the page's HTTP request
        with ui.card().classes("absolute-center w-80 max-w-[95vw]"):
            ui.label("gridpilot").classes("text-h5 text-weight-bold")
            ui.label("Energy management").classes("text-caption text-grey-7")
            username = (
                ui.input("Username")
                .props("autofocus")
                .classes("w-full")
                .props("data-testid=username")
            )
            password = (
                ui.input("Password", password=True, password_toggle_button=True)
                .classes("w-full")
                .props("data-testid=password")
            )
            code = (
                ui.input("Authenticator code (or recovery code)")
                .classes("w-full")
                .props("data-testid=mfa-code autocomplete=one-time-code")
            )
            code.set_visibility(False)
            error = ui.label().classes("text-negative").props("data-testid=login-error")
            pending: list[MfaPending] = []  # server memory only: the token never reaches the page

            async def submit() -> None:
                if pending:
                    await second_step()
                    return
                if not username.value or not password.value:
                    error.set_text("Enter your username and password.")
                    return
                problem = await log_in(username.value, password.value, address)
                password.set_value("")
                if isinstance(problem, MfaPending):
                    pending.append(problem)
                    username.set_enabled(False)
                    password.set_visibility(False)
                    code.set_visibility(True)
                    error.set_text("")
                    code.run_method("focus")
                    return
                if problem is not None:
                    error.set_text(problem)
                    return
                ui.navigate.to(target)

            async def second_step() -> None:
                if not code.value:
                    error.set_text("Enter the code of your authenticator app.")
                    return
                problem = await complete_mfa(pending[0].mfa_token, code.value, address)
                code.set_value("")
                if problem is not None:
                    error.set_text(problem)
                    return
                ui.navigate.to(target)

            password.on("keydown.enter", submit)
            code.on("keydown.enter", submit)
            ui.button("Log in", on_click=submit).classes("w-full").props("data-testid=login")
