// Summary of a cache-tests results file, counted with the suite's own
// rules (test-engine/lib/results.mjs): node cache-tests-summary.mjs DIR FILE
import fs from 'fs'
import { pathToFileURL } from 'url'

const [dir, file] = process.argv.slice(2)
const { determineTestResult, resultTypes } =
  await import(pathToFileURL(`${dir}/test-engine/lib/results.mjs`))
const tests = (await import(pathToFileURL(`${dir}/tests/index.mjs`))).default
const results = JSON.parse(fs.readFileSync(file, 'utf8'))

const count = {}
const lines = []
for (const suite of tests) {
  for (const test of suite.tests) {
    const r = determineTestResult(tests, test.id, results)
    const name = Object.keys(resultTypes).find(k => resultTypes[k] === r)
    count[name] = (count[name] || 0) + 1
    if (name !== 'pass' && name !== 'yes' && name !== 'no' && name !== 'untested') {
      const detail = Array.isArray(results[test.id]) ? results[test.id][1] : ''
      lines.push(`${name}\t${test.id}\t${detail || ''}`)
    }
  }
}
lines.sort()
console.log(lines.join('\n'))
console.log(`passed ${count.pass || 0}, required failures ${count.fail || 0}, ` +
  `optional failures ${count.optional_fail || 0}, setup failures ` +
  `${count.setup_fail || 0}, harness failures ${count.harness_fail || 0}, ` +
  `dependency failures ${count.dependency_fail || 0}, ` +
  `checks yes/no ${count.yes || 0}/${count.no || 0}`)
