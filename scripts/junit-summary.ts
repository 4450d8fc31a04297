/**
 * Sums bun's JUnit reports into the one line CI reads: `N passed, N failed, N skipped`.
 * Exits non-zero when a report is missing or anything failed.
 */
let passed = 0
let failed = 0
let skipped = 0
let missing = false
for (const path of process.argv.slice(2)) {
  const file = Bun.file(path)
  if (!(await file.exists())) {
    console.error(`missing test report: ${path}`)
    missing = true
    continue
  }
  const xml = await file.text()
  const root = xml.match(/<testsuites\b[^>]*>/)?.[0] ?? ''
  const attr = (name: string) => Number(root.match(new RegExp(`\\b${name}="(\\d+)"`))?.[1] ?? 0)
  const tests = attr('tests')
  const failures = attr('failures') + attr('errors')
  const skips = attr('skipped')
  failed += failures
  skipped += skips
  passed += tests - failures - skips
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(missing || failed > 0 ? 1 : 0)
export {}
