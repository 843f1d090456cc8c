#!/usr/bin/env python3
"""Check the hand-written bug-check tables against Microsoft's bug check reference (read-only).

Usage (from the repository root):

    python3 assets/tools/bugcheck_tables.py DOCS_GIT_DIR

DOCS_GIT_DIR is a git directory (bare is fine) of MicrosoftDocs/windows-driver-docs; the pages read
are windows-driver-docs-pr/debugger/bug-check-0x*.md at HEAD. The tables in assets/bugcheck_*.tsv are
written by people, in our own words, and this script never writes them. It reports:

* codes that have a reference page but no row in bugcheck_codes.tsv or bugcheck_summaries.tsv, or
  no row in bugcheck_params.tsv although the page documents parameters;
* documented values of enumerated parameters that have no row in bugcheck_values.tsv;
* rows whose source is not the code's reference page.

Write the missing rows by hand from the page (facts, in our own words). Exit status 1 when anything
is reported.
"""

import html
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets"
URL = "https://learn.microsoft.com/windows-hardware/drivers/debugger/"
MAX = 160


def git(gitdir, *args):
    return subprocess.run(["git", "-C", gitdir, *args], check=True, capture_output=True,
                          text=True).stdout


def norm_code(s):
    return "0x%X" % int(s, 16)


def strip_md(s):
    s = re.sub(r"<br\s*/?>|</p>|</li>", " ", s, flags=re.I)
    s = re.sub(r"<[^>]+>", "", s)
    s = html.unescape(s)
    s = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", s)
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)
    s = s.replace("\\_", "_").replace("\\*", "*")
    s = re.sub(r"\*\*|__|`", "", s)
    s = re.sub(r"(?<!\w)\*([^*]+)\*", r"\1", s)
    s = re.sub(r"^\s*>\s*(\[![A-Z]+\])?", "", s, flags=re.M)
    s = s.replace("\t", " ")
    return re.sub(r"\s+", " ", s).strip()


def condense(s, limit=MAX):
    """First sentence, stripped; cut at a word boundary when still long."""
    s = strip_md(s)
    m = re.match(r"(.+?[.!?])(\s+[A-Z(]|$)", s)
    if m and len(m.group(1)) >= 12:
        s = m.group(1)
    s = s.rstrip(".:").strip()
    if len(s) > limit:
        s = s[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "..."
    return s


def split_cells(line):
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", line)]


def tables(text):
    """Every table of the page as (start offset, header cells, rows of cells): markdown and HTML."""
    out = []
    lines = text.split("\n")
    offs, pos = [], 0
    for ln in lines:
        offs.append(pos)
        pos += len(ln) + 1
    i = 0
    while i < len(lines):
        if lines[i].strip().startswith("|") and i + 1 < len(lines) and re.match(
                r"^\s*\|?\s*:?-{2,}", lines[i + 1]):
            head = split_cells(lines[i])
            rows = []
            j = i + 2
            while j < len(lines) and lines[j].strip().startswith("|"):
                rows.append(split_cells(lines[j]))
                j += 1
            out.append((offs[i], head, rows))
            i = j
        else:
            i += 1
    for m in re.finditer(r"<table.*?</table>", text, flags=re.S | re.I):
        t = m.group(0)
        trs = re.findall(r"<tr.*?</tr>", t, flags=re.S | re.I)
        cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, flags=re.S | re.I) for tr in trs]
        cells = [c for c in cells if c]
        if not cells:
            continue
        has_th = "<th" in trs[0].lower()
        head = [strip_md(c) for c in cells[0]] if has_th else []
        out.append((m.start(), head, cells[1:] if has_th else cells))
    out.sort(key=lambda t: t[0])
    return out


VALUE_RE = re.compile(r"^(0x[0-9A-Fa-f]+|\d+)(?:\s*(?:</?br\s*/?>|,|/|or)\s*(0x[0-9A-Fa-f]+|\d+))*$")


def values_of(cell):
    s = re.sub(r"<br\s*/?>|</br>", " ", cell, flags=re.I)
    s = strip_md(s).strip()
    s = re.sub(r"\s*\(.*\)$", "", s)
    toks = re.split(r"\s*(?:,|/|\bor\b|\s)\s*", s)
    toks = [t for t in toks if t]
    if not toks or not all(re.fullmatch(r"0x[0-9A-Fa-f]+|\d+", t) for t in toks):
        return []
    return [int(t, 16) if t.lower().startswith("0x") else int(t) for t in toks]


INLINE_RE = re.compile(
    r"(?:^|\n)\s*(?:[-*]\s*)?(?:\*\*)?(0x[0-9A-Fa-f]+|\d+)(?:\*\*)?\s*(?::|\s[-\u2013\u2014]\s)\s*(.+)")


def inline_values(cell):
    s = re.sub(r"<br\s*/?>|</p>|</li>|<li>|<p>", "\n", cell, flags=re.I)
    s = html.unescape(re.sub(r"<(?!br)[^>]+>", "", s))
    out = []
    found = list(INLINE_RE.finditer(s))
    hex_values = any(m.group(1).lower().startswith("0x") for m in found)
    for m in found:
        v = m.group(1)
        # "2 - Address of ..." under a "0x1 : ..." value describes P2 for that value, not a value.
        if hex_values and not v.lower().startswith("0x") and v in ("2", "3", "4"):
            continue
        out.append((int(v, 16) if v.lower().startswith("0x") else int(v), condense(m.group(2))))
    return out


def kind_of(meaning, has_values):
    t = meaning.lower()
    if has_values:
        return "enum"
    if re.fullmatch(r"(0|reserved|zero|none)[.]?", t) or t.startswith(("reserved", "not used")):
        return "reserved"
    if "irql" in t and "address" not in t:
        return "irql"
    if "ntstatus" in t or "status code" in t or "exception code" in t or re.search(
            r"\b(error|final|failure|completion)? ?status\b", t):
        if "address" not in t and "pointer" not in t:
            return "ntstatus"
    if re.search(r"\birp\b", t):
        return "irp"
    if "device object" in t:
        return "device_object"
    if "driver object" in t:
        return "driver_object"
    if "unicode string" in t or ("name" in t and "unicode" in t):
        return "unicode_string"
    if ("address" in t or "pointer" in t) and re.search(
            r"instruction|routine|function|exception address|faulting|caller|callback|code", t):
        return "code"
    if "address" in t or "pointer" in t:
        return "pointer"
    if re.search(r"\b(number of|count)\b", t):
        return "count"
    return "value"


def sections(text):
    """{heading (lowercase, stripped): body} for `##` headings."""
    out = {}
    parts = re.split(r"\n#{2,3} +(.+)\n", "\n" + text)
    for h, body in zip(parts[1::2], parts[2::2]):
        out.setdefault(strip_md(h).lower(), body)
    return out


def first_para(body):
    for para in re.split(r"\n\s*\n", body):
        p = para.strip()
        if not p or p.startswith(("|", "<", "#", ">", "```", "-", "*")) or len(strip_md(p)) < 20:
            continue
        return condense(p, 200)
    return ""


def summary_of(body):
    """The opening paragraph without its "has a value of 0x..." sentence, as a plain statement."""
    for para in re.split(r"\n\s*\n", body):
        p = strip_md(para)
        if not p or para.strip().startswith(("|", "<", "#", ">")):
            continue
        p = re.sub(r"^The \S+ bug check has a value of 0x[0-9A-Fa-f]+\.\s*", "", p)
        p = re.sub(r"^This (?:bug check )?(?:indicates|means) that\s+", "", p)
        p = re.sub(r"^This (?:bug check )?indicates\s+", "", p)
        if len(p) < 12:
            continue
        return condense(p[0].upper() + p[1:], 200)
    return ""


def parse_page(path, text):
    m = re.search(r"^# Bug Check (0x[0-9A-Fa-f]+):?\s*(.+)$", text, flags=re.M | re.I)
    if not m:
        return None
    code = norm_code(m.group(1))
    src = URL + Path(path).stem
    params, values = {}, []
    when_rows = []
    body = text.split("## Resolution")[0]
    body = re.split(r"\n## (?:See also|Remarks)", body)[0]
    for start, head, rows in tables(body):
        hl = [h.lower() for h in head]
        before = strip_md(body[max(0, start - 600):start]).lower()
        if len(hl) >= 2 and hl[0].startswith("parameter") and re.fullmatch(r"parameter\s*\d", hl[0]) \
                and len(hl) >= 3 and re.fullmatch(r"parameter\s*\d", hl[1]):
            # One row per value of the first column's parameter; the other columns apply under it.
            key = int(hl[0][-1])
            label_col = len(hl) - 1 if not re.fullmatch(r"parameter\s*\d", hl[-1]) else None
            for r in rows:
                vals = values_of(r[0]) if r else []
                if not vals:
                    continue
                label = condense(r[label_col]) if label_col is not None and label_col < len(r) else ""
                for v in vals:
                    if label:
                        values.append((key, v, label))
                    for ci, h in enumerate(hl[1:], start=1):
                        pm = re.fullmatch(r"parameter\s*(\d)", h)
                        if pm and ci < len(r) and strip_md(r[ci]):
                            when_rows.append((key, v, int(pm.group(1)), condense(r[ci])))
            params.setdefault(key, ("The kind of failure; the other parameters depend on it", True))
            continue
        if len(hl) >= 2 and re.fullmatch(r"parameter", hl[0]) or (not hl and rows and values_of(
                rows[0][0]) and len(rows) == 4 and len(rows[0]) == 2 and "parameter" in before[-200:]):
            for r in rows:
                if len(r) < 2:
                    continue
                n = values_of(r[0])
                if len(n) != 1 or not 1 <= n[0] <= 4:
                    continue
                inl = inline_values(r[1])
                if len(inl) >= 2:
                    for v, lab in inl:
                        values.append((n[0], v, lab))
                desc = r[1]
                desc_first = re.split(r"<br\s*/?>|</p>|\n", desc, maxsplit=1, flags=re.I)[0]
                meaning = condense(desc_first if strip_md(desc_first) else desc)
                if not meaning or meaning in ("0", "0x0"):
                    meaning = "Not used (0)"
                if n[0] not in params:
                    params[n[0]] = (meaning, len(inl) >= 2)
            continue
        # A value table for one parameter: `Parameter N | meaning`, or `Value | meaning` after
        # a sentence that names the parameter.
        pm = re.fullmatch(r"(?:value of )?parameter\s*(\d)(?: value)?", hl[0]) if hl else None
        key = int(pm.group(1)) if pm else None
        if key is None and hl and re.match(r"value|code|type|subcode|error", hl[0]):
            mm = re.findall(r"parameter\s*(\d)", before[-300:])
            key = int(mm[-1]) if mm else None
        if key is None or not 1 <= key <= 4:
            continue
        for r in rows:
            if len(r) < 2:
                continue
            lab = condense(r[-1]) if len(r) == 2 else condense(r[1])
            for v in values_of(r[0]):
                if lab:
                    values.append((key, v, lab))
        if key in params:
            params[key] = (params[key][0], True)
    secs = sections(text)
    cause = next((first_para(b) for h, b in secs.items() if h.startswith("cause")), "")
    resolution = next((first_para(b) for h, b in secs.items() if h.startswith("resolution")), "")
    desc = summary_of(text.split("\n# ", 1)[-1].split("\n", 1)[-1])
    fm = re.search(r"^description:\s*(.+)$", text, flags=re.M)
    if not desc and fm:
        desc = summary_of(fm.group(1))
    return dict(code=code, name=strip_md(m.group(2)), src=src, params=params, values=values,
                when=when_rows, cause=cause, resolution=resolution, desc=desc)


def read_tsv(path):
    comments, header, rows = [], None, []
    if not path.exists():
        return comments, header, rows
    for ln in path.read_text().split("\n"):
        if ln.startswith("#"):
            comments.append(ln)
        elif ln.strip():
            if header is None:
                header = ln.split("\t")
            else:
                rows.append(dict(zip(header, ln.split("\t"))))
    return comments, header, rows


def clean(s):
    return s.replace("\t", " ").replace("\n", " ").strip()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    gitdir = sys.argv[1]
    names = [n for n in git(gitdir, "ls-tree", "-r", "HEAD", "--name-only").split("\n")
             if re.search(r"windows-driver-docs-pr/debugger/bug-check-0x[^/]*\.md$", n)]
    pages = {}
    for n in sorted(names):
        text = git(gitdir, "show", "HEAD:" + n)
        p = parse_page(n, text)
        if p and p["code"] not in pages:
            # A page without a parameters section, or whose section says "None", documents none.
            m = re.search(r"\n##[^\n]*parameters[^\n]*\n(.*?)(?=\n## |\Z)", text, re.S | re.I)
            body = strip_md(m.group(1)) if m else ""
            p["no_params"] = not body or bool(
                re.match(r"(none\b|this bug check has no parameters)", body, re.I))
            pages[p["code"]] = p

    def codes_of(name, col="code"):
        return {norm_code(r[col]) for r in read_tsv(ASSETS / name)[2] if r.get(col)}

    tables_codes = {f: codes_of(f) for f in
                    ("bugcheck_codes.tsv", "bugcheck_params.tsv", "bugcheck_summaries.tsv")}
    values = {(norm_code(r["code"]), r["param"], int(r["value"], 16))
              for r in read_tsv(ASSETS / "bugcheck_values.tsv")[2]}
    enum_params = {(norm_code(r["code"]), r["param"])
                   for r in read_tsv(ASSETS / "bugcheck_params.tsv")[2] if r["kind"] == "enum"}
    problems = 0
    for c, p in sorted(pages.items(), key=lambda kv: int(kv[0], 16)):
        base = "0x%X" % (int(c, 16) & ~0x10000000)
        for f, have in tables_codes.items():
            # _M variants (0x1000007E...) share their base code's parameter rows.
            if f == "bugcheck_params.tsv" and (base in have or p["no_params"]):
                continue
            if c not in have:
                print("%s %s: no row in %s (%s)" % (c, p["name"], f, p["src"]))
                problems += 1
        for n, v, _ in p["values"]:
            # Pages mix notations: a bare "10" may mean 0x10, so either reading counts.
            alt = int(str(v), 16)
            if (c, str(n)) in enum_params and not {(c, str(n), v), (c, str(n), alt)} & values:
                print("%s P%d = 0x%X: documented value without a row in bugcheck_values.tsv (%s)"
                      % (c, n, v, p["src"]))
                problems += 1
    for f in ("bugcheck_params.tsv", "bugcheck_values.tsv", "bugcheck_summaries.tsv"):
        for r in read_tsv(ASSETS / f)[2]:
            c = norm_code(r["code"])
            if c in pages and r.get("source") != pages[c]["src"]:
                print("%s: %s row has source %s, the page is %s" % (c, f, r.get("source"),
                                                                    pages[c]["src"]))
                problems += 1
    print("pages %d, problems %d" % (len(pages), problems), file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
