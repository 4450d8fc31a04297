/**
 * `bun run dev`: both services as two processes on the embedded database (PGlite under ./.data/),
 * started together, with prefixed log lines (coloured at a terminal, unless NO_COLOR). Ctrl-C stops
 * both, and so does either one dying. Each start-up step prints one line as it is done: the
 * database and its migrations (each service), the administrator and the webhook registration
 * (ecommerce), then the demo data (loaded here, idempotent); then where to go.
 * Every environment variable passes through (e.g. STATUS_TICK_SECONDS=5 bun run dev);
 * DELIVERY_PORT and ECOMMERCE_PORT (default 3001 and 3000) place the two services: each gets its
 * own as PORT, the one variable a service reads.
 */
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { describeError } from './api'
import { painter, wantsColour } from './colour'
import { DEFAULT_PORTS, devBanner } from './dev-banner'
import { devPreflight } from './dev-preflight'
import { seed } from './seed'
import { root, type ServiceName, type ServiceProcess, startService } from './services'

const deliveryPort = Number(process.env.DELIVERY_PORT || DEFAULT_PORTS.delivery)
const ecommercePort = Number(process.env.ECOMMERCE_PORT || DEFAULT_PORTS.ecommerce)
const deliveryUrl = `http://localhost:${deliveryPort}`
const ecommerceUrl = `http://localhost:${ecommercePort}`

const colour = wantsColour()
const paint = painter(colour)
// The services write to our pipe, not to the terminal: when a person watches, ask them for readable
// (and coloured) lines. LOG_FORMAT=json bun run dev keeps JSON; output to a file or pipe stays JSON.
const logEnv: Record<string, string> =
  process.stdout.isTTY && !process.env.LOG_FORMAT ? { LOG_FORMAT: 'pretty', ...(colour && { FORCE_COLOR: '1' }) } : {}

const tint = { delivery: paint.cyan, ecommerce: paint.magenta, dev: paint.yellow } as const
const say = (name: ServiceName | 'dev', line: string) => console.log(`${tint[name](`${name.padEnd(9)}|`)} ${line}`)

// Refuse at once, before anything starts or touches .data, when another dev (or service) is in the way.
const problems = devPreflight({
  ports: { delivery: deliveryPort, ecommerce: ecommercePort },
  dataRoot: process.env.DATABASE_URL ? undefined : join(root, '.data'),
})
if (problems.length > 0) {
  for (const problem of problems) say('dev', `cannot start: ${problem}`)
  process.exit(1)
}

const children: Subprocess[] = []
let stopping = false
async function stopAll(code: number) {
  if (stopping) return
  stopping = true
  say('dev', 'stopping both services…')
  await Promise.all(
    children.map(async (child) => {
      child.kill('SIGTERM')
      await Promise.race([child.exited, Bun.sleep(10_000)])
      if (child.exitCode === null) child.kill('SIGKILL')
    }),
  )
  process.exit(code)
}
process.on('SIGINT', () => void stopAll(0))
process.on('SIGTERM', () => void stopAll(0))

function launch(name: ServiceName, port: number, env: Record<string, string>): Promise<ServiceProcess> {
  return startService(name, {
    port,
    env: { ...logEnv, ...env },
    onLine: (line) => say(name, line),
    onSpawn: (child) => {
      children.push(child)
      // Either one dying stops the other, even before it answers.
      void child.exited.then((code) => {
        if (stopping) return
        say('dev', `${name} exited (code ${code}); stopping the other one`)
        void stopAll(code || 1)
      })
    },
  })
}

/** Waits until ecommerce has registered its webhook on the delivery service (or given up: its /health says why). */
async function webhookRegistered(timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const body = await fetch(`${ecommerceUrl}/health`)
      .then((r) => r.json() as Promise<{ webhook_registration?: { state: string } }>)
      .catch(() => undefined)
    if (body?.webhook_registration?.state !== 'pending') return
    await Bun.sleep(100)
  }
}

say(
  'dev',
  `starting delivery (port ${deliveryPort}) and ecommerce (port ${ecommercePort}) on ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'PGlite in .data/'}…`,
)
try {
  // Together: ecommerce needs the delivery service only to register its webhook, which it retries.
  await Promise.all([
    launch('delivery', deliveryPort, {}),
    launch('ecommerce', ecommercePort, {
      DELIVERY_API_URL: process.env.DELIVERY_API_URL ?? deliveryUrl,
      PUBLIC_URL: process.env.PUBLIC_URL ?? ecommerceUrl,
    }),
  ])
  await webhookRegistered()
} catch (error) {
  say('dev', (error as Error).message)
  await stopAll(1)
}

try {
  const summary = await seed({ ecommerceUrl, log: (line) => say('dev', line) })
  const tick = await fetch(`${deliveryUrl}/health`)
    .then((r) => r.json() as Promise<{ tick_seconds?: number }>)
    .then((b) => b.tick_seconds)
    .catch(() => undefined)
  const lines = devBanner({
    urls: { ecommerce: ecommerceUrl, delivery: deliveryUrl },
    summary,
    tickSeconds: tick,
    readySeconds: performance.now() / 1000,
  })
  for (const line of lines) say('dev', line.startsWith('Both services') ? paint.bold(line) : line)
} catch (error) {
  say('dev', `loading the demo data failed: ${await describeError(error)}`)
}
