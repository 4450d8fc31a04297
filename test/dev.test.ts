/**
 * `bun run dev` as a person meets it: one line per start-up step, in order; a banner whose commands
 * work as printed with moved ports; no colour codes in a pipe or with NO_COLOR; nothing at info
 * while the pair is idle; and the demo data loaded without a single 4xx in the services' logs.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { wantsColour } from '../scripts/colour'
import { demoCommand, devBanner, devCommand, quickTickHint } from '../scripts/dev-banner'
import { freePort, root } from '../scripts/services'

const summary = {
  created: [],
  password: 'demo-password-123',
  admin: { email: 'admin@example.com', password: 'admin-password-change-me' },
  users: [{ role: 'customer', email: 'ada@customer.example' }],
}

describe('the commands dev and demo print', () => {
  test('with the default ports they are the plain commands', () => {
    const urls = { ecommerce: 'http://localhost:3000', delivery: 'http://localhost:3001' }
    expect(demoCommand(urls)).toBe('bun run demo')
    expect(devCommand({ delivery: 3001, ecommerce: 3000 })).toBe('bun run dev')
    expect(quickTickHint(30, urls)).toBe('for a quicker run: STATUS_TICK_SECONDS=3 bun run dev, then bun run demo')
  })

  test('with moved ports they carry the ports and URLs in use', () => {
    const urls = { ecommerce: 'http://localhost:3300', delivery: 'http://localhost:3301' }
    const banner = devBanner({ urls, summary, tickSeconds: 30, readySeconds: 4.2 }).join('\n')
    expect(banner).toContain('ECOMMERCE_URL=http://localhost:3300 DELIVERY_URL=http://localhost:3301 bun run demo')
    expect(banner).toContain('DELIVERY_PORT=3301 ECOMMERCE_PORT=3300 STATUS_TICK_SECONDS=3 bun run dev')
    expect(banner).toContain('curl -s http://localhost:3300/products')
    expect(banner).not.toContain(':3000')
    expect(banner).not.toContain(':3001')
    expect(banner).toContain('ready in 4.2 s')
  })

  test('a faster tick is suggested only when the tick is slow, never the tick it already has', () => {
    const urls = { ecommerce: 'http://localhost:3000', delivery: 'http://localhost:3001' }
    for (const tick of [1, 3, 5, undefined]) {
      expect(quickTickHint(tick, urls)).toBeUndefined()
      expect(devBanner({ urls, summary, tickSeconds: tick, readySeconds: 1 }).join('\n')).not.toContain('STATUS_TICK_SECONDS=')
    }
    expect(quickTickHint(6, urls)).toContain('STATUS_TICK_SECONDS=3')
  })

  test('colours only for a terminal, never with NO_COLOR; FORCE_COLOR asks for them', () => {
    expect(wantsColour({ isTTY: true }, {})).toBe(true)
    expect(wantsColour({ isTTY: false }, {})).toBe(false)
    expect(wantsColour({}, {})).toBe(false)
    expect(wantsColour({ isTTY: true }, { NO_COLOR: '1' })).toBe(false)
    expect(wantsColour({ isTTY: true }, { NO_COLOR: '' })).toBe(true) // set but empty: no opinion
    expect(wantsColour({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true)
    expect(wantsColour({ isTTY: true }, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(false)
  })
})

describe('bun run dev, started for real (moved ports, in-memory databases, a 1 s tick)', () => {
  let child: ReturnType<typeof Bun.spawn>
  let output = ''
  let ports: { delivery: number; ecommerce: number }
  const lines = () => output.split('\n')

  beforeAll(async () => {
    ports = { delivery: await freePort(), ecommerce: await freePort() }
    child = Bun.spawn(['bun', 'scripts/dev.ts'], {
      cwd: root,
      env: {
        ...process.env,
        DELIVERY_PORT: String(ports.delivery),
        ECOMMERCE_PORT: String(ports.ecommerce),
        DATABASE_URL: 'memory://',
        STATUS_TICK_SECONDS: '1',
        LOG_LEVEL: 'info',
        NODE_ENV: 'development',
        FORCE_COLOR: '',
      },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const decoder = new TextDecoder()
    for (const stream of [child.stdout, child.stderr] as ReadableStream<Uint8Array>[])
      void (async () => {
        const reader = stream.getReader()
        for (let r = await reader.read(); !r.done; r = await reader.read()) output += decoder.decode(r.value, { stream: true })
      })()
    const deadline = Date.now() + 120_000
    while (!output.includes('Ctrl-C stops both.') && child.exitCode === null && Date.now() < deadline) await Bun.sleep(50)
    if (!output.includes('Ctrl-C stops both.')) throw new Error(`dev did not come up:\n${output}`)
  }, 150_000)

  afterAll(async () => {
    child?.kill('SIGINT')
    await child?.exited
  }, 30_000)

  /** The services' JSON lines (`delivery | {…}`), parsed. */
  const serviceLines = () =>
    lines().flatMap((l) => {
      const m = l.match(/^(delivery|ecommerce)\s*\| (\{.*\})$/)
      return m ? [{ service: m[1]!, ...(JSON.parse(m[2]!) as { level: string; msg: string; status?: number; path?: string }) }] : []
    })

  test('one line per start-up step, in order, then the banner', () => {
    const at = (service: string, msg: string) => lines().findIndex((l) => l.startsWith(service) && l.includes(`"msg":"${msg}`))
    const banner = lines().findIndex((l) => l.includes('Both services are up'))
    const demoData = lines().findIndex((l) => l.includes('demo data: created 2 sellers, 2 seller users, 12 products, 2 customers'))
    for (const service of ['delivery', 'ecommerce']) {
      expect(at(service, 'database ready')).toBeGreaterThan(0)
      expect(at(service, 'migrations')).toBeGreaterThan(at(service, 'database ready'))
    }
    expect(at('ecommerce', 'administrator created')).toBeGreaterThan(at('ecommerce', 'migrations'))
    expect(at('ecommerce', 'webhook registered on the delivery service')).toBeGreaterThan(at('ecommerce', 'administrator created'))
    expect(demoData).toBeGreaterThan(at('ecommerce', 'webhook registered on the delivery service'))
    expect(banner).toBeGreaterThan(demoData)
  })

  test('the banner commands carry the moved ports; no colour codes in a pipe', () => {
    expect(output).toContain(
      `ECOMMERCE_URL=http://localhost:${ports.ecommerce} DELIVERY_URL=http://localhost:${ports.delivery} bun run demo`,
    )
    expect(output).toContain(`curl -s http://localhost:${ports.ecommerce}/products`)
    expect(output).toContain('(status tick every 1 s)')
    expect(output).not.toContain('STATUS_TICK_SECONDS=3') // the tick is quick already
    expect(output).not.toContain('\x1b[')
  })

  test('loading the demo data makes no request that fails (no 401 or 409 in the logs)', () => {
    const requests = serviceLines().filter((l) => l.msg === 'request')
    expect(requests.length).toBeGreaterThan(10)
    expect(requests.filter((r) => (r.status ?? 0) >= 400)).toEqual([])
    expect(serviceLines().filter((l) => l.level !== 'info')).toEqual([])
  })

  test('idle, the pair logs nothing at info (ticks, the webhook queue, clean-ups)', async () => {
    const before = serviceLines().length
    await Bun.sleep(3_000) // three ticks, six dispatcher polls
    expect(serviceLines().slice(before)).toEqual([])
  }, 20_000)
})
