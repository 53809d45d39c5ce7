"""The entry points: the ``dmptui`` command (``cli``), the embedded demo host (``demo``) and
``dmptui doctor`` (``doctor``). These are the only modules that import the front ends (``screens``,
``dmptui.reader``) and the host (``dmptui.host``); nothing imports them back (DESIGN.md's arrows,
held by tests/test_layers.py)."""
