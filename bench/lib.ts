import { randomBytes } from 'node:crypto'
import { cpus } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { type ServiceName, startService as startServiceProcess } from '../scripts/services'

/** Shared pieces of the benchmarks: databases, service processes, the load generator. */
export const serverUrl = process.env.DATABASE_URL?.startsWith('postgres')
  ? process.env.DATABASE_URL
  : 'postgres://postgres:postgres@127.0.0.1:5432/postgres'

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

export { freePort } from '../scripts/services'

/** Starts a service as its own process (quiet) and waits for /health. */
export const startService = (name: ServiceName, env: Record<string, string>) =>
  startServiceProcess(name, { env: { LOG_LEVEL: 'warn', ...env } })

export type LoadResult = {
  requests: number
  errors: number
  seconds: number
  rps: number
  p50: number
  p99: number
  statuses: Record<string, number>
}

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
