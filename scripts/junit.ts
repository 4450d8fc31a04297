/**
 * JUnit reports for CI's own checks (scripts/compose-check.ts, scripts/walkthrough-check.ts), in the
 * shape bun's reporter writes, so scripts/junit-summary.ts counts them in CI's closing line.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

export type CheckResult = { name: string; ms: number; outcome: 'passed' | 'failed' | 'skipped'; message?: string; output?: string }

const xmlEscape = (s: string) =>
  s
    .replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)
    .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD]/g, '')

/** Writes `results` as one suite named `suite` (each case's classname `classname`), the last 20 000 characters of a failure's output kept. */
export function writeJunit(path: string, o: { name: string; suite: string; classname: string; ms: number; results: CheckResult[] }) {
  const count = (outcome: CheckResult['outcome']) => o.results.filter((r) => r.outcome === outcome).length
  const head = `tests="${o.results.length}" failures="${count('failed')}" errors="0" skipped="${count('skipped')}" time="${(o.ms / 1000).toFixed(3)}"`
  const cases = o.results.map((r) => {
    const open = `    <testcase name="${xmlEscape(r.name)}" classname="${xmlEscape(o.classname)}" time="${(r.ms / 1000).toFixed(3)}"`
    if (r.outcome === 'passed') return `${open} />`
    if (r.outcome === 'skipped') return `${open}>\n      <skipped message="${xmlEscape(r.message ?? '')}" />\n    </testcase>`
    return `${open}>\n      <failure message="${xmlEscape(r.message ?? '')}">${xmlEscape((r.output ?? '').slice(-20_000))}</failure>\n    </testcase>`
  })
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(
    path,
    `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${xmlEscape(o.name)}" ${head}>\n  <testsuite name="${xmlEscape(o.suite)}" ${head}>\n${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`,
  )
}
