/**
 * Sums bun's JUnit reports into the one line CI reads: `N passed, N failed, N skipped`, after one
 * line per skipped test (`skipped: <file> › <suite> › <test name>`; server-only tests carry their
 * reason in their name). Exits non-zero when a report is missing or anything failed.
 *
 * An error thrown outside any test (bun's `# Unhandled error between tests`, counted in its `N errors`
 * line) fails `bun test` but is in no JUnit report: where the run's console output was saved beside
 * the report (`pglite.log` next to `pglite.xml`), each such error counts as one failure and is
 * printed, so the last lines of CI say what it was.
 */

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }
const unescapeXml = (text: string) =>
  text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, entity: string) =>
    entity.startsWith('#x') || entity.startsWith('#X')
      ? String.fromCodePoint(Number.parseInt(entity.slice(2), 16))
      : entity.startsWith('#')
        ? String.fromCodePoint(Number(entity.slice(1)))
        : (ENTITIES[entity] ?? whole),
  )

/** The skipped test cases of one report, as `file › suite › name`. */
export function skippedTests(xml: string): string[] {
  const found: string[] = []
  for (const match of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    if (!match[3] || !/<skipped\b/.test(match[3])) continue
    const attrs = match[1]!
    const attr = (name: string) => unescapeXml(attrs.match(new RegExp(`\\b${name}="([^"]*)"`))?.[1] ?? '')
    found.push([attr('file'), attr('classname'), attr('name')].filter(Boolean).join(' › '))
  }
  return found
}

const UNHANDLED = '# Unhandled error between tests'
const RULE = /^-{10,}$/

/** The errors bun reported outside any test in one run's console output, each as printed (at most 30 lines). */
function unhandledErrors(log: string): string[] {
  const lines = log.split('\n')
  const found: string[] = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== UNHANDLED) continue
    let start = i + 1
    if (RULE.test(lines[start]?.trim() ?? '')) start++
    let end = start
    while (end < lines.length && !RULE.test(lines[end]!.trim()) && lines[end]!.trim() !== UNHANDLED) end++
    found.push(lines.slice(start, Math.min(end, start + 30)).join('\n'))
    i = end - 1
  }
  // bun's own count (`3 errors`) is the truth when an error's block could not be told apart
  const counted = Number(log.match(/^\s*(\d+) errors?\s*$/m)?.[1] ?? 0)
  while (found.length < counted) found.push('(an error bun counted outside any test; see the run output above)')
  return found
}

export function summarize(reports: { path: string; xml: string; log?: string }[]) {
  let passed = 0
  let failed = 0
  let skipped = 0
  const lines: string[] = []
  const errors: string[] = []
  for (const { path, xml, log } of reports) {
    const root = xml.match(/<testsuites\b[^>]*>/)?.[0] ?? ''
    const attr = (name: string) => Number(root.match(new RegExp(`\\b${name}="(\\d+)"`))?.[1] ?? 0)
    const tests = attr('tests')
    const failures = attr('failures') + attr('errors')
    const skips = attr('skipped')
    failed += failures
    skipped += skips
    passed += tests - failures - skips
    const label = path.split('/').pop()
    for (const name of skippedTests(xml)) lines.push(`skipped (${label}): ${name}`)
    for (const error of unhandledErrors(log ?? '')) {
      failed++
      errors.push(`error outside any test (${label}):\n${error.replace(/^/gm, '    ')}`)
    }
  }
  lines.push(...errors)
  lines.push(`${passed} passed, ${failed} failed, ${skipped} skipped`)
  return { lines, passed, failed, skipped }
}

if (import.meta.main) {
  let missing = false
  const reports: { path: string; xml: string; log?: string }[] = []
  for (const path of process.argv.slice(2)) {
    const file = Bun.file(path)
    if (!(await file.exists())) {
      console.error(`missing test report: ${path}`)
      missing = true
      continue
    }
    const log = Bun.file(path.replace(/\.xml$/, '.log'))
    reports.push({ path, xml: await file.text(), log: (await log.exists()) ? await log.text() : undefined })
  }
  const summary = summarize(reports)
  for (const line of summary.lines) console.log(line)
  process.exit(missing || summary.failed > 0 ? 1 : 0)
}
