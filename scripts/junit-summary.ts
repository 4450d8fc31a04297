/**
 * Sums bun's JUnit reports into the one line CI reads: `N passed, N failed, N skipped`, after one
 * line per skipped test (`skipped: <file> › <suite> › <test name>`; server-only tests carry their
 * reason in their name). Exits non-zero when a report is missing or anything failed.
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

export function summarize(reports: { path: string; xml: string }[]) {
  let passed = 0
  let failed = 0
  let skipped = 0
  const lines: string[] = []
  for (const { path, xml } of reports) {
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
  }
  lines.push(`${passed} passed, ${failed} failed, ${skipped} skipped`)
  return { lines, passed, failed, skipped }
}

if (import.meta.main) {
  let missing = false
  const reports: { path: string; xml: string }[] = []
  for (const path of process.argv.slice(2)) {
    const file = Bun.file(path)
    if (!(await file.exists())) {
      console.error(`missing test report: ${path}`)
      missing = true
      continue
    }
    reports.push({ path, xml: await file.text() })
  }
  const summary = summarize(reports)
  for (const line of summary.lines) console.log(line)
  process.exit(missing || summary.failed > 0 ? 1 : 0)
}
