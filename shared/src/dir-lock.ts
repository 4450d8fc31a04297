import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'

/**
 * One process at a time on an on-disk PGlite folder: PGlite has no lock of its own, and two
 * processes on one folder corrupt it. The lock is a file beside the folder (`<dir>.lock`) holding
 * the owner's pid: refused while that process lives, taken over when it is gone (a crash, a kill -9).
 */
export class DirectoryLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
    readonly lockPath: string,
  ) {
    super(
      `the data folder ${dir} is in use by process ${pid} (another \`bun run dev\` or service on it?); stop that process first, or set DATABASE_URL (if no process ${pid} uses it, delete ${lockPath})`,
    )
    this.name = 'DirectoryLockedError'
  }
}

export const lockPathOf = (dir: string) => `${dir.replace(/[/\\]+$/, '')}.lock`

/** Locks this process holds, so a second open in the same process is refused too. */
const held = new Set<string>()

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/**
 * The pid of the live process holding the lock of `dir`, or undefined when it is free or stale
 * (read only: creates nothing). `bun run dev` asks before it starts anything.
 */
export function lockHolder(dir: string): number | undefined {
  const lockPath = lockPathOf(dir)
  const pid = readPid(lockPath)
  if (pid === undefined) return undefined
  if (pid === process.pid) return held.has(lockPath) ? pid : undefined
  return alive(pid) ? pid : undefined
}

/**
 * Takes the lock of `dir` (its parent folder must exist) or throws `DirectoryLockedError`.
 * Answers the release function (also run when the process exits normally).
 */
export function lockDirectory(dir: string): () => void {
  const lockPath = lockPathOf(dir)
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx')
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      held.add(lockPath)
      const release = () => {
        if (!held.delete(lockPath)) return
        process.off('exit', release)
        if (readPid(lockPath) === process.pid) unlinkSync(lockPath)
      }
      process.on('exit', release)
      return release
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const holder = lockHolder(dir)
    if (holder !== undefined) throw new DirectoryLockedError(dir, holder, lockPath)
    takeOverStale(lockPath)
  }
  throw new DirectoryLockedError(dir, readPid(lockPath) ?? 0, lockPath)
}

/**
 * Moves a stale lock aside (rename is atomic: of two processes recovering the same stale lock, one
 * moves it, the other finds it gone); when what was moved turns out to be a fresh lock another
 * process just took, it is put back (link fails if a lock exists again).
 */
function takeOverStale(lockPath: string) {
  const stale = readPid(lockPath)
  const aside = `${lockPath}.stale-${process.pid}-${Date.now()}`
  try {
    renameSync(lockPath, aside)
  } catch {
    return
  }
  const moved = readPid(aside)
  if (moved !== stale && moved !== undefined && alive(moved)) {
    try {
      linkSync(aside, lockPath)
    } catch {}
  }
  try {
    unlinkSync(aside)
  } catch {}
}
