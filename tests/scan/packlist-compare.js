#!/usr/bin/env node
// tests/scan/packlist-compare.js: compares the file lists of
// `pubgate scan --list DIR` with npm's (`npm pack --dry-run --json` over
// the same folders, in order).  Prints one line per folder and a summary;
// exits 1 on any difference, or when a folder meant to be listed is
// refused, or one meant to be refused is listed.
// With POLICY, also judges each folder and the tarball npm wrote for it
// (NPM.json then comes from `npm pack --json --pack-destination TGZDIR`)
// and requires the same verdict, name, version, file count, unpacked size
// and reasons (rule, file, offset, text) from both.
// Usage: packlist-compare.js PUBGATE FIXTURES.json NPM.json [TGZDIR POLICY]
'use strict'
const { spawnSync } = require('child_process')
const fs = require('fs')

const path = require('path')
const [pubgate, fixFile, npmFile, tgzDir, policy] = process.argv.slice(2)
const { fixtures } = JSON.parse(fs.readFileSync(fixFile, 'utf8'))
const npm = JSON.parse(fs.readFileSync(npmFile, 'utf8'))
if (npm.length !== fixtures.length) {
  console.log(`FAIL: npm listed ${npm.length} packages, want ${fixtures.length}`)
  process.exit(1)
}
let fail = 0
let same = 0
let refused = 0
let judged = 0

// judge(): the facts of a report that must not depend on who packed it.
// The facts of a report that must not depend on who packed the tarball.
const facts = (rep) => ({
  verdict: rep.verdict,
  name: rep.name,
  version: rep.version,
  rule: rep.rule,
  files: rep.files,
  unpacked: rep.unpacked_bytes,
  reasons: rep.reasons.map(x => [x.rule, x.file, x.offset, x.text,
    x.warn, x.fingerprint].join('|')).sort(),
})
const toJudge = []

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
  if (policy && fx.judge) {
    toJudge.push([fx.dir, path.join(tgzDir, npm[i].filename)])
  }
})
// One pubgate run judges every folder and tarball (one policy load).
if (toJudge.length) {
  const r = spawnSync(pubgate, ['scan', '--json', '-p', policy,
    ...toJudge.flat()], { encoding: 'utf8', maxBuffer: 64 << 20 })
  const got = {}
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const j = JSON.parse(line)
    got[j.file] = facts(j.report)
  }
  if (r.status !== 0 && r.status !== 1) {
    fail++
    console.log(`FAIL: judging: exit ${r.status}: ${r.stderr.trim()}`)
  }
  for (const [dir, tgz] of toJudge) {
    const a = got[dir]
    const b = got[tgz]
    if (!a || !b || JSON.stringify(a) !== JSON.stringify(b)) {
      fail++
      console.log(`FAIL: ${dir}: folder judged ${JSON.stringify(a)}, ` +
        `npm's tarball ${JSON.stringify(b)}`)
    } else {
      judged++
      console.log(`ok: ${dir}: ${a.verdict} as npm's tarball ` +
        `(${a.reasons.length} reasons)`)
    }
  }
}
console.log(`${same} folders listed as npm lists them, ${judged} judged ` +
  `as npm's tarballs, ${refused} refused as expected, ${fail} failures`)
process.exit(fail ? 1 : 0)
