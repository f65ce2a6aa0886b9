// Runs the BSI's CSAF validator (@secvisogram/csaf-validator-lib, strict mode) on CSAF 2.0
// documents: its schema test and every mandatory test (6.1.x). Prints one JSON line per
// file: { "file", "isValid", "failed": [ { "name", "errors": [...] } ] }; exits 1 when a
// document fails a test, 2 on a usage or read error.
//
// Usage: node tests/node/csaf_validate.mjs FILE...   (EC_NODE_MODULES names node_modules)
import fs from 'node:fs'
import path from 'node:path'

const modules = process.env.EC_NODE_MODULES
if (!modules) {
  console.error('EC_NODE_MODULES is not set (scripts/test.sh sets it)')
  process.exit(2)
}
const lib = (file) => import(path.join(modules, '@secvisogram/csaf-validator-lib', file))
const validateStrict = (await lib('validateStrict.js')).default
const mandatory = await lib('mandatoryTests.js')
const schema = await lib('schemaTests.js')
const tests = [schema.csaf_2_0_strict ?? schema.csaf_2_0, ...Object.values(mandatory)].filter(Boolean)

let failed = false
for (const file of process.argv.slice(2)) {
  let doc
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (e) {
    console.error(`${file}: ${e.message}`)
    process.exit(2)
  }
  const result = await validateStrict(tests, doc)
  const bad = result.tests
    .filter((t) => !t.isValid || t.errors.length > 0)
    .map((t) => ({ name: t.name, errors: t.errors }))
  failed ||= !result.isValid || bad.length > 0
  console.log(JSON.stringify({ file, isValid: result.isValid, tests: result.tests.length, failed: bad }))
}
process.exit(failed ? 1 : 0)
