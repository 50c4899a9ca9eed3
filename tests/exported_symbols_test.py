#!/usr/bin/env python3
"""Usage: exported_symbols_test.py LIBKAIO_SO SONAME INCLUDE_DIR...

Holds libkaio.so's exported symbols to the public headers, both ways:
  - every function a header declares KAIO_API (C functions, and the out-of-line members of a
    KAIO_API class, overload by overload) is exported, with a version node of cmake/kaio.map;
  - nothing else is exported: no internal function, no instantiation of a standard template.
And the library's SONAME is SONAME (libkaio.so.<major version>).
"""
import collections
import pathlib
import re
import subprocess
import sys


def without_comments_and_directives(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def class_body(text, open_brace):
    depth = 0
    for index in range(open_brace, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[open_brace + 1:index]
    raise ValueError("unbalanced braces")


def member_declarations(body):
    """Names of the member functions a class body declares without defining them."""
    names = []
    depth = 0
    parentheses = 0  # braces inside them are default arguments, not bodies
    statement = ""
    for char in body:
        parentheses += {"(": 1, ")": -1}.get(char, 0) if depth == 0 else 0
        if parentheses > 0:
            statement += char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                statement = ""  # an inline definition: header-only, not exported
        elif depth == 0:
            if char == ";":
                declaration = re.sub(r"\b(public|private|protected)\s*:", " ", statement)
                deleted = re.search(r"=\s*(delete|default)\s*$", declaration.strip())
                name = re.search(r"(~?\w+|operator\s*\S+?)\s*\(", declaration)
                if name and not deleted:
                    names.append(re.sub(r"\s+", "", name.group(1)))
                statement = ""
            else:
                statement += char
    return names


def declared_api(include_dirs):
    """Counter of exported names expected from the headers: 'io_ctx_read', 'context::read', ..."""
    expected = collections.Counter()
    for directory in include_dirs:
        for header in sorted(pathlib.Path(directory).rglob("*.h*")):
            text = without_comments_and_directives(header.read_text())
            for match in re.finditer(r"\bKAIO_API\b([^;{]*?)\b(\w+)\s*\(", text):
                if "class" not in match.group(1):
                    expected[match.group(2)] += 1
            for match in re.finditer(r"\bclass\s+KAIO_API\s+(\w+)[^;{]*\{", text):
                body = class_body(text, match.end() - 1)
                for member in member_declarations(body):
                    expected[f"{match.group(1)}::{member}"] += 1
    return expected


def exported_symbols(library):
    """Counter of exported names, one per distinct signature, and the problems seen."""
    output = subprocess.run(["nm", "-D", "--defined-only", "--demangle", library],
                            check=True, capture_output=True, text=True).stdout
    exported = collections.Counter()
    problems = []
    for signature in sorted({line.split(" ", 2)[2] for line in output.splitlines()}):
        symbol, _, version = signature.partition("@")
        if symbol.startswith("KAIO_") and not version:
            continue  # the version node itself
        if not version.lstrip("@").startswith("KAIO_"):
            problems.append(f"exported without a KAIO_ version node: {signature}")
        name = symbol.split("(", 1)[0]
        exported[name.removeprefix("kaio::")] += 1
    return exported, problems


def soname(library):
    dynamic = subprocess.run(["readelf", "-d", library], check=True, capture_output=True,
                             text=True).stdout
    match = re.search(r"\(SONAME\).*\[(.*)\]", dynamic)
    return match.group(1) if match else None


def main():
    library, wanted_soname, *include_dirs = sys.argv[1:]
    expected = declared_api(include_dirs)
    exported, problems = exported_symbols(library)
    for name in sorted((expected - exported).elements()):
        problems.append(f"declared in a public header but not exported: {name}")
    for name in sorted((exported - expected).elements()):
        problems.append(f"exported but not declared KAIO_API in a public header: {name}")
    if soname(library) != wanted_soname:
        problems.append(f"SONAME is {soname(library)}, expected {wanted_soname}")
    for problem in problems:
        print("FAIL:", problem)
    print(f"{sum(exported.values())} symbols exported, {sum(expected.values())} declared,"
          f" SONAME {soname(library)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
