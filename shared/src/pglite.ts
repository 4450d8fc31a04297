import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import { DirectoryLockedError, lockDirectory } from './dir-lock'

/**
 * PGlite, the embedded database of development and tests: its server settings, and migrated
 * templates that spare a new database its `initdb`.
 *
 * A new PGlite cluster runs `initdb` in WebAssembly: seconds of CPU (measured here: 4–8 s, most of
 * a fresh service's start, and of every test that starts a service on a fresh folder). The first
 * new database of a service with a given set of migrations is made that way and then dumped (after
 * its migrations) to `<repo>/node_modules/.cache/logistics-pglite/<service>-<key>.tar`; every later
 * new database of that service, on disk or in memory, is loaded from that file instead (a tenth
 * of the cost: ~0.5 s). The key is a hash of PGlite's version and the migration files, so a new
 * migration or PGlite version makes a new template (the old one is deleted). Best effort: a cache
 * that cannot be read or written only costs the `initdb`.
 */

/**
 * Server settings given at every start (not stored in the cluster). shared_buffers: initdb's 128 MB
 * live in the WebAssembly memory, which never shrinks, so a service held ~130 MB more than with
 * 16 MB (measured); a development or test database fits in 16 MB of buffers.
 */
export const PGLITE_SETTINGS = ['-c', 'shared_buffers=16MB']

/**
 * initdb's options for a new cluster: 1 MB WAL segments (instead of 16: the segment is created whole,
 * and every template and new database would carry it).
 */
export const PGLITE_INITDB = ['--wal-segsize=1']

/** Changes when what a template holds changes (2: without template0/1, 1 MB WAL segments). */
const TEMPLATE_FORMAT = 2

/** Where templates are kept (the repository's node_modules/.cache, beside other tools' caches). */
const CACHE_DIR = join(import.meta.dir, '../../node_modules/.cache/logistics-pglite')

const pgliteVersion = (() => {
  try {
    const pkg = require.resolve('@electric-sql/pglite/package.json')
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
})()

/** A hash of every migration file (journal, snapshots and SQL): what a migrated database holds. */
export function migrationsKey(migrationsFolder: string): string {
  const hash = createHash('sha256')
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
      .sort()
  for (const file of files(migrationsFolder)) hash.update(file.slice(migrationsFolder.length)).update(readFileSync(file))
  return hash.digest('hex').slice(0, 16)
}

/** The template's key: its format, PGlite's version and initdb options, and the migrations. */
const templateKey = (migrationsFolder: string) =>
  createHash('sha256')
    .update(`${TEMPLATE_FORMAT} ${pgliteVersion} ${PGLITE_INITDB.join(' ')} ${migrationsKey(migrationsFolder)}`)
    .digest('hex')
    .slice(0, 16)

export type PgliteTemplate = {
  /** Where the template is (or will be) kept. */
  path: string
  /** The template file, when one is there to load from. */
  file: Blob | undefined
  /**
   * The base cluster to make the database from when there is no template: initdb's output, shared
   * by both services (see `baseCluster`); `make` runs initdb and dumps it. Undefined when it cannot
   * be had (no cache): then the caller runs initdb itself.
   */
  base: (make: () => Promise<Blob>) => Promise<Blob | undefined>
  /** Dumps a freshly made and migrated database as the template (when there was none). */
  save: (pglite: PGlite) => Promise<void>
}

/** Leaves only the `postgres` database: template0 and template1 serve only CREATE DATABASE, which nobody runs on PGlite. */
export async function dropTemplateDatabases(pglite: Pick<PGlite, 'exec'>) {
  await pglite.exec(`update pg_database set datistemplate = false where datname in ('template0', 'template1')`)
  for (const statement of ['drop database if exists template0', 'drop database if exists template1', 'checkpoint'])
    await pglite.exec(statement)
}

/** Writes `data` to `path` beside, then renamed: a reader never sees half a file, and two writers both leave a whole one. */
async function writeWhole(path: string, data: Blob) {
  mkdirSync(join(path, '..'), { recursive: true })
  const partial = `${path}.${process.pid}.partial`
  writeFileSync(partial, new Uint8Array(await data.arrayBuffer()))
  renameSync(partial, path)
}

const usable = (path: string) => existsSync(path) && statSync(path).size > 0

/**
 * The base cluster (initdb's output, without template0/template1) every new database without a
 * template starts from, made once per PGlite version and shared by both services: a fresh clone
 * pays one initdb, not one per service. Two processes asking at once: one makes it (under a lock
 * file), the other waits for it, on a busy 2-core machine much faster than two initdbs side by side
 * (measured: 5 s alone, 14 s each for two at once). Undefined when the cache cannot be written.
 */
async function baseCluster(cacheDir: string, make: () => Promise<Blob>): Promise<Blob | undefined> {
  const key = createHash('sha256')
    .update(`${TEMPLATE_FORMAT} ${pgliteVersion} ${PGLITE_INITDB.join(' ')}`)
    .digest('hex')
    .slice(0, 16)
  const path = join(cacheDir, `base-${key}.tar`)
  const deadline = Date.now() + 120_000
  for (;;) {
    if (usable(path)) return Bun.file(path)
    let release: () => void
    try {
      mkdirSync(cacheDir, { recursive: true })
      release = lockDirectory(path.replace(/\.tar$/, ''))
    } catch (error) {
      // Another process makes it: wait (a crashed maker's lock is taken over on the next try).
      if (!(error instanceof DirectoryLockedError) || Date.now() > deadline) return undefined
      await Bun.sleep(100)
      continue
    }
    try {
      if (!usable(path)) {
        await writeWhole(path, await make())
        for (const old of readdirSync(cacheDir))
          if (old.startsWith('base-') && old.endsWith('.tar') && join(cacheDir, old) !== path) rmSync(join(cacheDir, old), { force: true })
      }
      return Bun.file(path)
    } catch {
      return undefined
    } finally {
      release()
    }
  }
}

/** The template of `service` for the migrations in `migrationsFolder`. */
export function pgliteTemplate(service: string, migrationsFolder: string, cacheDir = CACHE_DIR): PgliteTemplate {
  const path = join(cacheDir, `${service}-${templateKey(migrationsFolder)}.tar`)
  return {
    path,
    file: usable(path) ? Bun.file(path) : undefined,
    base: (make) => baseCluster(cacheDir, make),
    async save(pglite) {
      try {
        // Without template0 and template1 the template is 16 MB instead of 41 (with 1 MB WAL
        // segments, PGLITE_INITDB), and every load copies it twice (the tar, then the files): ~60 % less.
        await dropTemplateDatabases(pglite)
        await writeWhole(path, await pglite.dumpDataDir('none'))
        for (const old of readdirSync(cacheDir))
          if (old.startsWith(`${service}-`) && old.endsWith('.tar') && join(cacheDir, old) !== path)
            rmSync(join(cacheDir, old), { force: true })
        Bun.gc(true) // the dump's copies (tens of MB) go back before the service settles
      } catch {
        // No cache (read-only folder, full disk): the next new database is made again.
      }
    },
  }
}

/**
 * Writes the files of a tar archive (PGlite's dump: ustar, directories and regular files only) into
 * `dir`, whole or not at all: into a sibling folder first, renamed to `dir` (which must be empty)
 * at the end, so a crash halfway leaves no half a database behind.
 */
export async function extractTar(archive: Blob, dir: string): Promise<void> {
  const bytes = new Uint8Array(await archive.arrayBuffer())
  const text = (from: number, length: number) => {
    const field = bytes.subarray(from, from + length)
    const end = field.indexOf(0)
    return new TextDecoder().decode(end < 0 ? field : field.subarray(0, end))
  }
  const partial = `${dir}.partial-${process.pid}`
  rmSync(partial, { recursive: true, force: true })
  mkdirSync(partial, { recursive: true })
  try {
    for (let offset = 0; ; ) {
      if (offset + 512 > bytes.length) throw new Error('the archive is truncated')
      if (bytes[offset] === 0) break // the zero blocks that end the archive
      if (text(offset + 257, 5) !== 'ustar') throw new Error('not a ustar archive')
      const prefix = text(offset + 345, 155)
      const name = (prefix ? `${prefix}/` : '') + text(offset + 0, 100)
      const size = Number.parseInt(text(offset + 124, 12).trim() || '0', 8)
      const mode = Number.parseInt(text(offset + 100, 8).trim() || '0', 8)
      const type = String.fromCharCode(bytes[offset + 156] ?? 0)
      if (offset + 512 + size > bytes.length) throw new Error('the archive is truncated')
      const path = join(partial, name.replace(/^\/+/, ''))
      if (!path.startsWith(`${partial}/`) || name.split('/').includes('..')) throw new Error(`an unsafe path in the archive: ${name}`)
      if (type === '5') mkdirSync(path, { recursive: true, mode: mode || 0o700 })
      else if (type === '0' || type === '\0') {
        mkdirSync(join(path, '..'), { recursive: true })
        writeFileSync(path, bytes.subarray(offset + 512, offset + 512 + size), { mode: mode || 0o600 })
      } else throw new Error(`an entry of type ${JSON.stringify(type)} in the archive`)
      offset += 512 + Math.ceil(size / 512) * 512
    }
    rmSync(dir, { recursive: true, force: true })
    renameSync(partial, dir)
  } catch (error) {
    rmSync(partial, { recursive: true, force: true })
    throw error
  }
}
