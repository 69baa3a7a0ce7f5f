// Summarises http-tests/cache-tests results the way the suite's own pages judge them
// (test-engine/lib/results.mjs, dependencies honoured): required tests passed, optional (optimal)
// tests passed, and the failed required ones. Usage:
//   node cache-tests-summary.mjs CACHE_TESTS_DIR RESULTS.json [REFERENCE.json ...]
// Prints one JSON object: {"subject": {...}, "references": {"nginx": {...}, ...}}.
import fs from 'fs'
import path from 'path'
import { pathToFileURL } from 'url'

const [dir, subject, ...references] = process.argv.slice(2)
if (!dir || !subject) {
  console.error('usage: cache-tests-summary.mjs CACHE_TESTS_DIR RESULTS.json [REFERENCE.json ...]')
  process.exit(2)
}
const tests = (await import(pathToFileURL(path.join(dir, 'tests/index.mjs')))).default
const { determineTestResult, resultTypes } =
  await import(pathToFileURL(path.join(dir, 'test-engine/lib/results.mjs')))

function summarise (file) {
  const results = JSON.parse(fs.readFileSync(file, 'utf8'))
  const out = { required: 0, required_passed: 0, optimal: 0, optimal_passed: 0, failed_required: [] }
  for (const suite of tests) {
    for (const test of suite.tests) {
      const kind = test.kind || 'required'
      if (kind === 'check') continue
      const verdict = determineTestResult(tests, test.id, results, true)
      const passed = verdict === resultTypes.pass
      out[kind] += 1
      if (passed) out[`${kind}_passed`] += 1
      if (kind === 'required' && !passed) out.failed_required.push(`${test.id}: ${test.name}`)
    }
  }
  return out
}

const report = { subject: summarise(subject), references: {} }
for (const ref of references) {
  const s = summarise(ref)
  delete s.failed_required
  report.references[path.basename(ref, '.json')] = s
}
console.log(JSON.stringify(report, null, 2))
