"""The one sanitiser for every line a person reads on a terminal.

Principal, policy and file names come from the account or from files anyone may have written, so
they can carry terminal control sequences: ESC (cursor moves, colour, window titles), BEL, a
carriage return that overprints a line, or Unicode bidi overrides (U+202E) that make a name read
backwards. `clean` replaces each such character with `?`, keeping line breaks (and tabs) when
asked, so a crafted name cannot rewrite what the terminal shows. Every human-facing line goes
through it: the scan text report, `plan` and `explain` text, error messages (`cli.py`) and
warnings.

What counts as unsafe: every character Python does not call printable, i.e. the Unicode
categories Cc (control: ESC, BEL, CR, DEL, C1), Cf (format: bidi embeddings, overrides and
isolates, zero-width joiners), Cs (lone surrogates), Co (private use), Cn (unassigned), and the
line/paragraph separators Zl/Zp; the plain space stays.
"""

from __future__ import annotations


def clean(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every non-printable character replaced by `?` (newlines and tabs kept on request)."""
    if text.isprintable():
        return text
    keep = "\n\t" if keep_newlines else ""
    return "".join(c if c.isprintable() or c in keep else "?" for c in text)
