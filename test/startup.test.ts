/**
 * Start-up when the database is not there: both services retry for DATABASE_CONNECT_TIMEOUT_SECONDS,
 * logging one line a try, then exit 1 with one line naming the host (never the password). The tests
 * run at once (separate processes; most of their time is waiting for the timeout).
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, root, startService } from '../scripts/services'

const dataDir = mkdtempSync(join(tmpdir(), 'startup-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

async function run(service: 'delivery' | 'ecommerce', env: Record<string, string>, cwd = root) {
  const child = Bun.spawn(['bun', join(root, service, 'src/index.ts')], {
    cwd,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', NODE_ENV: 'test', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
  return { code, stdout, stderr, output: stdout + stderr }
}

for (const service of ['delivery', 'ecommerce'] as const) {
  describe(`${service} start-up without its database`, () => {
    test.concurrent('retries for DATABASE_CONNECT_TIMEOUT_SECONDS, one line a try, then exits 1 with one line naming the host', async () => {
      const port = await freePort() // nothing listens there
      const r = await run(service, {
        DATABASE_URL: `postgres://someone:s3cret-pw@127.0.0.1:${port}/shop`,
        DATABASE_CONNECT_TIMEOUT_SECONDS: '2',
      })
      expect(r.code).toBe(1)
      const retries = r.output.split('\n').filter((l) => l.includes('retrying'))
      expect(retries.length).toBeGreaterThanOrEqual(1)
      for (const line of retries) expect(JSON.parse(line)).toMatchObject({ level: 'warn', host: `127.0.0.1:${port}/shop` })
      const last = r.stderr.trim().split('\n').at(-1)!
      expect(last).toStartWith(`${service}: cannot reach the database at 127.0.0.1:${port}/shop`)
      expect(last).toContain('DATABASE_CONNECT_TIMEOUT_SECONDS')
      expect(r.output).not.toContain('s3cret-pw')
      expect(r.output).not.toMatch(/^\s+at /m) // no stack trace
    }, 60_000)

    test.concurrent('a bad DATABASE_CONNECT_TIMEOUT_SECONDS is refused by name', async () => {
      const r = await run(service, { DATABASE_URL: 'memory://', DATABASE_CONNECT_TIMEOUT_SECONDS: 'soon' })
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('DATABASE_CONNECT_TIMEOUT_SECONDS: must be a whole number of seconds')
    }, 60_000)
  })
}

test.concurrent('a second service on the same PGlite folder exits 1 at once with one line naming the holder', async () => {
  const first = await startService('delivery', {
    cwd: dataDir,
    env: { DATABASE_URL: '', LOG_LEVEL: 'warn', NODE_ENV: 'test' },
    onLine: () => {},
  })
  try {
    const r = await run('delivery', { DATABASE_URL: '' }, dataDir)
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe(
      `delivery: the data folder ${join(dataDir, '.data', 'delivery')} is in use by process ${first.pid} (another \`bun run dev\` or service on it?); stop that process first, or set DATABASE_URL (if no process ${first.pid} uses it, delete ${join(dataDir, '.data', 'delivery.lock')})`,
    )
    expect((await fetch(`${first.url}/health`)).status).toBe(200)
  } finally {
    await first.stop()
  }
}, 60_000)
