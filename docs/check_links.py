#!/usr/bin/env python3
"""Check the elbo book's links to the code, and its math for Markdown damage.

Usage:  python3 docs/check_links.py [--book DIR]

1. Links. Every relative link in docs/src/*.md must point to an existing
   file (or folder). When the link text is a single code span, as in
   [`e_alpha`](../../crates/elbo-classic/src/vblr/fit.rs), the named item
   must be defined in that file: `fn NAME`, `struct NAME`, `enum NAME`,
   `trait NAME`, `type NAME`, `const NAME` or `mod NAME`. A path-like name
   `Type::method` requires `fn method` and either the definition of `Type`
   (struct, enum, trait) or an `impl … Type` block in that file. Links to .md pages may carry a #fragment; it must match a
   heading of the target page (mdBook's slug rule).

2. Math, in the sources. mdBook hands math to MathJax only after the
   Markdown parser has run, and that parser removes a backslash in front of
   ASCII punctuation. Inside $$ … $$ and \\( … \\) this lint rejects the
   LaTeX commands that would be damaged: \\{ \\} \\, \\; \\: \\! \\| \\# \\%
   \\& (write \\lbrace, \\rbrace, \\Vert, … or double the backslash), and a
   line break \\\\ that is not written as \\\\\\\\ , and an underscore after
   punctuation (`}_{`), which Markdown may read as the start of emphasis
   (write it \\_).

3. Math, in the rendered book (only with --book DIR, e.g. docs/book after
   `mdbook build docs`): no HTML tag may appear inside a formula; a tag
   there means Markdown read part of the formula as emphasis (an
   underscore pair such as `}_{` … `a_{`). Escape such an underscore as \\_.

Exit status 0 when everything passes, 1 otherwise; one line per problem.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
SRC = DOCS / "src"

LINK_RE = re.compile(r"(?<!!)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_TEXT_RE = re.compile(r"^`([^`]+)`$")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
ITEM_KINDS = ("fn", "struct", "enum", "trait", "type", "const", "mod")
TYPE_KINDS = ("struct", "enum", "trait", "type")
# LaTeX commands whose backslash the Markdown parser eats.
DAMAGED = re.compile(r"(?<!\\)(?:\\\\)*\\([{},;:!|#%&])")
# An underscore after ASCII punctuation (`}_{`, `)_k`) can open Markdown
# emphasis; written `\_` it cannot.
OPENER = re.compile(r"(?<=[!-/:-@\[\]^`{-~])(?<!\\)_")


def strip_code(lines: list[str]) -> list[tuple[int, str]]:
    """(line number, text) of every line outside fenced code blocks."""
    out, fenced = [], False
    for n, line in enumerate(lines, 1):
        if FENCE_RE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append((n, line))
    return out


def slug(heading: str) -> str:
    """mdBook's id for a heading: lower case, punctuation dropped, spaces to -."""
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip())
    out = []
    for ch in text.lower():
        if ch.isalnum() or ch in "-_":
            out.append(ch)
        elif ch.isspace():
            out.append("-")
    return "".join(out)


def headings(page: Path) -> set[str]:
    ids = set()
    for _, line in strip_code(page.read_text(encoding="utf-8").splitlines()):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            ids.add(slug(m.group(1)))
    return ids


def defines(source: str, kinds: tuple[str, ...], name: str) -> bool:
    pattern = r"\b(?:%s)\s+%s\b" % ("|".join(kinds), re.escape(name))
    return re.search(pattern, source) is not None


def implements(source: str, name: str) -> bool:
    """An `impl` block for the type in this file (its definition may be elsewhere)."""
    return re.search(r"\bimpl\b[^{;]*\b%s\b" % re.escape(name), source) is not None


def check_links(page: Path, lines: list[tuple[int, str]], problems: list[str]) -> int:
    count = 0
    for n, line in lines:
        for m in LINK_RE.finditer(line):
            text, target = m.group(1), m.group(2)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                if target.startswith("#") and target[1:] not in headings(page):
                    problems.append(f"{page.name}:{n}: no heading for anchor {target}")
                continue
            count += 1
            path_part, _, fragment = target.partition("#")
            dest = (page.parent / path_part).resolve()
            where = f"{page.name}:{n}: [{text}]({target})"
            if not dest.exists():
                problems.append(f"{where}: {dest.relative_to(DOCS.parent) if dest.is_relative_to(DOCS.parent) else dest} does not exist")
                continue
            if fragment and dest.suffix == ".md" and fragment not in headings(dest):
                problems.append(f"{where}: no heading #{fragment} in {dest.name}")
            code = CODE_TEXT_RE.match(text.strip())
            if not code or dest.is_dir():
                continue
            name = code.group(1).strip()
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*", name):
                continue  # a code span that is not an item name (a command, a file)
            source = dest.read_text(encoding="utf-8", errors="replace")
            parts = name.split("::")
            if len(parts) == 1:
                if not defines(source, ITEM_KINDS, name):
                    problems.append(f"{where}: no `fn|struct|enum|trait|type|const|mod {name}` in {dest.name}")
            else:
                *types, item = parts
                for t in types:
                    if not (defines(source, TYPE_KINDS + ("mod",), t) or implements(source, t)):
                        problems.append(f"{where}: no `struct|enum|trait {t}` nor `impl … {t}` in {dest.name}")
                if not defines(source, ITEM_KINDS, item):
                    problems.append(f"{where}: no `fn {item}` in {dest.name}")
    return count


def math_spans(lines: list[tuple[int, str]]):
    """(line number, formula) for every $$ … $$ block and \\( … \\) span."""
    in_block, start, buf = False, 0, []
    for n, line in lines:
        if in_block:
            if "$$" in line:
                buf.append(line.split("$$", 1)[0])
                yield start, "\n".join(buf)
                in_block = False
            else:
                buf.append(line)
            continue
        if line.count("$$") >= 2:
            for formula in re.findall(r"\$\$(.*?)\$\$", line):
                yield n, formula
        elif "$$" in line:
            in_block, start, buf = True, n, [line.split("$$", 1)[1]]
        for formula in re.findall(r"\\\\\((.*?)\\\\\)", line):
            yield n, formula


def check_math_source(page: Path, lines: list[tuple[int, str]], problems: list[str]) -> int:
    count = 0
    for n, formula in math_spans(lines):
        count += 1
        for m in DAMAGED.finditer(formula):
            problems.append(
                f"{page.name}:{n}: `\\{m.group(1)}` in a formula loses its backslash in Markdown; "
                f"double it or use a named command")
        if OPENER.search(formula):
            problems.append(
                f"{page.name}:{n}: `_` after punctuation in a formula can start Markdown emphasis; "
                f"write it `\\_`: {formula.strip()[:60]}")
        if re.search(r"<[A-Za-z/!?]", formula):
            problems.append(
                f"{page.name}:{n}: `<` directly before a letter in a formula can be read as an HTML "
                f"tag; put a space after it: {formula.strip()[:60]}")
        for m in re.finditer(r"(?<!\\)(\\\\)+(?!\\)", formula):
            if len(m.group(0)) % 4 != 0 and formula[m.end():m.end() + 1] in ("", " ", "\n", "\t", "["):
                problems.append(
                    f"{page.name}:{n}: line break `\\\\` in a formula must be written `\\\\\\\\` for mdBook")
    return count


def check_rendered(book: Path, problems: list[str]) -> int:
    count = 0
    for page in sorted(book.glob("*.html")):
        if page.name in ("print.html", "toc.html", "404.html"):
            continue
        body = page.read_text(encoding="utf-8")
        main = re.search(r"<main>(.*)</main>", body, re.S)
        text = main.group(1) if main else body
        spans = re.findall(r"\$\$(.*?)\$\$", text, re.S) + re.findall(r"\\\((.*?)\\\)", text, re.S)
        for formula in spans:
            count += 1
            tag = re.search(r"</?(em|strong|a|code|del|sup|sub)\b[^>]*>", formula)
            if tag:
                snippet = html.unescape(re.sub(r"\s+", " ", formula))[:90]
                problems.append(f"{page.name}: Markdown put <{tag.group(1)}> inside a formula: {snippet}")
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--book", type=Path, help="rendered book to check too (e.g. docs/book)")
    args = parser.parse_args()

    problems: list[str] = []
    links = formulas = pages = 0
    for page in sorted(SRC.glob("**/*.md")):
        pages += 1
        lines = strip_code(page.read_text(encoding="utf-8").splitlines())
        links += check_links(page, lines, problems)
        formulas += check_math_source(page, lines, problems)
    rendered = 0
    if args.book:
        if not args.book.is_dir():
            problems.append(f"{args.book}: no rendered book (run `mdbook build docs` first)")
        else:
            rendered = check_rendered(args.book, problems)

    for p in problems:
        print(p)
    summary = f"{pages} pages, {links} relative links, {formulas} formulas"
    if args.book:
        summary += f", {rendered} rendered formulas"
    print(f"check_links: {summary}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
