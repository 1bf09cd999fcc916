#!/usr/bin/env node
// tests/scan/packlist-compare.js: compares the file lists of
// `pubgate scan --list DIR` with npm's (`npm pack --dry-run --json` over
// the same folders, in order).  Prints one line per folder and a summary;
// exits 1 on any difference, or when a folder meant to be listed is
// refused, or one meant to be refused is listed.
// Usage: packlist-compare.js PUBGATE FIXTURES.json NPM.json
'use strict'
const { spawnSync } = require('child_process')
const fs = require('fs')

const [pubgate, fixFile, npmFile] = process.argv.slice(2)
const { fixtures } = JSON.parse(fs.readFileSync(fixFile, 'utf8'))
const npm = JSON.parse(fs.readFileSync(npmFile, 'utf8'))
if (npm.length !== fixtures.length) {
  console.log(`FAIL: npm listed ${npm.length} packages, want ${fixtures.length}`)
  process.exit(1)
}
let fail = 0
let same = 0
let refused = 0
fixtures.forEach((fx, i) => {
  const want = npm[i].files.map(f => f.path.replace(/^\.\//, '')).sort()
  const r = spawnSync(pubgate, ['scan', '--list', fx.dir], { encoding: 'utf8' })
  if (r.status === 2) {
    if (fx.refuse) {
      refused++
      console.log(`ok: ${fx.dir}: refused as expected: ${r.stderr.trim()}`)
    } else {
      fail++
      console.log(`FAIL: ${fx.dir}: refused: ${r.stderr.trim()}`)
    }
    return
  }
  if (r.status !== 0) {
    fail++
    console.log(`FAIL: ${fx.dir}: exit ${r.status}: ${r.stderr.trim()}`)
    return
  }
  if (fx.refuse) {
    fail++
    console.log(`FAIL: ${fx.dir}: listed, want a refusal`)
    return
  }
  const got = r.stdout.split('\n').filter(Boolean).sort()
  const missing = want.filter(f => !got.includes(f))
  const extra = got.filter(f => !want.includes(f))
  if (missing.length || extra.length) {
    fail++
    console.log(`FAIL: ${fx.dir}: npm packs but pubgate does not: ` +
      `${JSON.stringify(missing)}; pubgate lists but npm does not: ` +
      `${JSON.stringify(extra)}`)
  } else {
    same++
    console.log(`ok: ${fx.dir}: ${got.length} files as npm`)
  }
})
console.log(`${same} folders listed as npm lists them, ${refused} refused ` +
  `as expected, ${fail} failures`)
process.exit(fail ? 1 : 0)
