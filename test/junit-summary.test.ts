/**
 * CI's summary of the JUnit reports (scripts/junit-summary.ts): every skipped test is listed by its
 * name, and a server-only test's name says why it is skipped.
 */
import { expect, test } from 'bun:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { POSTGRES_ONLY } from '@logistics/testkit/databases'
import { skippedTests, summarize } from '../scripts/junit-summary'
import { root } from '../scripts/services'

test('a PGlite run of the replica test reports its skipped test by name and reason, and no "(unnamed)" hook', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'junit-'))
  try {
    const outfile = join(dir, 'report.xml')
    const run = Bun.spawn(['bun', 'test', 'test/replicas.test.ts', '--reporter=junit', `--reporter-outfile=${outfile}`], {
      cwd: root,
      env: { ...process.env, TEST_DATABASE_URL: '' },
      stdout: 'ignore',
      stderr: 'ignore',
    })
    expect(await run.exited).toBe(0)
    const xml = await Bun.file(outfile).text()
    const skipped = skippedTests(xml)
    expect(skipped).toEqual([
      `test/replicas.test.ts › two delivery replicas on one database › each delivery steps once per tick, every change is notified, a SIGKILLed replica loses nothing ${POSTGRES_ONLY}`,
    ])
    expect(summarize([{ path: outfile, xml }]).lines.at(-1)).toBe('0 passed, 0 failed, 1 skipped')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}, 60_000)

test('the summary lists each skipped test of each report before the one count line', () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="bun test" tests="3" assertions="1" failures="0" skipped="2" time="0.1">
  <testsuite name="a.test.ts" file="a.test.ts" tests="3" failures="0" skipped="2">
    <testcase name="runs &amp; passes" classname="suite" time="0.1" file="a.test.ts" line="3" assertions="1" />
    <testcase name="needs &quot;x&quot; &lt;here&gt;" classname="suite" time="0" file="a.test.ts" line="4" assertions="0">
      <skipped />
    </testcase>
    <testcase name="later" classname="other" time="0" file="a.test.ts" line="5" assertions="0"><skipped /></testcase>
  </testsuite>
</testsuites>`
  expect(summarize([{ path: 'test-results/pglite.xml', xml }]).lines).toEqual([
    'skipped (pglite.xml): a.test.ts › suite › needs "x" <here>',
    'skipped (pglite.xml): a.test.ts › other › later',
    '1 passed, 0 failed, 2 skipped',
  ])
})

test('an error outside any test, which no JUnit report holds, counts as a failure and is printed from the console log', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'junit-'))
  try {
    // a timer of a passed test throws while the file's afterAll still runs
    await Bun.write(
      join(dir, 'late.test.ts'),
      "import { afterAll, test } from 'bun:test'\ntest('passes', () => { setTimeout(() => { throw new Error('thrown after its test') }, 5) })\nafterAll(() => Bun.sleep(100))\n",
    )
    const outfile = join(dir, 'report.xml')
    const run = Bun.spawn(['bun', 'test', '--reporter=junit', `--reporter-outfile=${outfile}`], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const [out, err, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited])
    expect(code).toBe(1)
    const xml = await Bun.file(outfile).text()
    expect(summarize([{ path: outfile, xml }]).failed).toBe(0) // what the report alone says
    const summary = summarize([{ path: outfile, xml, log: out + err }])
    expect(summary.failed).toBe(1)
    expect(summary.lines.at(-1)).toBe('1 passed, 1 failed, 0 skipped')
    expect(summary.lines.join('\n')).toContain('error outside any test (report.xml):')
    expect(summary.lines.join('\n')).toContain('thrown after its test')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}, 60_000)
