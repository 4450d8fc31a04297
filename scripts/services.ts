/**
 * Starting the two services as real processes: used by `bun run dev`, `bun run demo`, the
 * end-to-end tests and the benchmarks.
 */
import { join } from 'node:path'

export const root = join(import.meta.dir, '..')

export type ServiceName = 'delivery' | 'ecommerce'

export type ServiceProcess = {
  name: ServiceName
  url: string
  port: number
  pid: number
  process: ReturnType<typeof Bun.spawn>
  /** Milliseconds from spawn to the first healthy answer. */
  startMs: number
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop: (graceMs?: number) => Promise<void>
  /** SIGKILL at once (crash tests). */
  kill: () => Promise<void>
}

export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, fetch: () => new Response() })
  const port = s.port!
  s.stop(true)
  return port
}

async function pipeLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  const decoder = new TextDecoder()
  const reader = stream.getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buffer += decoder.decode(value, { stream: true })
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      onLine(buffer.slice(0, i))
      buffer = buffer.slice(i + 1)
    }
  }
  if (buffer) onLine(buffer)
}

/**
 * Spawns `bun <service>/src/index.ts` with `env` (on top of this process's environment) and
 * waits until GET /health answers 200. Lines it prints go to `onLine` (dropped when not given).
 */
export async function startService(
  name: ServiceName,
  options: {
    env?: Record<string, string | undefined>
    port?: number
    onLine?: (line: string) => void
    cwd?: string
    timeoutMs?: number
    /** Called with the process as soon as it is spawned (to stop it even if it never gets healthy). */
    onSpawn?: (child: ReturnType<typeof Bun.spawn>) => void
  } = {},
): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort())
  const started = performance.now()
  const child = Bun.spawn(['bun', join(root, name, 'src/index.ts')], {
    cwd: options.cwd ?? root,
    env: { ...process.env, ...options.env, PORT: String(port) },
    stdout: options.onLine ? 'pipe' : 'ignore',
    stderr: options.onLine ? 'pipe' : 'inherit',
  })
  options.onSpawn?.(child)
  if (options.onLine) {
    void pipeLines(child.stdout as ReadableStream<Uint8Array>, options.onLine)
    void pipeLines(child.stderr as ReadableStream<Uint8Array>, options.onLine)
  }
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} before it was healthy`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${name} was not healthy within ${options.timeoutMs ?? 60_000} ms`)
    }
    try {
      if ((await fetch(`${url}/health`)).ok) break
    } catch {}
    await Bun.sleep(25)
  }
  const startMs = Math.round(performance.now() - started)
  return {
    name,
    url,
    port,
    pid: child.pid,
    process: child,
    startMs,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await Promise.race([child.exited, Bun.sleep(graceMs)])
      if (child.exitCode === null) {
        child.kill('SIGKILL')
        await child.exited
      }
    },
    async kill() {
      if (child.exitCode !== null) return
      child.kill('SIGKILL')
      await child.exited
    },
  }
}
