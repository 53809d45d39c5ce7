"""The TUI's colour themes, and the contrast check every one of them passes.

Only these themes are offered (Textual's own are not): each one's text colours reach 4.5:1
against the backgrounds they are drawn on (WCAG 2.2 AA, 1.4.3) and its focus indicators 3:1
(1.4.11). ``problems(theme)`` lists every pair that falls short; the tests require none.

Colour never carries meaning alone: states are words ("Error:", "hidden"), and the focused
widget has a heavy border with "> here" written in it. ``NO_COLOR`` is honoured by Textual
itself: it turns every colour to grey of the same lightness, so contrasts stay as they are.

Pick one with ``DMPTUI_THEME`` (``dark``, ``light``, ``high-contrast``), the config file's
``theme``, or Ctrl+T while the app runs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from textual.color import Color
from textual.theme import Theme

from dmptui.i18n import N_

DARK = Theme(
    name="dmptui-dark",
    primary="#1A5F9E",
    secondary="#7FA7D6",
    accent="#FFC857",
    warning="#F0A030",
    error="#E05A5A",
    success="#3FAF6A",
    foreground="#EDEDED",
    background="#121212",
    surface="#1B1B1B",
    panel="#26313B",
    dark=True,
    variables={
        "border": "#FFC857",  # the focus border: amber, 11:1 on the background
        "border-blurred": "#5A5A5A",
        "text-disabled": "auto 70%",  # placeholders are read too
        "text-muted": "auto 75%",
        "text-primary": "#9CC8EE",
        "foreground-muted": "#EDEDEDC0",
        "block-cursor-background": "#FFC857",
        "block-cursor-foreground": "#000000",
        "block-cursor-text-style": "bold",
        "block-cursor-blurred-background": "#3A4A5A",
        "block-cursor-blurred-foreground": "#FFFFFF",
        "input-cursor-background": "#FFC857",
        "input-cursor-foreground": "#000000",
        "input-selection-background": "#1F6FB2",
        "input-selection-foreground": "#FFFFFF",
        "footer-key-foreground": "#FFC857",
        "footer-background": "#26313B",
        "button-focus-text-style": "bold reverse",
        "scrollbar": "#5A6A7A",
    },
)

LIGHT = Theme(
    name="dmptui-light",
    primary="#0B5394",
    secondary="#2F5A85",
    accent="#7A3E00",
    warning="#8A5A00",
    error="#B00020",
    success="#1B6E33",
    foreground="#111111",
    background="#FFFFFF",
    surface="#F7F7F7",
    panel="#E6ECF2",
    dark=False,
    variables={
        "border": "#0B5394",
        "border-blurred": "#8A8A8A",
        "text-disabled": "auto 70%",
        "text-muted": "auto 75%",
        "foreground-muted": "#111111C0",
        "block-cursor-background": "#0B5394",
        "block-cursor-foreground": "#FFFFFF",
        "block-cursor-text-style": "bold",
        "block-cursor-blurred-background": "#C9D6E3",
        "block-cursor-blurred-foreground": "#000000",
        "input-cursor-background": "#111111",
        "input-cursor-foreground": "#FFFFFF",
        "input-selection-background": "#0B5394",
        "input-selection-foreground": "#FFFFFF",
        "footer-key-foreground": "#7A3E00",
        "footer-background": "#E6ECF2",
        "button-focus-text-style": "bold reverse",
        "scrollbar": "#6A7A8A",
    },
)

HIGH_CONTRAST = Theme(
    name="dmptui-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#FFFF00",
    warning="#FFB000",
    error="#FF6060",
    success="#00E000",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#000000",
    dark=True,
    luminosity_spread=0.0,
    text_alpha=1.0,
    variables={
        "border": "#FFFF00",
        "border-blurred": "#FFFFFF",
        "text": "auto 100%",
        "text-muted": "auto 100%",
        "text-disabled": "auto 85%",
        "foreground-muted": "#FFFFFF",
        "text-primary": "#FFFF00",
        "text-secondary": "#00FFFF",
        "text-accent": "#FFFF00",
        "text-warning": "#FFB000",
        "text-error": "#FF8080",
        "text-success": "#00E000",
        "block-cursor-background": "#FFFF00",
        "block-cursor-foreground": "#000000",
        "block-cursor-text-style": "bold",
        "block-cursor-blurred-background": "#FFFFFF",
        "block-cursor-blurred-foreground": "#000000",
        "block-hover-background": "#000000",
        "input-cursor-background": "#FFFFFF",
        "input-cursor-foreground": "#000000",
        "input-selection-background": "#00FFFF",
        "input-selection-foreground": "#000000",
        "footer-foreground": "#FFFFFF",
        "footer-background": "#000000",
        "footer-key-foreground": "#FFFF00",
        "footer-description-foreground": "#FFFFFF",
        "button-foreground": "#FFFFFF",
        "button-color-foreground": "#000000",
        "button-focus-text-style": "bold reverse",
        "scrollbar": "#FFFFFF",
        "scrollbar-background": "#000000",
    },
)

THEMES: dict[str, Theme] = {t.name: t for t in (DARK, LIGHT, HIGH_CONTRAST)}
DEFAULT = DARK.name
# What a person types (DMPTUI_THEME, the config file) -> the theme's name.
ALIASES = {
    "dark": DARK.name,
    "light": LIGHT.name,
    "high-contrast": HIGH_CONTRAST.name,
    "contrast": HIGH_CONTRAST.name,
}
# The theme's name in words, for the message said when it changes.
WORDS = {
    DARK.name: N_("dark"),
    LIGHT.name: N_("light"),
    HIGH_CONTRAST.name: N_("high contrast"),
}


def choose(wanted: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The theme to start with: ``DMPTUI_THEME``, else ``wanted`` (the config file's), else the
    default (``dmptui.settings``: the environment wins over the file). An unknown name here is
    ignored (the default is used): ``dmptui`` has refused it before, naming where it came from."""
    from dmptui import settings

    try:
        word, _source = settings.value("theme", env, file={"theme": wanted} if wanted else None)
    except settings.SettingsError:
        return DEFAULT
    return ALIASES.get(word, DEFAULT) if word else DEFAULT


def following(name: str) -> str:
    """The theme after ``name``, in the order Ctrl+T goes through them."""
    names = list(THEMES)
    return names[(names.index(name) + 1) % len(names)] if name in names else DEFAULT


# --- contrast (WCAG 2.2) ------------------------------------------------------------------------

TEXT = 4.5  # 1.4.3 Contrast (minimum), normal text
FOCUS = 3.0  # 1.4.11 Non-text contrast, focus indicators


def luminance(color: Color) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)


def contrast(a: Color, b: Color) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def resolve(value: str, under: Color) -> Color:
    """A theme value as it shows over ``under``: "auto N%" is the contrasting text Textual
    picks, a colour with alpha is blended over ``under``."""
    value = value.strip()
    if value.startswith("auto"):
        rest = value[4:].strip().rstrip("%")
        alpha = float(rest) / 100 if rest else 1.0
        return under + under.get_contrast_text(alpha)
    if value in ("transparent", "initial", ""):
        return under
    return under + Color.parse(value)


@dataclass(frozen=True)
class Pair:
    what: str
    fg: str  # a variable name, or "name over percent" for a tint (see _over)
    bg: str
    minimum: float


# Text drawn on the plain backgrounds.
_TEXTS = (
    "foreground",
    "text",
    "text-muted",
    "text-disabled",
    "foreground-muted",
    "text-primary",
    "text-secondary",
    "text-accent",
    "text-warning",
    "text-error",
    "text-success",
    "button-foreground",
)
_GROUNDS = ("background", "surface", "panel")


def pairs() -> Iterator[Pair]:
    """Every text/background and focus/background pair the app draws."""
    for fg in _TEXTS:
        for bg in _GROUNDS:
            yield Pair(f"{fg} on {bg}", fg, bg, TEXT)
    yield from (
        Pair("a focused row", "block-cursor-foreground", "block-cursor-background", TEXT),
        Pair(
            "the row under the cursor of a list without focus",
            "block-cursor-blurred-foreground",
            "block-cursor-blurred-background",
            TEXT,
        ),
        Pair(
            "the letter under an input's cursor",
            "input-cursor-foreground",
            "input-cursor-background",
            TEXT,
        ),
        Pair("selected text", "input-selection-foreground", "input-selection-background", TEXT),
        Pair("footer keys", "footer-key-foreground", "footer-background", TEXT),
        Pair("footer words", "footer-description-foreground", "footer-background", TEXT),
        Pair("footer text", "footer-foreground", "footer-background", TEXT),
        Pair("the screen-id row", "text", "primary", TEXT),
        Pair("a primary button", "button-color-foreground", "primary", TEXT),
        Pair("a red button", "button-color-foreground", "error", TEXT),
        Pair("an error status line", "foreground", "error 30%", TEXT),
        Pair("a warning status line", "foreground", "warning 30%", TEXT),
        Pair("a done status line", "foreground", "success 20%", TEXT),
        Pair("a table's header", "foreground", "panel", TEXT),
        Pair("a table's even rows", "foreground", "surface-lighten-1 50%", TEXT),
        Pair("a hovered row", "foreground", "block-hover-background", TEXT),
        Pair("the focus border on the background", "border", "background", FOCUS),
        Pair("the focus border on a surface", "border", "surface", FOCUS),
        Pair("the focus border on a panel", "border", "panel", FOCUS),
        Pair("the focused row among rows", "block-cursor-background", "surface", FOCUS),
        Pair(
            "the focused row among even rows",
            "block-cursor-background",
            "surface-lighten-1 50%",
            FOCUS,
        ),
        Pair("an input's cursor", "input-cursor-background", "surface", FOCUS),
    )


def _over(variables: Mapping[str, str], spec: str, under: Color) -> Color:
    """``spec`` is a variable name, optionally followed by a percentage ("error 30%")."""
    name, _sep, percent = spec.partition(" ")
    color = resolve(variables[name], under)
    if percent:
        color = under.blend(color, float(percent.rstrip("%")) / 100)
    return color


def colours(theme: Theme) -> dict[str, str]:
    """The CSS variables of ``theme``, as ``App.get_css_variables`` builds them: the colour
    system's ``generate()``, then the theme's own variables on top."""
    return {**theme.to_color_system().generate(), **theme.variables}


def measure(theme: Theme) -> list[tuple[Pair, float]]:
    """Each pair and its contrast ratio in ``theme``."""
    variables = colours(theme)
    screen = Color.parse(variables["background"])
    out = []
    for pair in pairs():
        bg = _over(variables, pair.bg, screen)
        fg = _over(variables, pair.fg, bg)
        out.append((pair, contrast(fg, bg)))
    return out


def problems(theme: Theme) -> list[str]:
    """The pairs of ``theme`` that fall short, in words (none for a theme the app offers)."""
    return [
        f"{theme.name}: {pair.what} ({pair.fg} on {pair.bg}) is {ratio:.2f}:1, "
        f"needs {pair.minimum}:1"
        for pair, ratio in measure(theme)
        if ratio < pair.minimum
    ]
