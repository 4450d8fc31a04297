/**
 * The facts docs/testing.md and the README state about the suite come from the tooling (scripts/test-facts.ts):
 * every PostgreSQL-only test is found in the test files, and the page quotes the current block.
 */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { root } from '../scripts/services'
import { postgresOnlyBlock, postgresOnlyTests, testFactsBlock } from '../scripts/test-facts'

test('every testOnPostgres call of the test files is counted, with its name', () => {
  const found = postgresOnlyTests()
  const perFile = new Map<string, number>()
  for (const t of found) perFile.set(t.file, (perFile.get(t.file) ?? 0) + 1)
  const files = Bun.spawnSync(['git', 'grep', '-l', 'testOnPostgres(', '--', '*.test.ts'], { cwd: root })
    .stdout.toString()
    .trim()
    .split('\n')
  for (const file of files) {
    // Call sites: the name at the start of a statement, not an import.
    const calls = readFileSync(join(root, file), 'utf8').match(/^\s*testOnPostgres\(/gm)?.length ?? 0
    expect(perFile.get(file) ?? 0, file).toBe(calls)
  }
  expect(found.length).toBeGreaterThan(0)
  for (const t of found) expect(t.name.length, `${t.file}: a name the scanner could read`).toBeGreaterThan(10)
})

test('docs/testing.md and the README quote the current facts block, and testing.md lists every PostgreSQL-only test (else: bun run docs)', () => {
  const testing = readFileSync(join(root, 'docs/testing.md'), 'utf8')
  expect(testing).toContain(testFactsBlock())
  expect(testing).toContain(postgresOnlyBlock())
  expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain(testFactsBlock())
  expect(testFactsBlock()).toContain(`${postgresOnlyTests().length} tests need a PostgreSQL server`)
})
