/**
 * New PGlite databases start from a migrated template (shared/src/pglite.ts): made once from the
 * base cluster (one initdb shared by both services) and the migrations, then loaded. A template that
 * does not load costs a rebuild, never a failure; a changed migration makes a new template.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import { openDatabase, type StartStep } from '../src/db'
import { extractTar, pgliteTemplate } from '../src/pglite'

const root = mkdtempSync(join(tmpdir(), 'pglite-template-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const cacheDir = join(root, 'cache')
const migrationsFolder = join(import.meta.dir, '../../delivery/drizzle')
const ecommerceMigrations = join(import.meta.dir, '../../ecommerce/drizzle')
/** How many migrations a folder holds (its drizzle journal's entries). */
const migrationCount = (folder: string) =>
  (JSON.parse(readFileSync(join(folder, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length

async function open(url: string | undefined, dataRoot = join(root, 'data')) {
  const steps: StartStep[] = []
  const database = await openDatabase({
    url,
    service: 'delivery',
    schema: {},
    migrationsFolder,
    dataRoot,
    pgliteTemplate: pgliteTemplate('delivery', migrationsFolder, cacheDir),
    onStep: (s) => steps.push(s),
  })
  const query = async (text: string) => (await database.pglite!.query<Record<string, unknown>>(text)).rows
  return { database, steps, query }
}

describe('the migrated PGlite template', () => {
  test('one initdb for both services, even when they start together; a template that does not load costs no more', async () => {
    const delivery = pgliteTemplate('delivery', migrationsFolder, cacheDir)
    mkdirSync(cacheDir, { recursive: true })
    writeFileSync(delivery.path, 'not a tar file, or half of one') // a truncated template
    const ecommerce = pgliteTemplate('ecommerce', ecommerceMigrations, cacheDir)
    let initdbs = 0
    for (const t of [delivery, ecommerce]) {
      const base = t.base
      t.base = (make) =>
        base(() => {
          initdbs++
          return make()
        })
    }
    const open = (service: string, folder: string, pgliteTemplate: typeof delivery) => {
      const steps: StartStep[] = []
      const opened = openDatabase({
        url: 'memory://',
        service,
        schema: {},
        migrationsFolder: folder,
        pgliteTemplate,
        onStep: (s) => steps.push(s),
      })
      return opened.then((database) => ({ database, steps, total: migrationCount(folder) }))
    }
    const both = await Promise.all([open('delivery', migrationsFolder, delivery), open('ecommerce', ecommerceMigrations, ecommerce)])
    try {
      expect(initdbs).toBe(1)
      for (const { steps, total } of both) {
        expect(steps.map((s) => s.step)).toEqual(['database', 'migrations'])
        expect(steps[0]).toMatchObject({ database: 'pglite', source: 'new' })
        expect(steps[1]).toMatchObject({ applied: total, total })
      }
      expect(await both[0].database.pglite!.query("select to_regclass('public.deliveries') is not null as ok")).toMatchObject({
        rows: [{ ok: true }],
      })
      expect(await both[1].database.pglite!.query("select to_regclass('public.orders') is not null as ok")).toMatchObject({
        rows: [{ ok: true }],
      })
    } finally {
      await Promise.all(both.map((b) => b.database.close()))
    }
    for (const t of [delivery, ecommerce]) expect(statSync(t.path).size).toBeGreaterThan(1_000_000)
    expect(readdirSync(cacheDir).filter((f) => f.startsWith('base-') && f.endsWith('.tar'))).toHaveLength(1)
  }, 120_000)

  test('the next new database, in memory or in a folder, is loaded from it: migrated, without template0/1', async () => {
    const memory = await open('memory://')
    try {
      expect(memory.steps[0]).toMatchObject({ source: 'template' })
      expect(memory.steps[1]).toMatchObject({ applied: 0, total: migrationCount(migrationsFolder) })
      expect(await memory.query('select datname from pg_database order by 1')).toEqual([{ datname: 'postgres' }])
      expect((await memory.query("select to_regclass('public.webhook_events') is not null as ok"))[0]).toEqual({ ok: true })
    } finally {
      await memory.database.close()
    }
    const folder = await open(undefined)
    try {
      expect(folder.steps[0]).toMatchObject({ source: 'template' })
      await folder.query('create table marker (x int)')
    } finally {
      await folder.database.close()
    }
    const again = await open(undefined)
    try {
      expect(again.steps[0]).toMatchObject({ source: 'existing' })
      expect((await again.query("select to_regclass('public.marker') is not null as ok"))[0]).toEqual({ ok: true })
    } finally {
      await again.database.close()
    }
  }, 60_000)

  test('a folder is written from the template whole or not at all', async () => {
    const { path } = pgliteTemplate('delivery', migrationsFolder, cacheDir)
    const dir = join(root, 'extracted')
    await extractTar(Bun.file(path), dir)
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true)
    expect(readdirSync(root).filter((f) => f.includes('.partial'))).toEqual([])
    const half = join(root, 'half')
    const bytes = new Uint8Array(await Bun.file(path).arrayBuffer())
    await expect(extractTar(new Blob([bytes.subarray(0, 100_000), new Uint8Array(512).fill(7)]), half)).rejects.toThrow()
    expect(existsSync(half)).toBe(false)
    expect(readdirSync(root).filter((f) => f.includes('.partial'))).toEqual([])
  })
  test('a changed migration is another template; saving it removes the old one', async () => {
    const changed = join(root, 'migrations')
    cpSync(migrationsFolder, changed, { recursive: true })
    const before = pgliteTemplate('delivery', changed, cacheDir) // the same files: the template of the tests above
    const sql = readdirSync(changed).find((f) => f.endsWith('.sql'))!
    appendFileSync(join(changed, sql), '\n-- one more line\n')
    const after = pgliteTemplate('delivery', changed, cacheDir)
    expect(after.path).not.toBe(before.path)
    expect(after.file).toBeUndefined()
    writeFileSync(before.path, 'the old template')
    // A stand-in for the database being dumped: what matters here is where the dump goes.
    const fake = { exec: async () => [], dumpDataDir: async () => new Blob(['a new template']) } as unknown as PGlite
    await after.save(fake)
    expect(existsSync(after.path)).toBe(true)
    expect(existsSync(before.path)).toBe(false)
  })
})
