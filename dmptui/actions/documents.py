"""Screen 2's actions on one document: hide it from practitioners, show it again, delete it, save
its content to a file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dmptui import catalogue
from dmptui.actions.base import Ask, Outcome, Plan, refused
from dmptui.i18n import _
from dmptui.state import DOCUMENTS, RECORD, RecordState
from dmptui.words import is_masked, save_content

if TYPE_CHECKING:
    from dmptui.client import Client


def mask(state: RecordState, doc: Any) -> Plan:
    if is_masked(doc):
        return refused(
            "documents.mask",
            _('"{title}" is already hidden from practitioners.').format(title=doc.title),
        )

    async def run(client: Client, _choice: str | None) -> Outcome:
        new = await client.mask(doc.id)
        state.document_changed()
        return Outcome(
            _('"{title}" is now hidden from practitioners.').format(title=new.title), value=new
        )

    return Plan(
        "documents.mask",
        waiting=_('Hiding "{title}"…').format(title=doc.title),
        run=run,
        changes=frozenset({DOCUMENTS}),
    )


def unmask(state: RecordState, doc: Any) -> Plan:
    if not is_masked(doc):
        return refused(
            "documents.unmask",
            _('"{title}" is not hidden: practitioners you authorised can see it.').format(
                title=doc.title
            ),
        )

    async def run(client: Client, _choice: str | None) -> Outcome:
        new = await client.unmask(doc.id)
        state.document_changed()
        return Outcome(
            _('"{title}" is now visible to practitioners again.').format(title=new.title),
            value=new,
        )

    return Plan(
        "documents.unmask",
        waiting=_('Showing "{title}" again…').format(title=doc.title),
        run=run,
        changes=frozenset({DOCUMENTS}),
    )


def delete(state: RecordState, doc: Any) -> Plan:
    action = catalogue.ACTION_BY_ID["documents.delete"]

    async def run(client: Client, _choice: str | None) -> Outcome:
        await client.delete_document(doc.id)
        state.document_deleted()
        return Outcome(_('"{title}" is deleted for everyone.').format(title=doc.title), value=doc)

    return Plan(
        "documents.delete",
        waiting=_('Deleting "{title}"…').format(title=doc.title),
        run=run,
        ask=Ask(
            title=_('Delete "{title}"?').format(title=doc.title),
            consequence=_(action.confirm or ""),
            confirm_label=_("Delete for everyone"),
            word=_("delete"),
        ),
        step_up=action.step_up,
        cancelled=_('Nothing was deleted: "{title}" is still in your record.').format(
            title=doc.title
        ),
        changes=frozenset({DOCUMENTS, RECORD}),
    )


def save(state: RecordState, doc: Any) -> Plan:
    async def run(client: Client, _choice: str | None) -> Outcome:
        data, content_type = await client.content(doc.id)
        saved = await save_content(doc, data, content_type or doc.content_type)
        if saved.path is None:
            return Outcome(saved.problem, "error")
        return Outcome(
            _('"{title}" is saved in {path}').format(title=doc.title, path=str(saved.path)),
            value=saved.path,
        )

    return Plan(
        "documents.save",
        waiting=_('Saving "{title}"…').format(title=doc.title),
        run=run,
        changes=frozenset({DOCUMENTS}),
    )
