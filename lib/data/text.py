"""Small deterministic text clean-ups shared by the readers and templates (whitespace, PTB spacing, word caps)."""
from __future__ import annotations

import re

_PTB_BRACKET = re.compile(r"-(lrb|rrb|lsb|rsb)-", re.IGNORECASE)
_PTB_BRACKET_CHARS = {"lrb": "(", "rrb": ")", "lsb": "[", "rsb": "]"}
_PTB_CONTRACTION = re.compile(r" (n't|'s|'re|'ve|'m|'ll|'d)\b", re.IGNORECASE)  # "it 's" -> "it's", "do n't" -> "don't"
_PTB_PUNCT = re.compile(r" ([.,;:!?%])")  # "word ." -> "word."
_PTB_OPEN = re.compile(r"([(\[]) ")
_PTB_CLOSE = re.compile(r" ([)\]])")
_PTB_QUOTES = ((re.compile(r"`` ?"), '"'), (re.compile(r" ?''"), '"'))


def squash(text: str) -> str:
    """Collapse runs of whitespace to one space and strip the ends."""
    return " ".join(text.split())


def detokenize_ptb(text: str) -> str:
    """Undo the Penn-Treebank spacing of SST-2 / CNN-DM references lightly, deterministically ("it 's ." -> "it's.")."""
    out = squash(text)
    if "-" in out:
        out = _PTB_BRACKET.sub(lambda m: _PTB_BRACKET_CHARS[m.group(1).lower()], out)
    out = _PTB_PUNCT.sub(r"\1", _PTB_CONTRACTION.sub(r"\1", out))
    if "(" in out or "[" in out:
        out = _PTB_OPEN.sub(r"\1", out)
    if ")" in out or "]" in out:
        out = _PTB_CLOSE.sub(r"\1", out)
    if "`" in out or "''" in out:
        for pattern, repl in _PTB_QUOTES:
            out = pattern.sub(repl, out)
    return out.strip()


def truncate_words(text: str, max_words: int | None, marker: str = " ...") -> str:
    """The first `max_words` words of `text` plus `marker` when cut (all of it when None), so CPU prompts stay short."""
    if max_words is None:
        return text
    words = text.split()
    if len(words) <= max_words:
        return " ".join(words)
    return " ".join(words[:max_words]) + marker


def source_key(*parts: str) -> str:
    """A normalised key of an example's source text, used to keep pool/test/unseen disjoint by content."""
    return " ".join(squash(p).lower() for p in parts)
