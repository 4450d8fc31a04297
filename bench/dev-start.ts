/**
 * The first minutes of a developer: a fresh clone to the `bun run dev` banner (`bun install`, then
 * dev on a new PGlite data folder with no template yet), a warm restart (the same clone again), a
 * start on a fresh data folder once the template exists, and the idle memory of the dev pair.
 * The clone is a copy of the repository's files (tracked and new, as they are in the working tree)
 * in a temporary folder: its own node_modules, .data and template cache. Ports are free ones.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { freePort, root } from '../scripts/services'
import { rssMb } from './lib'

/** Copies the repository's files (not node_modules, .data or anything ignored) into a new folder. */
function cloneRepository(): string {
  const dir = mkdtempSync(join(tmpdir(), 'logistics-clone-'))
  const listed = Bun.spawnSync(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root })
  if (!listed.success) throw new Error(`git ls-files failed: ${listed.stderr.toString()}`)
  for (const file of new Set(listed.stdout.toString().split('\0').filter(Boolean))) {
    if (!existsSync(join(root, file))) continue // deleted in the working tree
    mkdirSync(dirname(join(dir, file)), { recursive: true })
    copyFileSync(join(root, file), join(dir, file))
  }
  return dir
}

/** The pids of a process's children. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

type DevRun = { seconds: number; output: string; stop: () => Promise<void>; pids: number[] }

/** `bun run dev` in `dir` until its banner; `stop()` sends Ctrl-C and waits for it to exit. */
async function startDev(dir: string, ports: { delivery: number; ecommerce: number }): Promise<DevRun> {
  const started = performance.now()
  const env: Record<string, string | undefined> = {
    ...process.env,
    DELIVERY_PORT: String(ports.delivery),
    ECOMMERCE_PORT: String(ports.ecommerce),
    DATABASE_URL: '',
    NODE_ENV: 'development',
  }
  for (const name of ['LOG_LEVEL', 'LOG_FORMAT', 'STATUS_TICK_SECONDS', 'ADMIN_EMAIL', 'ADMIN_PASSWORD']) delete env[name]
  const child = Bun.spawn(['bun', 'run', 'dev'], { cwd: dir, env, stdout: 'pipe', stderr: 'pipe' })
  let output = ''
  const decoder = new TextDecoder()
  for (const stream of [child.stdout, child.stderr] as ReadableStream<Uint8Array>[])
    void (async () => {
      const reader = stream.getReader()
      for (let r = await reader.read(); !r.done; r = await reader.read()) output += decoder.decode(r.value, { stream: true })
    })()
  const deadline = Date.now() + 180_000
  while (!output.includes('Ctrl-C stops both.')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`bun run dev did not come up:\n${output}`)
    }
    await Bun.sleep(20)
  }
  const seconds = Math.round((performance.now() - started) / 100) / 10
  // `bun run dev` runs scripts/dev.ts as its child (or as itself), which runs the two services.
  const devPids = [child.pid, ...childrenOf(child.pid)]
  const pids = devPids.flatMap(childrenOf).filter((pid) => !devPids.includes(pid))
  return {
    seconds,
    output,
    pids,
    async stop() {
      for (const pid of devPids.reverse())
        try {
          process.kill(pid, 'SIGINT')
        } catch {}
      await Promise.race([child.exited, Bun.sleep(20_000)])
      if (child.exitCode === null) child.kill('SIGKILL')
      for (const pid of pids)
        try {
          process.kill(pid, 'SIGKILL')
        } catch {}
    },
  }
}

export type DevStartResult = {
  install_s: number
  fresh_clone_s: number
  fresh_data_dir_s: number
  warm_restart_s: number
  idle_rss_mb: { delivery: number; ecommerce: number; total: number }
  idle_seconds: number
}

/** Runs the three starts in a temporary clone; `idleSeconds` of idleness before reading the RSS. */
export async function benchDevStart(idleSeconds = 10): Promise<DevStartResult> {
  const dir = cloneRepository()
  try {
    const ports = { delivery: await freePort(), ecommerce: await freePort() }
    const installStarted = performance.now()
    const install = Bun.spawnSync(['bun', 'install', '--frozen-lockfile'], { cwd: dir, stdout: 'pipe', stderr: 'pipe' })
    if (!install.success) throw new Error(`bun install failed in the clone: ${install.stderr.toString()}`)
    const install_s = Math.round((performance.now() - installStarted) / 100) / 10

    const fresh = await startDev(dir, ports)
    await fresh.stop()

    const warm = await startDev(dir, ports)
    await Bun.sleep(idleSeconds * 1000)
    // The two services, told apart by their command lines.
    const rss = { delivery: 0, ecommerce: 0 }
    for (const pid of warm.pids) {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      if (cmd.includes('delivery/src/index.ts')) rss.delivery = rssMb(pid)
      if (cmd.includes('ecommerce/src/index.ts')) rss.ecommerce = rssMb(pid)
    }
    await warm.stop()

    rmSync(join(dir, '.data'), { recursive: true, force: true })
    const freshData = await startDev(dir, ports)
    await freshData.stop()

    return {
      install_s,
      fresh_clone_s: Math.round((install_s + fresh.seconds) * 10) / 10,
      fresh_data_dir_s: freshData.seconds,
      warm_restart_s: warm.seconds,
      idle_rss_mb: { ...rss, total: Math.round((rss.delivery + rss.ecommerce) * 10) / 10 },
      idle_seconds: idleSeconds,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
