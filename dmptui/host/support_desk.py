"""The support desk's agents, managed on the host's machine (``dmptui host support add``, ``list``,
``remove``): a name, and a credential printed once (only its digest is stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dmptui.host import auth
from dmptui.host.db import SupportAgent
from dmptui.schema import check_line

MAX_NAME = 200


class BadName(ValueError):
    """An agent's name the patient could not read in their trace (FR / EN)."""


def checked_name(raw: str) -> str:
    name = raw.strip()
    if not name or len(name) > MAX_NAME:
        raise BadName(
            f"le nom est obligatoire, {MAX_NAME} caractères au plus / the name is required, "
            f"{MAX_NAME} characters at most"
        )
    try:
        return check_line(name)
    except ValueError as e:
        raise BadName(f"nom refusé / name refused: {e}") from None


def add(s: Session, name: str, now: datetime) -> tuple[SupportAgent, str]:
    """A new agent and their credential (``sup-…``), which exists only in this answer."""
    credential = "sup-" + auth.new_token()
    agent = SupportAgent(
        name=checked_name(name), credential_hash=auth.digest(credential), created_at=now
    )
    s.add(agent)
    s.flush()
    return agent, credential


def agents(s: Session) -> list[SupportAgent]:
    return list(s.scalars(select(SupportAgent).order_by(SupportAgent.id)))


def remove(s: Session, agent_id: int) -> SupportAgent | None:
    """Remove an agent: their credential stops working at once. None if there is no such
    agent. Their past actions stay in the patients' traces, under their name."""
    agent = s.get(SupportAgent, agent_id)
    if agent is not None:
        s.delete(agent)
    return agent
