#!/usr/bin/env node
// tests/scan/sarif-validate.js: validates a SARIF log against the official
// SARIF 2.1.0 JSON schema (draft-04, as @microsoft/jest-sarif ships it,
// installed by tests/scan/install.sh) with ajv, every format checked;
// then what the schema cannot say: each result's ruleId is a rule of
// tool.driver.rules at ruleIndex, and every location is a relative URI.
// Prints the results as "level ruleId uri line" lines for the caller.
// Usage: sarif-validate.js LOG.sarif  (exit 0 valid, 1 not)
'use strict'
const fs = require('fs')
const path = require('path')

const nm = path.join(__dirname, 'node_modules')
const Ajv = require(path.join(nm, 'ajv-draft-04'))
const addFormats = require(path.join(nm, 'ajv-formats'))
const schema = require(path.join(nm, '@microsoft/jest-sarif/lib/schemas/' +
  'sarif-2.1.0-rtm.5.json'))

// unicodeRegExp: false: the schema's language pattern is valid only
// without the u flag (as JSON Schema draft-04 validators compile it).
const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false })
addFormats(ajv)
const validate = ajv.compile(schema)
const log = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
let ok = validate(log)
for (const e of validate.errors || []) {
  console.log(`schema: ${e.instancePath || '/'} ${e.message} ` +
    JSON.stringify(e.params))
}
if (log.version !== '2.1.0') {
  console.log('not version 2.1.0')
  ok = false
}
for (const run of log.runs || []) {
  const rules = run.tool.driver.rules || []
  for (const r of run.results || []) {
    if (!rules[r.ruleIndex] || rules[r.ruleIndex].id !== r.ruleId) {
      console.log(`result ${r.ruleId}: ruleIndex ${r.ruleIndex} names ` +
        `${rules[r.ruleIndex] && rules[r.ruleIndex].id}`)
      ok = false
    }
    for (const l of r.locations || []) {
      const u = l.physicalLocation.artifactLocation.uri
      if (/^[a-z]+:|^\//i.test(u)) {
        console.log(`result ${r.ruleId}: uri ${u} is not relative`)
        ok = false
      }
      const reg = l.physicalLocation.region || {}
      console.log(`${r.level} ${r.ruleId} ${u} ${reg.startLine || '-'}`)
    }
  }
}
console.log(ok ? 'valid SARIF 2.1.0' : 'INVALID')
process.exit(ok ? 0 : 1)
