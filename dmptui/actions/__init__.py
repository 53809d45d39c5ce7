"""The patient's actions, each written once for both front ends (see ``base`` for what a plan
holds). One module per screen that acts: ``documents``, ``practitioners``, ``emergency``,
``record``, ``personal`` (notes and notifications)."""

from dmptui.actions.base import Ask, Choice, Outcome, Plan

__all__ = ["Ask", "Choice", "Outcome", "Plan"]
