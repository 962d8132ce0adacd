"""``/login``: username and password, then the TOTP or recovery code when the user has a second
factor; the same users, roles and limits as the API."""

from __future__ import annotations

from nicegui import ui

from gridpilot.auth.login_guard import client_address
from gridpilot.web.dashboard_auth import MfaPending, complete_mfa, log_in, principal


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
        _LoginForm(target, client_address(ui.context.client.request))  # the page's request


class _LoginForm:
    """The log-in card: username and password, then the second factor's code when the user
    has one (its pending token stays in server memory, never on the page)."""

    def __init__(self, target: str, address: str) -> None:
        self.target, self.address = target, address
        self.pending: list[MfaPending] = []
        with ui.card().classes("absolute-center w-80 max-w-[95vw]"):
            ui.label("gridpilot").classes("text-h5 text-weight-bold")
            ui.label("Energy management").classes("text-caption text-grey-7")
            self.username = (
                ui.input("Username")
                .props("autofocus")
                .classes("w-full")
                .props("data-testid=username")
            )
            self.password = (
                ui.input("Password", password=True, password_toggle_button=True)
                .classes("w-full")
                .props("data-testid=password")
            )
            self.code = (
                ui.input("Authenticator code (or recovery code)")
                .classes("w-full")
                .props("data-testid=mfa-code autocomplete=one-time-code")
            )
            self.code.set_visibility(False)
            self.error = ui.label().classes("text-negative").props("data-testid=login-error")
            self.password.on("keydown.enter", self.submit)
            self.code.on("keydown.enter", self.submit)
            ui.button("Log in", on_click=self.submit).classes("w-full").props("data-testid=login")

    async def submit(self) -> None:
        if self.pending:
            await self.second_step()
            return
        if not self.username.value or not self.password.value:
            self.error.set_text("Enter your username and password.")
            return
        problem = await log_in(self.username.value, self.password.value, self.address)
        self.password.set_value("")
        if isinstance(problem, MfaPending):
            self.ask_code(problem)
        elif problem is not None:
            self.error.set_text(problem)
        else:
            ui.navigate.to(self.target)

    def ask_code(self, pending: MfaPending) -> None:
        """The second step: the code field instead of the password."""
        self.pending.append(pending)
        self.username.set_enabled(False)
        self.password.set_visibility(False)
        self.code.set_visibility(True)
        self.error.set_text("")
        self.code.run_method("focus")

    async def second_step(self) -> None:
        if not self.code.value:
            self.error.set_text("Enter the code of your authenticator app.")
            return
        problem = await complete_mfa(self.pending[0].mfa_token, self.code.value, self.address)
        self.code.set_value("")
        if problem is not None:
            self.error.set_text(problem)
            return
        ui.navigate.to(self.target)
