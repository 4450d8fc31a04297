/**
 * `bun run dev`: both services as two processes on the embedded database (PGlite under ./.data/),
 * the delivery service first, with prefixed coloured log lines. Ctrl-C stops both, and so does
 * either one dying. Once both answer it loads the demo data (idempotent) and prints where to go.
 * Every environment variable passes through (e.g. STATUS_TICK_SECONDS=5 bun run dev);
 * DELIVERY_PORT and ECOMMERCE_PORT move the ports.
 */
import { join } from 'node:path'
import { describeError } from './api'
import { devPreflight } from './dev-preflight'
import { seed } from './seed'
import { root, type ServiceName, type ServiceProcess, startService } from './services'

const deliveryPort = Number(process.env.DELIVERY_PORT ?? 3001)
const ecommercePort = Number(process.env.ECOMMERCE_PORT ?? 3000)
const deliveryUrl = `http://localhost:${deliveryPort}`
const ecommerceUrl = `http://localhost:${ecommercePort}`

// The services write to our pipe, not to the terminal: when a person watches, ask them for readable
// (and coloured) lines. LOG_FORMAT=json bun run dev keeps JSON; output to a file or pipe stays JSON.
const logEnv: Record<string, string> =
  process.stdout.isTTY && !process.env.LOG_FORMAT
    ? { LOG_FORMAT: 'pretty', ...(process.env.NO_COLOR === undefined && { FORCE_COLOR: '1' }) }
    : {}

const colour = { delivery: '\x1b[36m', ecommerce: '\x1b[35m', dev: '\x1b[33m' } as const
const say = (name: ServiceName | 'dev', line: string) => console.log(`${colour[name]}${name.padEnd(9)}|\x1b[0m ${line}`)

// Refuse at once, before anything starts or touches .data, when another dev (or service) is in the way.
const problems = devPreflight({
  ports: { delivery: deliveryPort, ecommerce: ecommercePort },
  dataRoot: process.env.DATABASE_URL ? undefined : join(root, '.data'),
})
if (problems.length > 0) {
  for (const problem of problems) say('dev', `cannot start: ${problem}`)
  process.exit(1)
}

const running: ServiceProcess[] = []
let stopping = false
async function stopAll(code: number) {
  if (stopping) return
  stopping = true
  say('dev', 'stopping both services…')
  await Promise.all(running.map((s) => s.stop()))
  process.exit(code)
}
process.on('SIGINT', () => void stopAll(0))
process.on('SIGTERM', () => void stopAll(0))

async function launch(name: ServiceName, port: number, env: Record<string, string>) {
  say('dev', `starting ${name} on port ${port}…`)
  const service = await startService(name, { port, env: { ...logEnv, ...env }, onLine: (line) => say(name, line) })
  running.push(service)
  void service.process.exited.then((code) => {
    if (stopping) return
    say('dev', `${name} exited (code ${code}); stopping the other one`)
    void stopAll(code || 1)
  })
  return service
}

try {
  await launch('delivery', deliveryPort, {})
  await launch('ecommerce', ecommercePort, {
    DELIVERY_API_URL: process.env.DELIVERY_API_URL ?? deliveryUrl,
    PUBLIC_URL: process.env.PUBLIC_URL ?? ecommerceUrl,
  })
} catch (error) {
  say('dev', (error as Error).message)
  await stopAll(1)
}

try {
  const summary = await seed({ ecommerceUrl, log: (line) => say('dev', line) })
  say('dev', '')
  say('dev', 'Both services are up:')
  say('dev', `  ecommerce  ${ecommerceUrl}   Swagger UI ${ecommerceUrl}/swagger`)
  say('dev', `  delivery   ${deliveryUrl}   Swagger UI ${deliveryUrl}/swagger`)
  say('dev', `Administrator: ${summary.admin.email} / ${summary.admin.password}`)
  say('dev', `Demo users (password ${summary.password}):`)
  for (const u of summary.users) say('dev', `  ${u.role.padEnd(12)} ${u.email}`)
  say('dev', 'Next:')
  say('dev', `  curl -s ${ecommerceUrl}/products`)
  say(
    'dev',
    `  curl -s -X POST ${ecommerceUrl}/auth/login -H 'content-type: application/json' -d '{"email":"ada@customer.example","password":"${summary.password}"}'`,
  )
  say('dev', '  bun run demo     # the whole story against these services (STATUS_TICK_SECONDS=3 bun run dev for a quick one)')
  say('dev', 'Ctrl-C stops both.')
} catch (error) {
  say('dev', `loading the demo data failed: ${await describeError(error)}`)
}
