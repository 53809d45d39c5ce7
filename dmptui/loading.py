"""What both front ends say about their own progress: the labels of what just happened, the
words while a screen's data loads and once it is loaded; the same words in the TUI and
screen-reader mode. Light on purpose (no schema, no pydantic): the login screen imports it
before it is painted."""

from __future__ import annotations

from dmptui.i18n import N_, _

# The label before a line that says what happened ("Done: …").
KIND_LABELS = {
    "done": N_("Done:"),
    "error": N_("Error:"),
    "warning": N_("Warning:"),
}

LOADING_RECORD = N_("Loading your record…")
RECORD_UP_TO_DATE = N_("Your record is up to date.")
LOADING_DOCUMENTS = N_("Loading your documents…")
LOADING_MORE_DOCUMENTS = N_("Loading more documents…")
LOADING_PRACTITIONERS = N_("Loading your practitioners…")
PRACTITIONERS_UP_TO_DATE = N_("Your practitioners are up to date.")
LOADING_TRACE = N_("Loading the access trace…")
LOADING_OLDER_TRACE = N_("Loading older entries…")
LOADING_EMERGENCY = N_("Loading your emergency access choices…")
LOADING_NOTES = N_("Loading your notes…")
LOADING_NOTIFICATIONS = N_("Loading your notifications…")


def opening(title: str) -> str:
    """While a document's content loads."""
    return _('Opening "{title}"…').format(title=title)
