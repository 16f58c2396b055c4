"""Named Cypher statements from the project's `cypher/` folder.

Every statement the code sends lives in `cypher/NAME.cypher` (valid Neo4j 5
Cypher, checked by the lint). Where the embedded server needs a different
statement (constraints, indexes, vector calls) a variant sits beside it as
`cypher/NAME.falkordb.cypher`; `load_statement` picks it for that backend, so no
`if backend == ...` spreads through the code.

A file may hold several statements separated by `;` at the end of a line
(schema files do); `split_statements` splits them. Lines starting with `//` are
comments; a first comment block is shown as the statement's description.

A statement that must write a varying number of relationship types at once (one
transaction) marks a section with `// repeat` and `// end repeat` lines;
`repeat_section` writes it once per group of identifiers, numbering its `$NAME_N`
parameters.

Parameters are declared in that block as `$name` or `$name: type`; `int`, `float`,
`bool` and `string` are the types the command line converts `-p name=value` to
(`declared_types`). Every `$name` of the statement itself is a parameter it needs
(`statement_parameters`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

CYPHER_DIR = Path(
    os.environ.get("TAILGRAPH_CYPHER_DIR", Path(__file__).resolve().parents[1] / "cypher")
)

# Relationship types and labels are not parameters in Cypher. Import statements
# carry these placeholder identifiers (valid Cypher, so the lint parses them), and
# `fill_identifiers` swaps in names that passed `SAFE_IDENTIFIER`.
SAFE_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PLACEHOLDERS = ("__RELATION__", "__HEAD__", "__TAIL__")
PARAMETER_TYPES = ("int", "float", "bool", "string")
_DECLARED = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*):\s*(" + "|".join(PARAMETER_TYPES) + r")\b")
_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# String literals may hold a `$` that is no parameter ('costs $5').
_STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def statement_path(name_or_file: str, backend: str) -> Path:
    """Resolve a statement name (`most_popular_items`) or a path to a `.cypher` file."""
    candidate = Path(name_or_file)
    if candidate.suffix == ".cypher" and candidate.exists():
        return candidate
    variant = CYPHER_DIR / f"{name_or_file}.{backend}.cypher"
    if variant.exists():
        return variant
    plain = CYPHER_DIR / f"{name_or_file}.cypher"
    if plain.exists():
        return plain
    known = ", ".join(available_statements())
    raise FileNotFoundError(
        f"Cypher statement {name_or_file!r}: expected a name in {CYPHER_DIR} or a .cypher file; "
        f"found neither. Known names: {known}"
    )


def load_statement(name_or_file: str, backend: str) -> str:
    return statement_path(name_or_file, backend).read_text(encoding="utf-8")


def available_statements() -> list[str]:
    names = {p.name.split(".")[0] for p in CYPHER_DIR.glob("*.cypher")}
    return sorted(names)


def describe(name: str) -> str:
    """The leading `//` comment block of a statement file."""
    lines = []
    for line in (CYPHER_DIR / f"{name}.cypher").read_text(encoding="utf-8").splitlines():
        if not line.startswith("//"):
            break
        lines.append(line.removeprefix("//").strip())
    return " ".join(lines)


def _leading_comments(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        lines.append(line)
    return "\n".join(lines)


def declared_types(text: str) -> dict[str, str]:
    """`$name: type` declarations of a statement file's leading comment block."""
    return dict(_DECLARED.findall(_leading_comments(text)))


def statement_parameters(text: str) -> list[str]:
    """The `$name` parameters the statement(s) of a file use, in order of first use."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    return list(dict.fromkeys(_PARAMETER.findall(_STRING_LITERAL.sub("''", body))))


def split_statements(text: str) -> list[str]:
    """Split a file into statements on `;` at line ends; drop comments and blanks."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    parts = re.split(r";\s*(?:\n|$)", body)
    return [p.strip() for p in parts if p.strip()]


def fill_identifiers(statement: str, **names: str) -> str:
    """Replace `__RELATION__`/`__HEAD__`/`__TAIL__` with validated identifiers."""
    for key, value in names.items():
        placeholder = f"__{key.upper()}__"
        if placeholder not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {placeholder}")
        if not SAFE_IDENTIFIER.match(value):
            raise ValueError(
                f"{key}: expected an identifier matching {SAFE_IDENTIFIER.pattern}, found {value!r}"
            )
        statement = statement.replace(placeholder, value)
    return statement


REPEAT_START = "// repeat"
REPEAT_END = "// end repeat"
_NUMBERED = re.compile(r"(\$[A-Za-z_][A-Za-z0-9_]*)_N\b")


def repeat_section(statement: str, groups: Sequence[Mapping[str, str]]) -> str:
    """Write the `// repeat` ... `// end repeat` section once per group (none: left out).

    Group k fills the section's placeholders with its identifiers (`fill_identifiers`) and
    renames its `$name_N` parameters to `$name_k`, so each copy reads its own parameters.
    """
    lines = statement.splitlines()
    try:
        start = next(k for k, line in enumerate(lines) if line.strip() == REPEAT_START)
        end = next(k for k, line in enumerate(lines) if line.strip() == REPEAT_END)
    except StopIteration:
        raise ValueError(f"expected a {REPEAT_START!r} ... {REPEAT_END!r} section") from None
    section = "\n".join(lines[start + 1 : end])
    copies = [
        _NUMBERED.sub(lambda m, k=k: f"{m.group(1)}_{k}", fill_identifiers(section, **names))
        for k, names in enumerate(groups)
    ]
    return "\n".join([*lines[:start], *copies, *lines[end + 1 :]])
