"""What went wrong, in the patient's language: what happened and what to do next.

Maps the client's typed errors (by their class's stable code) and the host's refusal reasons to
sentences. The same sentences serve the TUI and screen-reader mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dmptui.i18n import N_, _, format_time, ngettext

STALE_TEXT = N_(
    "This was changed elsewhere (in another session or on another device) since you loaded "
    "it, so nothing was changed here. It has been reloaded: check it, then try again."
)

BY_ERROR = {
    "stale": STALE_TEXT,
    "unreachable": N_(
        "The record host does not answer. Check your internet connection, then try again."
    ),
    "timeout": N_(
        "The record host is taking too long to answer. Nothing was changed "
        "unless this screen says so. Try again in a moment."
    ),
    "server_error": N_(
        "The record host had a problem and could not do this. Nothing was "
        "changed. Try again in a few minutes."
    ),
    "invalid_response": N_(
        "The record host sent an answer this app cannot read. Nothing was "
        "changed. Try again later, or contact support."
    ),
    "not_json": N_(
        "The record host sent a web page instead of your data: it may be under maintenance, or "
        "a network login page (hotel or station Wi-Fi) may be in the way. Nothing was changed. "
        "Check your connection, then try again."
    ),
    "cursor_loop": N_(
        "The record host sent a page of this list that was already shown, so loading stopped "
        "there. What is shown is kept. Try again later, or contact support."
    ),
    "session_expired": N_("Your session has ended. Log in again to continue where you were."),
    "step_up_required": N_("This action needs a fresh one-time code. Type the code to confirm."),
    "not_found": N_("This item no longer exists. The list has been refreshed."),
    "invalid_credentials": N_("The INS or the password is wrong. Check both and try again."),
    "invalid_code": N_("This code is wrong, expired or already used. Type a new code."),
    "challenge_expired": N_(
        "This login attempt has expired. Start again with your INS and password."
    ),
    "too_many_codes": N_("Too many codes were sent. Wait a few minutes, then start again."),
    "activation_required": N_(
        "Your record is not activated yet. Type the activation code of the letter you received."
    ),
    "invalid_activation_code": N_(
        "This activation code is wrong, expired or already used. Check the letter and type it "
        "again; if it is older than 30 days, ask your pharmacist or the support desk for a new "
        "one."
    ),
    "already_activated": N_(
        "Your record is already activated: type a code of your authenticator app. If you lost "
        "it, contact the support desk."
    ),
    "locked": N_(
        "Too many failed attempts: logging in from this device is paused until {time} "
        "({minutes} min). Try again then; each further wrong try pauses it longer. If these "
        "attempts were not yours, a device you have logged in with before is not paused by them."
    ),
    "account_erased": N_(
        "This record was erased, and its account with it: you can no longer log in, and "
        "nothing that was in it can be recovered. To open a new record, contact your health "
        "insurance fund (Assurance Maladie)."
    ),
    "flow_expired": N_(
        "This attempt has expired or had too many wrong codes. Start again with your INS."
    ),
    "recovery_limited": N_(
        "Too many attempts to recover this account. Try again in {minutes} minutes."
    ),
}

# A wrong password or code, from the third failure in a row (docs/rules.md "Logging in").
LOCKED_STEP_UP = N_(
    "Too many wrong codes: confirming with a code is paused until {time} ({minutes} min). "
    "You are still logged in; try again then."
)
PAUSE_STARTED = N_(
    "That was the last try: logging in is paused until {time} ({minutes} min). Each further "
    "wrong try after it pauses it longer."
)
PAUSE_STARTED_STEP_UP = N_(
    "That was the last try: confirming with a code is paused until {time} ({minutes} min). "
    "You are still logged in."
)

BY_REASON = {
    "idle": N_(
        "Your session ended after 15 minutes without activity, to protect your record. "
        "Log in again to continue."
    ),
    "refresh_reused": N_(
        "Your session was ended for your safety: one of its keys was used twice, perhaps by "
        "someone else. Log in again; if you did not expect this, change your password."
    ),
    "record_closed": N_("Your record is closed. Reopen it on screen 6 — My record to use it."),
    "record_erased": N_("This record has been erased."),
    "attending_cannot_be_blocked": N_(
        "Your médecin traitant cannot be blocked. Choose another médecin traitant first."
    ),
    "attending_must_be_doctor": N_("Only a doctor (médecin) can be your médecin traitant."),
    "profession_never_has_access": N_(
        "Occupational doctors and insurers' doctors can never access a record."
    ),
    "blocked": N_("This practitioner is blocked. Unblock them first."),
    "record_not_closed": N_("Your record is already open."),
    "factors_missing": N_("Confirm the codes sent to you first, then choose a new password."),
    "step_up_required": N_("This action needs a fresh one-time code. Type the code to confirm."),
    "bad_password": N_("Your current password is wrong. Type it again."),
    "password_too_short": N_(
        "The new password is too short: use at least 12 characters (a few words together are "
        "easy to remember)."
    ),
    "password_too_common": N_(
        "The new password is too common or too simple: anyone could guess it. Choose another "
        "one, a few unrelated words for example."
    ),
    "password_from_ins": N_(
        "The new password is built from your INS: choose one that has nothing to do with it."
    ),
    "password_unchanged": N_(
        "The new password is the same as your current one: choose a different one."
    ),
    "no_such_session": N_("That session had already ended. The list has been refreshed."),
    "no_such_device": N_("That device was already forgotten. The list has been refreshed."),
}

BY_FIELD = {
    "ins": N_(
        "The INS has 15 characters: 13 digits (2A or 2B for Corsica) and a 2-digit key. "
        "Check it on your carte Vitale."
    ),
    "code": N_("The code has 6 digits. Type it again."),
    "activation_code": N_(
        "The activation code has 12 letters and digits, as on the letter (ABCD-EFGH-JKLM). "
        "Type it again."
    ),
    "password": N_("Type your password."),
    "text": N_("The text contains characters that cannot be saved. Remove them and save again."),
    "cursor": N_(
        "The list could not go on from where it stopped. Open it again from its first page."
    ),
}


def error_kind(error: BaseException) -> str | None:
    """What kind of failure this is: the stable ``code`` of the client's error class
    (``dmptui.client.HostError`` and its subclasses), or None for anything else (a bug). An
    error's own ``code`` may be the host's more precise word ("unauthenticated" for a
    ``SessionExpired``): the class's is the one to dispatch on."""
    code = getattr(type(error), "code", None)
    return code if isinstance(code, str) else None


def _pause(error: Exception) -> dict[str, str]:
    """Until when a pause runs (Paris time) and for how many minutes, from ``retry_after``."""
    seconds = getattr(error, "retry_after", None) or 60
    until = datetime.now(UTC) + timedelta(seconds=seconds)
    return {"time": format_time(until), "minutes": str(max(1, (seconds + 59) // 60))}


def _tries(error: Exception, text: str) -> str:
    """A wrong password or code, and what it leaves: tries before a pause, or the pause."""
    left = getattr(error, "tries_left", None)
    # A wrong current password (changing it) counts on the step-up's counter too.
    step_up = getattr(error, "reason", None) in ("step_up", "bad_password")
    if left is None:
        return text
    if left > 0:
        more = ngettext(
            "{n} try left before a pause.", "{n} tries left before a pause.", left
        ).format(n=left)
    else:
        more = _(PAUSE_STARTED_STEP_UP if step_up else PAUSE_STARTED).format(**_pause(error))
    return f"{text} {more}"


def explain(error: Exception) -> str:
    kind = error_kind(error)
    reason = getattr(error, "reason", None)
    field = getattr(error, "field", None)
    if kind == "locked":
        words = LOCKED_STEP_UP if reason == "step_up" else BY_ERROR["locked"]
        return _(words).format(**_pause(error))
    if kind in ("invalid_credentials", "invalid_code"):
        said = BY_REASON.get(reason or "") if reason == "bad_password" else None
        return _tries(error, _(said or BY_ERROR[kind]))
    if reason and reason in BY_REASON:
        return _(BY_REASON[reason])
    if kind == "recovery_limited":
        seconds = getattr(error, "retry_after", None) or 900
        return _(BY_ERROR[kind]).format(minutes=max(1, (seconds + 59) // 60))
    if kind in BY_ERROR:
        return _(BY_ERROR[kind])
    if kind == "invalid_input" and field in BY_FIELD:
        return _(BY_FIELD[field])
    if kind == "invalid_input":
        return _("The field “{field}” is not valid. Correct it and try again.").format(
            field=field or "?"
        )
    if kind == "forbidden":
        return _("The record host refused this ({reason}). Nothing was changed.").format(
            reason=reason or "?"
        )
    return _("Something went wrong ({name}). Nothing was changed. Try again.").format(
        name=type(error).__name__
    )


def app_failure(error: BaseException) -> str:
    """A failure of the app itself (a file, an answer it cannot read): never a traceback."""
    return _(
        "Something went wrong in the app ({name}). Nothing was "
        "changed. Try again; if it happens again, contact support."
    ).format(name=type(error).__name__)
