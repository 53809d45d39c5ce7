"""Screen 2 of screen-reader mode: documents (the list, search, filter, sort), and one
document opened (read, mask, unmask, delete, save)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from dmptui import loading
from dmptui import words as w
from dmptui.actions import documents as actions
from dmptui.actions.base import nothing_changed
from dmptui.data_text import data_lines
from dmptui.explain import error_kind
from dmptui.i18n import _, format_number, joined, ngettext
from dmptui.reader.flow import Abort, Failed
from dmptui.reader.menus import (
    DOCUMENT_MENU,
    HANDLERS,
    Entry,
    Pager,
    attempt,
    choose_from,
    handles,
    numbered,
    pick_number,
    show_menu,
)
from dmptui.reader.perform import perform
from dmptui.state import RECORD

if TYPE_CHECKING:
    from dmptui.reader.app import Reader

# --- screen 2: documents ---------------------------------------------------------------------


@dataclass
class Documents:
    pager: Pager
    total: int | None = None  # known when the list is whole or unfiltered
    type: str | None = None
    query: str = ""
    sort: str = ""  # "" is the host's order: newest first
    renumbered: bool = False  # a document left the page: read the page again, not its heading


async def documents(r: Reader) -> None:
    r.enter("documents")

    async def fetch(cursor: str | None, limit: int) -> Any:
        return await r.client.documents(limit=limit, cursor=cursor, type=st.type, q=st.query)

    st = Documents(Pager(r, fetch, _(loading.LOADING_MORE_DOCUMENTS)))
    await load_documents(r, st)
    show_documents(r, st)
    while True:
        answer = await r.ask_choice()
        if answer == "":
            show_documents(r, st)
        elif answer in ("n", "p"):
            if await st.pager.turn(answer):
                show_documents(r, st)
        elif answer.isdigit():
            index = await st.pager.index(answer)
            if index is not None:
                await attempt(HANDLERS["documents.open"](r, st, index))
                show_documents(r, st, brief=not st.renumbered)
                st.renumbered = False
        elif answer in ("s", "/"):
            await attempt(HANDLERS["documents.search"](r, st))
        elif answer == "t":
            await attempt(HANDLERS["documents.filter"](r, st))
        elif answer == "o":
            await attempt(HANDLERS["documents.sort"](r, st))
        else:
            r.wrong_choice(
                answer, _("Type a document's number, n, p, s (search), t (type) or o (sort).")
            )


async def load_documents(r: Reader, st: Documents) -> None:
    async def total() -> int | None:
        await r.state.refresh(r.client, frozenset({RECORD}))
        record = r.state.record
        return None if record is None else record.counts.get("documents")

    await st.pager.load(_(loading.LOADING_DOCUMENTS))
    st.total = len(st.pager.items) if st.pager.complete else None
    if st.total is None and not (st.type or st.query):
        st.total = await r.call(_("Counting your documents…"), total)
    st.sort = ""
    n = st.total
    if n is None:
        r.say(
            "done",
            ngettext(
                "the first {n} document is loaded; more load as you turn the pages.",
                "the first {n} documents are loaded; more load as you turn the pages.",
                len(st.pager.items),
            ).format(n=format_number(len(st.pager.items))),
        )
    elif n == 0:
        r.say(
            "done",
            _("no document matches. s: search again, t: another type.")
            if st.type or st.query
            else _("your record has no documents."),
        )
    # n documents: the page's heading says how many ("Documents 1 to 10 of 43"), and the view.


def view_words(st: Documents) -> str:
    """Which documents the list holds, and in which order: what is not the default ("" when
    it is every document, newest first)."""
    parts = []
    if st.type:
        parts.append(_("type: {kind}").format(kind=w.type_label(st.type)))
    if st.query:
        parts.append(_("search: {search}").format(search=st.query))
    if st.sort:
        parts.append(_("order: {order}").format(order=_(w.SORT_WORDS[st.sort])))
    return _("Showing: {view}.").format(view=joined(parts)) if parts else ""


def show_documents(r: Reader, st: Documents, brief: bool = False) -> None:
    """The page: a heading with the keys, then one sentence per document (``brief``: the
    heading only, when coming back from a document)."""
    pager = st.pager
    if not pager.items:
        r.say("info", _("s: search, t: filter by type."))
        return
    first, last = pager.span()
    if st.total is not None and st.total <= pager.size:  # one page: no pages to turn
        head = ngettext(
            "{n} document, date of care. A number: open.",
            "{n} documents, dates of care. A number: open.",
            st.total,
        ).format(n=format_number(st.total))
    elif st.total is not None:
        head = _("Documents {first} to {last} of {total}, dates of care.").format(
            first=first, last=last, total=format_number(st.total)
        )
        head += " " + _("n: next, p: previous, a number: open.")
    else:
        head = _("Documents {first} to {last}, and more after these.").format(
            first=first, last=last
        )
        head += " " + _("n: next, p: previous, a number: open.")
    view = view_words(st)
    r.say("info", f"{view} {head}" if view else head)
    if brief:
        r.say("info", _("Enter alone reads this page again."))
        return
    for i in pager.shown():
        r.say("item", w.spoken_document(i + 1, pager.items[i]))
    r.say("info", _("Also: s: search in titles, t: type, o: sort."))


@handles("documents.search")
async def search_documents(r: Reader, st: Documents) -> None:
    words = (
        await r.ask(_("Words of the title to search (Enter alone shows every document):"))
    ).strip()
    st.query = " ".join(words.split())
    await load_documents(r, st)
    show_documents(r, st)


@handles("documents.filter")
async def filter_documents(r: Reader, st: Documents) -> None:
    entries = [Entry("1", _(w.ALL_TYPES))] + [
        Entry(str(i + 2), w.type_label(code)) for i, code in enumerate(w.TYPES)
    ]
    show_menu(r, _("Which type of document? 0: cancel."), entries)
    answer = await choose_from(r, entries)
    if answer is None:
        r.say("info", nothing_changed())
        return
    st.type = None if answer == "1" else w.TYPES[int(answer) - 2]
    await load_documents(r, st)
    show_documents(r, st)


@handles("documents.sort")
async def sort_documents(r: Reader, st: Documents) -> None:
    entries = [Entry(str(i + 1), _(w.SORT_WORDS[key])) for i, key in enumerate(w.SORTS)]
    show_menu(r, _("Sort by what? 0: cancel."), entries)
    answer = await choose_from(r, entries)
    if answer is None:
        r.say("info", nothing_changed())
        return
    await st.pager.everything()
    st.sort = w.SORTS[int(answer) - 1]
    st.pager.items.sort(key=w.sort_key(st.sort))
    st.pager.start = 0
    r.say(
        "done",
        _("sorted by {sort}, here on this device.").format(sort=_(w.SORT_WORDS[st.sort])),
    )
    show_documents(r, st)


@dataclass
class DocumentView:
    st: Documents
    index: int
    deleted: bool = False

    @property
    def doc(self) -> Any:
        return self.st.pager.items[self.index]

    def replace(self, new: Any) -> None:
        self.st.pager.items[self.index] = new


@handles("documents.open")
async def open_document(r: Reader, st: Documents, index: int) -> None:
    """Read one document: its details as "Label: value" lines, then its text; then what to do
    with it. Back (0) returns to the list."""
    view = DocumentView(st, index)
    doc = view.doc
    r.say("info", _("Document {n}: {title}").format(n=index + 1, title=doc.title))
    for line in w.spoken_details(doc, r.when):
        r.say("info", line)  # split at its labels on a braille line
    try:
        data, content_type = await r.call(  # its title was just said
            _("Opening the document…"), lambda: r.client.content(doc.id)
        )
    except Failed as failed:
        await gone(r, st, failed)
        return
    if w.is_pdf(content_type or doc.content_type):
        r.say(
            "info",
            _(
                "This document is a PDF ({size}). Screen-reader mode cannot read a PDF: "
                "choose “Save to a file”, then open the file with your PDF reader."
            ).format(size=w.size_words(len(data))),
        )
    elif not w.is_text(content_type or doc.content_type):  # an image, DICOM: saved, not read
        r.say(
            "info",
            _(
                "This document is {kind} ({size}). Screen-reader mode cannot read it: choose "
                "“Save to a file”, then open the file with a program made for it."
            ).format(
                kind=w.file_kind(content_type or doc.content_type), size=w.size_words(len(data))
            ),
        )
    else:
        r.say("info", _("The text of the document:"))
        for line in data_lines(w.text_of(data, content_type or doc.content_type)):
            r.say("text", line)
        r.say("info", _("End of the document."))
    while not view.deleted:
        shown = [
            a
            for a in DOCUMENT_MENU
            if not (a == "documents.mask" and w.is_masked(view.doc))
            and not (a == "documents.unmask" and not w.is_masked(view.doc))
        ]
        entries = numbered(DOCUMENT_MENU, shown)
        show_menu(r, _("What now?"), [*entries, Entry("0", _("back"))])
        answer = await choose_from(r, entries, why=partial(not_offered, r, view.doc))
        if answer is None:
            return
        action = pick_number(answer, DOCUMENT_MENU, shown)
        assert action is not None
        try:
            await HANDLERS[action](r, view)
        except Failed as failed:
            if error_kind(failed.error) == "not_found":
                await gone(r, st, failed)
                return
        except Abort:
            pass


async def gone(r: Reader, st: Documents, failed: Failed) -> None:
    """The document no longer exists (deleted elsewhere): the list is loaded again."""
    if error_kind(failed.error) != "not_found":
        raise Abort from None
    await load_documents(r, st)


def not_offered(r: Reader, doc: Any, answer: str) -> str | None:
    """Why hide or show again is not offered for this document (its plan's problem)."""
    makers = {"documents.mask": actions.mask, "documents.unmask": actions.unmask}
    action = pick_number(answer, DOCUMENT_MENU, list(makers))
    if action is None:
        return None
    problem = makers[action](r.state, doc).problem
    return problem.text if problem is not None else None


@handles("documents.mask")
async def mask(r: Reader, view: DocumentView) -> None:
    outcome = await perform(r, actions.mask(r.state, view.doc))
    if outcome is not None:
        view.replace(outcome.value)


@handles("documents.unmask")
async def unmask(r: Reader, view: DocumentView) -> None:
    outcome = await perform(r, actions.unmask(r.state, view.doc))
    if outcome is not None:
        view.replace(outcome.value)


@handles("documents.delete")
async def delete(r: Reader, view: DocumentView) -> None:
    if await perform(r, actions.delete(r.state, view.doc)) is None:
        return
    view.deleted = True
    st = view.st
    st.renumbered = True  # the numbers after it moved up: the page is read again, with its keys
    del st.pager.items[view.index]
    if st.total is not None:
        st.total -= 1
    if st.pager.start >= len(st.pager.items) and st.pager.start > 0:
        st.pager.start = max(0, st.pager.start - st.pager.size)


@handles("documents.save")
async def save(r: Reader, view: DocumentView) -> None:
    await perform(r, actions.save(r.state, view.doc))
