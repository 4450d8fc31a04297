import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../src/db'
import { DirectoryLockedError, lockDirectory, lockHolder, lockPathOf } from '../src/dir-lock'

const root = mkdtempSync(join(tmpdir(), 'dir-lock-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = () => join(root, `data-${++n}`)

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = Bun.spawn(['bun', '-e', '0'])
  await child.exited
  return child.pid
}

describe('the PGlite data folder lock', () => {
  test('a second lock on the same folder is refused, naming the holder; released, it can be taken again', () => {
    const dir = freshDir()
    const release = lockDirectory(dir)
    expect(readFileSync(lockPathOf(dir), 'utf8').trim()).toBe(String(process.pid))
    expect(() => lockDirectory(dir)).toThrow(DirectoryLockedError)
    expect(() => lockDirectory(dir)).toThrow(`in use by process ${process.pid}`)
    expect(lockHolder(dir)).toBe(process.pid)
    release()
    expect(existsSync(lockPathOf(dir))).toBe(false)
    expect(lockHolder(dir)).toBeUndefined()
    lockDirectory(dir)()
  })

  test('a stale lock (its process is gone, or the file is garbage) is taken over', async () => {
    const dir = freshDir()
    writeFileSync(lockPathOf(dir), `${await deadPid()}\n`)
    expect(lockHolder(dir)).toBeUndefined()
    const release = lockDirectory(dir)
    expect(readFileSync(lockPathOf(dir), 'utf8').trim()).toBe(String(process.pid))
    release()
    writeFileSync(lockPathOf(dir), 'not a pid')
    lockDirectory(dir)()
  })

  test('another live process holding the lock refuses it; killed with -9, its lock is recovered', async () => {
    const dir = freshDir()
    const child = Bun.spawn(
      [
        'bun',
        '-e',
        `const { lockDirectory } = await import(${JSON.stringify(join(import.meta.dir, '../src/dir-lock.ts'))}); lockDirectory(${JSON.stringify(dir)}); console.log('locked'); await Bun.sleep(60000)`,
      ],
      { stdout: 'pipe' },
    )
    try {
      const reader = (child.stdout as ReadableStream<Uint8Array>).getReader()
      expect(new TextDecoder().decode((await reader.read()).value)).toContain('locked')
      expect(() => lockDirectory(dir)).toThrow(`in use by process ${child.pid}`)
    } finally {
      child.kill('SIGKILL')
      await child.exited
    }
    const release = lockDirectory(dir)
    expect(readFileSync(lockPathOf(dir), 'utf8').trim()).toBe(String(process.pid))
    release()
  })

  test('openDatabase locks the folder: a second open is refused with one line, a close frees it', async () => {
    // The delivery service's migrations: its new database loads from the shared migrated template.
    const migrationsFolder = join(import.meta.dir, '../../delivery/drizzle')
    const options = { url: undefined, service: 'delivery', schema: {}, migrationsFolder, dataRoot: join(root, 'db') }
    const first = await openDatabase(options)
    try {
      const error = await openDatabase(options).then(
        () => undefined,
        (e: Error) => e,
      )
      expect(error).toBeInstanceOf(DirectoryLockedError)
      expect(error!.message).not.toContain('\n')
      expect(error!.message).toContain(join(root, 'db', 'delivery'))
    } finally {
      await first.close()
    }
    const again = await openDatabase(options)
    await again.close()
  }, 60_000)
})
