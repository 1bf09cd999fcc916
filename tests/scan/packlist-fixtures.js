#!/usr/bin/env node
// tests/scan/packlist-fixtures.js: writes package folders that probe how
// npm pack chooses files (files, .npmignore, .gitignore fallback, nested
// ignore files, always-included and always-excluded files, main/bin/
// browser, files negations, symlinks, odd names, case), hand-written ones
// and seeded random ones, for tests/scan/folder.sh to compare
// `pubgate scan --list DIR` with `npm pack --dry-run --json`.
// Usage: packlist-fixtures.js OUTDIR [NRANDOM [SEED]]
// Prints one JSON object: {"fixtures":[{"dir":..,"refuse":bool,
// "judge":bool}]} (judge: compare verdicts too, not only file lists)
'use strict'
const fs = require('fs')
const path = require('path')

const out = process.argv[2]
const nrandom = Number(process.argv[3] || 40)
let seed = Number(process.argv[4] || 12345)
const rnd = (n) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed % n
}
const pick = (a) => a[rnd(a.length)]

const fixtures = []
let count = 0

// fixture(name, tree, opts): tree maps relative paths to contents
// (string: file, null: empty dir, {link: target}: symlink).
function fixture (tag, pkg, tree, refuse = false, judge = !refuse) {
  const dir = path.join(out, `f${String(count).padStart(3, '0')}-${tag}`)
  const name = pkg.name || `@acme/fx-${count}`
  count++
  fs.mkdirSync(dir, { recursive: true })
  const full = { version: '1.0.0', ...pkg, name }
  fs.writeFileSync(path.join(dir, 'package.json'),
    JSON.stringify(full, null, 2) + '\n')
  for (const [rel, body] of Object.entries(tree)) {
    const p = path.join(dir, rel)
    if (body === null) {
      fs.mkdirSync(p, { recursive: true })
      continue
    }
    fs.mkdirSync(path.dirname(p), { recursive: true })
    if (typeof body === 'object') {
      fs.symlinkSync(body.link, p)
    } else {
      fs.writeFileSync(p, body)
    }
  }
  fixtures.push({ dir, refuse, judge })
}

const always = {
  'README.md': '# hi\n',
  'index.js': 'module.exports = 1\n',
}

// 1. defaults: what npm always leaves out, and what it keeps
fixture('defaults', {}, {
  ...always,
  '.git/HEAD': 'ref: x\n',
  '.git/config': '[core]\n',
  'node_modules/dep/index.js': 'x\n',
  'node_modules/dep/package.json': '{"name":"dep","version":"1.0.0"}',
  '.npmrc': 'registry=x\n',
  'sub/.npmrc': 'x\n',
  'package-lock.json': '{}',
  'sub/package-lock.json': '{}',
  'yarn.lock': '',
  'pnpm-lock.yaml': '',
  'bun.lockb': '',
  '.DS_Store': '',
  'sub/.DS_Store': '',
  'a.orig': '',
  'sub/b.orig': '',
  '._x': '',
  '.x.swp': '',
  'npm-debug.log': '',
  'sub/npm-debug.log': '',
  'build/config.gypi': '',
  'build/other.gypi': '',
  'sub/build/config.gypi': '',
  'archived-packages/x.tgz': '',
  '.svn/x': '',
  'CVS/x': '',
  'sub/CVS/y': '',
  '.hg/x': '',
  '.lock-wscript': '',
  '.wafpickle-7': '',
  'lib/node_modules/kept.js': 'x\n',
  '.eslintrc': '{}',
  '.env': 'A=1\n',
  'sub/.hidden': '',
  'empty/': null,
  'bad*name.js': '',
})

// 2. .gitignore fallback
fixture('gitignore', {}, {
  ...always,
  '.gitignore': 'dist/\n*.log\n!keep.log\n/secret.txt\nsub/**/tmp\n# c\n\n',
  'dist/a.js': '', 'x.log': '', 'keep.log': '', 'secret.txt': '',
  'lib/secret.txt': '', 'sub/a/b/tmp/x': '', 'sub/tmp': '', 'sub/a/tmp': '',
})

// 3. .npmignore beats .gitignore
fixture('npmignore-wins', {}, {
  ...always,
  '.gitignore': 'dist/\n',
  '.npmignore': 'src/\n',
  'dist/a.js': '', 'src/a.ts': '',
})

// 4. an empty .npmignore still beats .gitignore
fixture('empty-npmignore', {}, {
  ...always, '.gitignore': 'dist\n', '.npmignore': '', 'dist/a.js': '',
})

// 5. files with dirs, globs, negations; README/LICENSE/main/bin outside
fixture('files-mix', {
  files: ['lib', 'index.js', '!lib/test', 'types/*.d.ts', 'docs/'],
  main: 'main.js',
  bin: { tool: './bin/tool.js' },
  browser: 'browser.js',
}, {
  ...always,
  'lib/a.js': '', 'lib/test/t.js': '', 'lib/sub/test/u.js': '',
  'types/a.d.ts': '', 'types/b.ts': '', 'docs/x.md': '', 'docs/y/z.md': '',
  'main.js': '', 'bin/tool.js': '#!/usr/bin/env node\n', 'bin/other.js': '',
  'browser.js': '', 'LICENSE': '', 'CHANGELOG.md': '', 'other.js': '',
  'licence.txt': '', 'COPYING': '', 'readme.markdown': '', 'README.md~': '',
  'Readme': '', 'license-MIT': '', 'licenses/x': '',
})

// 6. files: ./ and / prefixes, trailing /*, missing entries, file negation
fixture('files-prefixes', {
  files: ['./lib', '/bin/cli.js', 'dist/*', 'nope', '!lib/secret.js',
    '!dist/b.js'],
}, {
  ...always,
  'lib/a.js': '', 'lib/secret.js': '', 'bin/cli.js': '', 'bin/x.js': '',
  'dist/a.js': '', 'dist/b.js': '', 'dist/deep/c.js': '',
})

// 7. a nested .npmignore applies even under files
fixture('nested-npmignore', { files: ['lib'] }, {
  ...always,
  'lib/.npmignore': '*.test.js\nfixtures/\n',
  'lib/a.js': '', 'lib/a.test.js': '', 'lib/fixtures/f.json': '',
  'lib/sub/b.test.js': '',
})

// 8. nested .gitignore, nested .npmignore beating a nested .gitignore
fixture('nested-gitignore', {}, {
  ...always,
  'a/.gitignore': 'gen/\n*.tmp\n',
  'a/gen/x.js': '', 'a/x.tmp': '', 'a/y.js': '',
  'b/.gitignore': 'keep/\n', 'b/.npmignore': 'drop/\n',
  'b/keep/x': '', 'b/drop/y': '',
})

// 9. symlinks are not packed
fixture('symlinks', { files: ['lib', 'link.js', 'linkdir'] }, {
  ...always,
  'lib/a.js': '', 'lib/l.js': { link: 'a.js' }, 'link.js': { link: 'index.js' },
  'linkdir': { link: 'lib' }, 'top.js': { link: 'lib/a.js' },
})

// 10. case: files entries match whatever the case (minimatch nocase)
fixture('case', { files: ['LIB', 'Dist/*.JS'] }, {
  ...always,
  'lib/a.js': '', 'dist/b.js': '', 'dist/c.ts': '',
})

// 11. .npmignore pattern forms
fixture('npmignore-forms', {}, {
  ...always,
  '.npmignore': [
    '**/*.map', 'test/', '/coverage', 'a/**/b', '*.min.*', '?.js',
    '!important/**', 'docs/*.md', 'trailing.js   ', 'crlf.js\r',
    '# comment', '  spaced.js', '**/tmp/**', 'x/y/', '*.MAP2',
  ].join('\n') + '\n',
  'a.js': '', 'ab.js': '', 'x.map': '', 'deep/x.map': '', 'test/t.js': '',
  'sub/test/t.js': '', 'coverage/c': '', 'sub/coverage/c': '',
  'a/b/f': '', 'a/q/r/b/f': '', 'a/bb/f': '', 'jq.min.js': '',
  'important/x.map': '', 'docs/a.md': '', 'docs/sub/b.md': '',
  'trailing.js': '', 'crlf.js': '', 'spaced.js': '', 'k/tmp/z': '',
  'x/y/z': '', 'x/y': null, 'f.map2': '', 'g.MAP2': '',
})

// 12. main/bin forms npm normalizes
fixture('main-bin', {
  files: ['lib'],
  main: './dist/index.js',
  bin: ['./bin/a.js', 'scripts//b.js'],
}, {
  ...always,
  'lib/x.js': '', 'dist/index.js': '', 'bin/a.js': '', 'scripts/b.js': '',
})
fixture('bin-string', { files: ['lib'], bin: 'cli/run.js' }, {
  ...always, 'lib/x.js': '', 'cli/run.js': '', 'cli/other.js': '',
})

// 13. the requiredFiles quirk: files naming a file one level down
fixture('required-files', { files: ['lib/a.js', 'lib/sub/b.js'] }, {
  ...always,
  'lib/a.js': '', 'lib/x/a.js': '', 'lib/sub/b.js': '', 'lib/sub/y/b.js': '',
  'lib/c.js': '',
})

// 14. files: [] and an .npmignore that names always-included files
fixture('files-empty', { files: [] }, { ...always, 'LICENSE.txt': '' })
fixture('ignore-always', {}, {
  ...always,
  '.npmignore': 'package.json\nREADME.md\nLICENSE\n*.js\n',
  LICENSE: '', 'a.js': '',
})

// 15. deep nesting, directories named like files, empty dirs
fixture('deep', { files: ['a'] }, {
  ...always,
  'a/b/c/d/e/f.js': '', 'a/b/.npmignore': 'd/\n', 'a/b/c/g.js': '',
  'a/foo.js/x.js': '', 'a/empty': null,
})

// 16. browser as an object (npm turns it into "!/[object Object]")
fixture('browser-object', { files: ['lib'], browser: { './a.js': false } }, {
  ...always, 'lib/x.js': '', o: '', b: '', z: '',
})

// 17. refused: bundleDependencies, workspaces, unfollowed glob syntax
fixture('bundled', {
  dependencies: { dep: '1.0.0' }, bundleDependencies: ['dep'],
}, {
  ...always,
  'node_modules/dep/package.json': '{"name":"dep","version":"1.0.0"}',
  'node_modules/dep/index.js': '',
}, true)
fixture('workspaces', { workspaces: ['pkgs/*'] }, {
  ...always, 'pkgs/a/package.json': '{"name":"a","version":"1.0.0"}',
}, true)
fixture('braces', {}, { ...always, '.npmignore': '*.{map,ts}\n', 'a.ts': '' },
  true)
fixture('classes', { files: ['[ab].js'] }, { ...always, 'a.js': '' }, true)

// 18. a package whose content the policy judges (verdict comparison)
fixture('leaky', { files: ['dist'] }, {
  ...always,
  'dist/index.js': 'console.log(1)\n//# sourceMappingURL=index.js.map\n',
  'dist/index.js.map': JSON.stringify({
    version: 3, sources: ['../src/a.ts'], sourcesContent: ['const a = 1\n'],
    mappings: 'AAAA',
  }),
  'src/a.ts': 'const a = 1\n',
})
fixture('secret', {}, {
  ...always,
  'lib/config.js': 'module.exports = { key: "AKIA' + 'IOSFODNN7EXAMPLF" }\n',
  '.env.production': 'TOKEN=x\n',
})

// random folders: trees, ignore files, files arrays from a vocabulary
const names = ['a', 'b', 'lib', 'src', 'test', 'dist', 'x.js', 'y.ts',
  'index.js', 'README.md', '.hidden', 'foo.map', 'Doc.MD', 'tmp', 'c.min.js',
  'node_modules', 'LICENSE', 'e.d.ts', 'docs', 'k']
const pats = ['*.js', '**/*.map', 'lib', 'lib/', '/lib', 'test/**',
  '!lib/x.js', '*', '**', 'a/**/b', '?.js', 'x*', '*.MAP', 'src/*',
  '!src/*.ts', 'dist/', '.hidden', '**/test', '/README.md', '!**/keep',
  'tmp', '!tmp/x.js', 'docs/**/*.md', '*.d.ts', 'k/', '!k', 'a/b', '/a/*',
  '**/a', 'b/**']
for (let i = 0; i < nrandom; i++) {
  const tree = { 'README.md': '# r\n' }
  const nfiles = 6 + rnd(20)
  for (let j = 0; j < nfiles; j++) {
    const depth = rnd(4)
    const parts = []
    for (let d = 0; d < depth; d++) parts.push(pick(names))
    parts.push(pick(names))
    tree[parts.join('/')] = 'x\n'
  }
  // drop paths that collide with a directory of another path
  const keys = Object.keys(tree)
  for (const k of keys) {
    if (keys.some(o => o.startsWith(k + '/'))) delete tree[k]
  }
  const pkg = {}
  if (rnd(3) === 0) {
    pkg.files = []
    for (let j = 0, n = 1 + rnd(4); j < n; j++) pkg.files.push(pick(pats))
  }
  if (rnd(4) === 0) pkg.main = pick(['x.js', './lib/x.js', 'dist/index.js'])
  const ignores = ['', 'lib', 'a', 'src', 'dist']
  for (let j = 0, n = rnd(4); j < n; j++) {
    const at = pick(ignores)
    const file = pick(['.npmignore', '.gitignore'])
    const rel = at ? `${at}/${file}` : file
    if (Object.keys(tree).some(k => k === at || k.startsWith(rel + '/'))) {
      continue
    }
    const lines = []
    for (let k = 0, m = 1 + rnd(4); k < m; k++) lines.push(pick(pats))
    tree[rel] = lines.join('\n') + '\n'
  }
  fixture(`random${i}`, pkg, tree)
}

process.stdout.write(JSON.stringify({ fixtures }) + '\n')
