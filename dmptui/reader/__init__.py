"""Screen-reader mode: the patient app as plain lines of text, for screen readers (Orca, NVDA,
VoiceOver, Speakup, Fenrir) and braille displays (BRLTTY).

Output is only appended: one line at a time, each labelled when the state changes (``Screen:``,
``Done:``, ``Error:``, ``Warning:``), never a control sequence, never a glyph a speech
synthesiser reads as a symbol name. Menus are numbered; a number and Enter chooses. It drives the
same catalogue of screens and actions (``dmptui.catalogue``) and the same client as the TUI, and
imports neither Textual nor ``screens/``. Data made visible and speakable is the core's
``dmptui.data_text``; what the record's data says, in sentences, is ``dmptui.words``.

- ``detect``: whether the mode is on, and why (cheap: no heavy import).
- ``io``: the one way out (``Console.emit``) and the one way in (``ask``, ``ask_secret``).
- ``menus``: what the screens share: the handlers' registry (``HANDLERS``), numbered menus, help,
  typed confirmations, lists read a page at a time.
- ``login``, ``home``, ``documents``, ``practitioners``, ``trace``, ``record``, ``notes``,
  ``notifications``: one module per screen, with the handlers of its catalogue actions.
- ``perform``: one runner for every action's plan (``dmptui.actions``): its problem, question,
  fresh code, call and outcome, said the same way for every action.
- ``screens``: the registry of screens (``SCREENS``), importing them all.
- ``app``: the loop: one client, one record state (``dmptui.state``) read by every screen,
  login, navigation, explained errors.
"""
