"""Screen-reader mode: the patient app as plain lines of text, for screen readers (Orca, NVDA,
VoiceOver, Speakup, Fenrir) and braille displays (BRLTTY).

Output is only appended: one line at a time, each labelled when the state changes (``Screen:``,
``Done:``, ``Error:``, ``Warning:``), never a control sequence, never a glyph a speech
synthesiser reads as a symbol name. Menus are numbered; a number and Enter chooses. It drives the
same catalogue of screens and actions (``dmptui.catalogue``) and the same client as the TUI, and
imports neither Textual nor ``screens/``.

- ``detect``: whether the mode is on, and why (cheap: no heavy import).
- ``text``: data made visible (control characters), glyphs made speakable.
- ``io``: the one way out (``Console.emit``) and the one way in (``ask``, ``ask_secret``).
- ``words``: what the record's data says, in sentences.
- ``screens``: one function per screen and per catalogue action (``HANDLERS``).
- ``app``: the loop: one client, login, navigation, explained errors.
"""
