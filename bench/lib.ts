import { randomBytes } from 'node:crypto'
import { cpus } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'

/** Shared pieces of the benchmarks: databases, service processes, the load generator. */
export const root = join(import.meta.dir, '..')
export const serverUrl = process.env.DATABASE_URL?.startsWith('postgres') ? process.env.DATABASE_URL : 'postgres://postgres:postgres@127.0.0.1:5432/postgres'

/** A fresh database on the server; `drop()` removes it. */
export async function freshDatabase(label: string) {
  const name = `bench_${label}_${randomBytes(4).toString('hex')}`
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${name}"`)
  await admin.end()
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(serverUrl, { max: 1, onnotice: () => {} })
      await a.unsafe(`drop database if exists "${name}" with (force)`)
      await a.end()
    },
  }
}

export function rssMb(pid: number): number {
  const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8') as string
  const kb = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0)
  return Math.round(kb / 102.4) / 10
}

export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, fetch: () => new Response() })
  const port = s.port!
  s.stop(true)
  return port
}

export type Service = { url: string; port: number; pid: number; startMs: number; stop: () => Promise<void> }

/** Starts a service as its own process and waits for /health; `startMs` is spawn → first 200. */
export async function startService(name: 'delivery' | 'ecommerce', env: Record<string, string>): Promise<Service> {
  const port = await freePort()
  const started = performance.now()
  const child = Bun.spawn(['bun', join(root, name, 'src/index.ts')], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdout: 'ignore',
    stderr: 'inherit',
  })
  const url = `http://127.0.0.1:${port}`
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`)
    try {
      if ((await fetch(`${url}/health`)).ok) break
    } catch {}
    await Bun.sleep(10)
  }
  const startMs = Math.round(performance.now() - started)
  return {
    url,
    port,
    pid: child.pid,
    startMs,
    stop: async () => {
      child.kill('SIGTERM')
      await Promise.race([child.exited, Bun.sleep(5000)])
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }
}

export type LoadResult = { requests: number; errors: number; seconds: number; rps: number; p50: number; p99: number; statuses: Record<string, number> }

export type LoadSpec = {
  /** Each request picks one of these (round robin). */
  requests: { method: string; url: string; headers?: Record<string, string>; body?: string }[]
  concurrency: number
  durationMs: number
  warmupMs?: number
}

/** Runs the load generator in its own process (the two cores are shared with the server). */
export async function load(spec: LoadSpec): Promise<LoadResult> {
  const child = Bun.spawn(['bun', join(import.meta.dir, 'load.ts')], { stdin: 'pipe', stdout: 'pipe', stderr: 'inherit' })
  child.stdin.write(JSON.stringify(spec))
  await child.stdin.end()
  const out = await new Response(child.stdout).text()
  await child.exited
  return JSON.parse(out) as LoadResult
}

export const machine = () => ({
  cores: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  bun: Bun.version,
})

export const ratio = (a: number, b: number) => (b === 0 ? NaN : Math.round((a / b) * 100) / 100)
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
