#!/usr/bin/env python3
# man/md2man.py: writes a section-5 man page from sections of README.md,
# so the man pages and the README are one text (issue 12): headings become
# .SH/.SS, tables .TP entries (first cell bold, the others joined),
# indented or fenced code .nf blocks, `code` bold.
# Usage: md2man.py README.md OUT NAME SECTION VERSION "SUMMARY" HEADING...
# Each HEADING ("## Server settings") is copied up to the next heading of
# its level or above.
import re
import sys


def esc(s):
    s = s.replace('\\', '\\e').replace('-', '\\-')
    return s


def inline(s):
    out = []
    for i, part in enumerate(re.split(r'`([^`]*)`', s)):
        if i % 2:
            out.append('\\fB' + esc(part) + '\\fR')
        else:
            part = re.sub(r'\[([^\]]+)\]\([^)]+\)', r'\1', part)
            part = re.sub(r'\*\*([^*]+)\*\*', r'\1', part)
            out.append(esc(part))
    line = ''.join(out)
    if line.startswith('.') or line.startswith("'"):
        line = '\\&' + line
    return line


def sections(lines, heading):
    level = len(heading) - len(heading.lstrip('#'))
    start = None
    for i, l in enumerate(lines):
        if start is None:
            if l.rstrip() == heading:
                start = i
        elif l.startswith('#'):
            lv = len(l) - len(l.lstrip('#'))
            if lv <= level and l[lv:lv + 1] == ' ':
                return lines[start:i]
    if start is None:
        sys.exit('md2man: no heading %r in the README' % heading)
    return lines[start:]


def cells(row):
    return [c.strip() for c in row.strip().strip('|').split(' | ')]


def convert(lines, out):
    fence = False
    prev = ''
    for l in lines:
        s = l.rstrip('\n')
        if not s.startswith('|'):
            prev = s
        if s.startswith('```'):
            out.append('.nf' if not fence else '.fi')
            fence = not fence
            continue
        if fence:
            out.append(('\\&' if s.startswith('.') else '') + esc(s))
            continue
        if s.startswith('#'):
            lv = len(s) - len(s.lstrip('#'))
            title = s[lv:].strip()
            out.append(('.SH ' if lv <= 2 else '.SS ') + '"' +
                       inline(title.upper() if lv <= 2 else title) + '"')
            continue
        if s.startswith('    ') and s.strip():
            out.append('.nf')
            out.append('    ' + inline(s.strip()))
            out.append('.fi')
            continue
        if s.startswith('|'):
            if re.fullmatch(r'\|?[\s:|-]+\|?', s):
                continue
            if not prev.startswith('|'):
                prev = s
                continue        # the header row
            c = cells(s)
            out.append('.TP')
            out.append('\\fB' + inline(c[0]).replace('\\fB', '')
                       .replace('\\fR', '') + '\\fR')
            out.append(inline(' \u2014 '.join(c[1:])).replace('\u2014', '\\(em'))
            prev = s
            continue
        if not s.strip():
            out.append('.PP')
            continue
        if s.startswith('- '):
            out.append('.IP \\(bu 2')
            s = s[2:]
        out.append(inline(s.strip()))


def main():
    readme, outp, name, sect, version, summary = sys.argv[1:7]
    with open(readme, encoding='utf-8') as f:
        lines = f.readlines()
    out = ['.\\" %s(%s), written by man/md2man.py from README.md: edit the '
           'README.' % (name, sect),
           '.TH %s %s "" "pubgate %s" "File Formats"' %
           (esc(name.upper()), sect, version),
           '.SH NAME', esc(name) + ' \\- ' + esc(summary)]
    for h in sys.argv[7:]:
        body = sections(lines, h)
        convert(body, out)
    out.append('.SH SEE ALSO')
    out.append('.BR pubgate (1), .BR pubgate.yaml (5), .BR pubgate\\-policy (5)')
    # Collapse repeated paragraph marks.
    res = []
    for l in out:
        if l == '.PP' and res and res[-1] in ('.PP', '.TP', '.fi') or \
           l == '.PP' and res and res[-1].startswith('.S'):
            continue
        res.append(l)
    with open(outp, 'w', encoding='utf-8') as f:
        f.write('\n'.join(res) + '\n')


main()
