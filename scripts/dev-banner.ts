/**
 * What `bun run dev` prints once both services are up, and the commands it and `bun run demo`
 * suggest, written so that they work as printed: with the ports and URLs actually in use (moved by
 * DELIVERY_PORT / ECOMMERCE_PORT), and a faster tick suggested only when the tick is slow.
 */
import type { SeedSummary } from './seed'

export const DEFAULT_PORTS = { delivery: 3001, ecommerce: 3000 } as const

/** A tick up to this many seconds makes the demo short enough: no faster one is suggested. */
const QUICK_TICK_SECONDS = 5
/** The tick suggested for a quick demo. */
const DEMO_TICK_SECONDS = 3

const portOf = (url: string) => {
  const u = new URL(url)
  return Number(u.port || (u.protocol === 'https:' ? 443 : 80))
}
const isLocal = (url: string) => ['localhost', '127.0.0.1', '[::1]'].includes(new URL(url).hostname)

/** `bun run dev`, with the port variables when the ports are not the defaults, and `env` before it. */
export function devCommand(ports: { delivery: number; ecommerce: number }, env: Record<string, string> = {}): string {
  const vars = {
    ...(ports.delivery !== DEFAULT_PORTS.delivery && { DELIVERY_PORT: String(ports.delivery) }),
    ...(ports.ecommerce !== DEFAULT_PORTS.ecommerce && { ECOMMERCE_PORT: String(ports.ecommerce) }),
    ...env,
  }
  return [...Object.entries(vars).map(([k, v]) => `${k}=${v}`), 'bun run dev'].join(' ')
}

/** `bun run demo` against these services (their URLs given when they are not the defaults). */
export function demoCommand(urls: { ecommerce: string; delivery: string }): string {
  const vars = [
    ...(urls.ecommerce !== `http://localhost:${DEFAULT_PORTS.ecommerce}` ? [`ECOMMERCE_URL=${urls.ecommerce}`] : []),
    ...(urls.delivery !== `http://localhost:${DEFAULT_PORTS.delivery}` ? [`DELIVERY_URL=${urls.delivery}`] : []),
  ]
  return [...vars, 'bun run demo'].join(' ')
}

/**
 * The restart with a quick tick, for a demo at `tick` seconds; undefined when the tick is already
 * quick (or unknown). Only for services on this machine (the ports come from their URLs).
 */
export function quickTickHint(tick: number | undefined, urls: { ecommerce: string; delivery: string }): string | undefined {
  if (tick === undefined || tick <= QUICK_TICK_SECONDS) return undefined
  const restart =
    isLocal(urls.ecommerce) && isLocal(urls.delivery)
      ? devCommand(
          { delivery: portOf(urls.delivery), ecommerce: portOf(urls.ecommerce) },
          { STATUS_TICK_SECONDS: String(DEMO_TICK_SECONDS) },
        )
      : `STATUS_TICK_SECONDS=${DEMO_TICK_SECONDS} on the delivery service`
  return `for a quicker run: ${restart}, then ${demoCommand(urls)}`
}

/** The lines after start-up: where the services are, who can log in, what to try next. */
export function devBanner(o: {
  urls: { ecommerce: string; delivery: string }
  summary: SeedSummary
  tickSeconds: number | undefined
  readySeconds: number
}): string[] {
  const { urls, summary } = o
  const hint = quickTickHint(o.tickSeconds, urls)
  return [
    '',
    `Both services are up (ready in ${o.readySeconds.toFixed(1)} s):`,
    `  ecommerce  ${urls.ecommerce}   Swagger UI ${urls.ecommerce}/swagger`,
    `  delivery   ${urls.delivery}   Swagger UI ${urls.delivery}/swagger${o.tickSeconds ? `   (status tick every ${o.tickSeconds} s)` : ''}`,
    `Administrator: ${summary.admin.email} / ${summary.admin.password}`,
    `Demo users (password ${summary.password}):`,
    ...summary.users.map((u) => `  ${u.role.padEnd(12)} ${u.email}`),
    'Next:',
    `  curl -s ${urls.ecommerce}/products`,
    `  curl -s -X POST ${urls.ecommerce}/auth/login -H 'content-type: application/json' -d '{"email":"${summary.users.find((u) => u.role === 'customer')?.email}","password":"${summary.password}"}'`,
    `  ${demoCommand(urls)}     # the whole story against these services`,
    ...(hint ? [`  (${hint})`] : []),
    'Ctrl-C stops both.',
  ]
}
