/** `bun run dev` refuses at once, before it starts anything or touches .data, when another one is in the way. */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { devPreflight } from '../scripts/dev-preflight'
import { freePort, root } from '../scripts/services'

const dataRoot = mkdtempSync(join(tmpdir(), 'dev-preflight-'))
afterAll(() => rmSync(dataRoot, { recursive: true, force: true }))

describe('bun run dev pre-flight', () => {
  test('a taken port is reported, with the variable that moves it', async () => {
    const taken = Bun.serve({ port: 0, fetch: () => new Response('the first dev') })
    try {
      const problems = devPreflight({ ports: { delivery: taken.port!, ecommerce: await freePort() }, dataRoot })
      expect(problems).toEqual([expect.stringContaining(`port ${taken.port} (delivery) is taken`)])
      expect(problems[0]).toContain('DELIVERY_PORT')
    } finally {
      taken.stop(true)
    }
    expect(devPreflight({ ports: { delivery: await freePort(), ecommerce: await freePort() }, dataRoot })).toEqual([])
  })

  test('a data folder locked by a live process is reported; a stale lock is not', async () => {
    const ports = { delivery: await freePort(), ecommerce: await freePort() }
    const holder = Bun.spawn(['bun', '-e', 'await Bun.sleep(60000)'])
    try {
      writeFileSync(join(dataRoot, 'ecommerce.lock'), `${holder.pid}\n`)
      expect(devPreflight({ ports, dataRoot })).toEqual([
        expect.stringContaining(`${join(dataRoot, 'ecommerce')} is in use by process ${holder.pid}`),
      ])
      // DATABASE_URL set: the services do not use .data, nothing to check there
      expect(devPreflight({ ports, dataRoot: undefined })).toEqual([])
    } finally {
      holder.kill('SIGKILL')
      await holder.exited
    }
    expect(devPreflight({ ports, dataRoot })).toEqual([])
  })

  test('bun run dev exits 1 at once when its port is taken, saying why, without starting a service', async () => {
    const taken = Bun.serve({ port: 0, fetch: () => new Response('the first dev') })
    try {
      const child = Bun.spawn(['bun', join(root, 'scripts/dev.ts')], {
        cwd: root,
        env: { ...process.env, DELIVERY_PORT: String(taken.port), ECOMMERCE_PORT: String(await freePort()), DATABASE_URL: 'memory://' },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
      const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
      clearTimeout(timer)
      const output = out + err
      expect(code).toBe(1)
      expect(output).toContain(`cannot start: port ${taken.port} (delivery) is taken`)
      expect(output).not.toContain('starting delivery')
      expect(output).not.toContain('Both services are up')
    } finally {
      taken.stop(true)
    }
  }, 30_000)
})
