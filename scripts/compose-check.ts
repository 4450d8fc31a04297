/**
 * `bun run compose:check`: `docker compose up` for real, with the repository's own compose.yaml and
 * Dockerfiles (the CI stage after the two test passes; a developer can run it by hand).
 *
 *  1. A Docker engine: `../shared/docker/engine.sh start` when that folder sits beside the clone (CI; it
 *     also builds local stand-ins for the base images, which cannot be pulled there), else a `docker` on
 *     PATH that answers; with neither, every check is reported as skipped, with the reason.
 *  2. A throw-away stack: its own project name (`logistics-check`), its own env file made from
 *     .env.example (fresh strong secrets, a 2 s tick, free host ports) in a temporary folder.
 *  3. Build, `up --wait`, containers not running as root, `bun run seed` and `bun run demo` from the host
 *     against the published ports until both orders are delivered (through the signed webhooks), the data
 *     checked through the API; then `down` (volume kept) and `up --wait` again, and the same data checked
 *     again; `down -v` at the end whatever happened.
 *
 * Each check is one JUnit test case (`--junit <file>`, default test-results/compose.xml), so CI's closing
 * `N passed, N failed, N skipped` line counts them. Exit code 1 when a check failed, 0 when all passed or
 * all were skipped.
 *
 *   bun run compose:check                                   # ../shared/docker, or docker on PATH
 *   DOCKER_STANDIN_DIR=/path/to/shared/docker bun run compose:check
 *   COMPOSE_CHECK_KEEP=1 bun run compose:check              # leave the stack up afterwards (to inspect it)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { describeError, login } from './api'
import { envFromExample, exampleNames, formatEnvFile } from './compose-env'
import { type CheckResult, writeJunit } from './junit'
import { DEMO_CUSTOMERS, DEMO_PASSWORD, DEMO_SELLERS } from './seed'
import { freePort, root } from './services'

const PROJECT = process.env.COMPOSE_CHECK_PROJECT ?? 'logistics-check'
const TICK_SECONDS = '2'
const args = process.argv.slice(2)
const junitPath = resolve(root, (args.includes('--junit') && args[args.indexOf('--junit') + 1]) || 'test-results/compose.xml')
const standinDir = resolve(root, process.env.DOCKER_STANDIN_DIR ?? '../shared/docker')
const keep = process.env.COMPOSE_CHECK_KEEP === '1'

// --- results ------------------------------------------------------------------------------------

const results: CheckResult[] = []
const started = performance.now()

const say = (text: string) => console.log(`compose-check: ${text}`)

class CheckFailed extends Error {
  constructor(
    message: string,
    readonly output = '',
  ) {
    super(message)
  }
}

/** Runs one check; once one has failed the rest are skipped (they depend on it), unless `always`. */
async function check(name: string, body: () => Promise<unknown>, always = false): Promise<boolean> {
  if (!always && results.some((r) => r.outcome === 'failed')) {
    results.push({ name, ms: 0, outcome: 'skipped', message: 'an earlier check failed' })
    return false
  }
  const t = performance.now()
  say(`▶ ${name}`)
  try {
    const note = await body()
    const ms = performance.now() - t
    results.push({ name, ms, outcome: 'passed' })
    say(`✓ ${name} (${(ms / 1000).toFixed(1)} s)${typeof note === 'string' && note ? `: ${note}` : ''}`)
    return true
  } catch (error) {
    const ms = performance.now() - t
    const message = error instanceof CheckFailed ? error.message : await describeError(error)
    const output = error instanceof CheckFailed ? error.output : ''
    results.push({ name, ms, outcome: 'failed', message, output })
    say(`✗ ${name}: ${message}`)
    if (output) console.log(output.split('\n').slice(-80).join('\n'))
    return false
  }
}

function writeResults() {
  writeJunit(junitPath, {
    name: 'compose',
    suite: 'docker compose, for real',
    classname: 'compose',
    ms: performance.now() - started,
    results,
  })
}

// --- processes ----------------------------------------------------------------------------------

const dockerEnv: Record<string, string | undefined> = { ...process.env }

/** Runs a command; resolves with its combined output, or throws CheckFailed with it. */
async function run(
  cmd: string[],
  options: { env?: Record<string, string | undefined>; timeoutMs?: number; echo?: boolean; allowFailure?: boolean } = {},
): Promise<string> {
  const child = Bun.spawn(cmd, { cwd: root, env: options.env ?? dockerEnv, stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' })
  let output = ''
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder()
    const reader = stream.getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      const text = decoder.decode(value, { stream: true })
      output += text
      if (options.echo) process.stdout.write(text.replace(/^(?=.)/gm, '    '))
    }
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000)
  await Promise.all([pump(child.stdout), pump(child.stderr), child.exited])
  clearTimeout(timer)
  if (child.exitCode !== 0 && !options.allowFailure) {
    const why = child.signalCode
      ? `killed (${child.signalCode}) after ${(options.timeoutMs ?? 300_000) / 1000} s`
      : `exited with ${child.exitCode}`
    throw new CheckFailed(`\`${cmd.join(' ')}\` ${why}`, output)
  }
  return output
}

// --- 1. a Docker engine --------------------------------------------------------------------------

/** `export NAME=value` lines (as engine.sh prints them) applied to an environment, `$PATH` expanded. */
function applyExports(lines: string, env: Record<string, string | undefined>) {
  for (const [, name, value] of lines.matchAll(/^export ([A-Z_][A-Z0-9_]*)=(.*)$/gm))
    env[name!] = value!.replace(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g, (_, v: string) => env[v] ?? '')
}

/** A `docker` that reaches its daemon and has Compose v2 (`docker compose`). */
async function dockerWorks(): Promise<boolean> {
  const ok = (cmd: string[]) => {
    try {
      return Bun.spawnSync(cmd, { env: dockerEnv, stdout: 'ignore', stderr: 'ignore', timeout: 20_000 }).exitCode === 0
    } catch {
      return false // no docker on PATH at all
    }
  }
  return ok(['docker', 'info', '--format', '{{.ServerVersion}}']) && ok(['docker', 'compose', 'version', '--short'])
}

/** Base images the project needs: compose `image:` lines of services not built, and the Dockerfiles' FROM lines. */
function baseImages(compose: { services: Record<string, { image?: string; build?: string | { context?: string; dockerfile?: string } }> }) {
  const images = new Set<string>()
  for (const service of Object.values(compose.services)) {
    if (!service.build) {
      if (service.image) images.add(service.image)
      continue
    }
    const build = typeof service.build === 'string' ? { context: service.build } : service.build
    const dockerfile = resolve(root, build.context ?? '.', build.dockerfile ?? 'Dockerfile')
    const stages = new Set<string>()
    for (const [, from, stage] of readFileSync(dockerfile, 'utf8').matchAll(/^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/gim)) {
      if (!stages.has(from!)) images.add(from!)
      if (stage) stages.add(stage)
    }
  }
  return [...images]
}

// --- 2. the stack ---------------------------------------------------------------------------------

const exampleText = readFileSync(join(root, '.env.example'), 'utf8')
const composeFile = parseYaml(readFileSync(join(root, 'compose.yaml'), 'utf8'))
const workDir = mkdtempSync(join(tmpdir(), 'compose-check-'))
const envFile = join(workDir, 'check.env')
let stackCreated = false

function compose(...rest: string[]) {
  return [
    'docker',
    'compose',
    '--ansi',
    'never',
    '--project-name',
    PROJECT,
    '--env-file',
    envFile,
    '--file',
    join(root, 'compose.yaml'),
    ...rest,
  ]
}

async function tearDown() {
  if (!stackCreated) return
  stackCreated = false
  if (keep) {
    say(`COMPOSE_CHECK_KEEP=1: the stack stays up; remove it with: ${compose('down', '-v').join(' ')}`)
    return
  }
  await check(
    'down -v removes the stack and its volume',
    () => run(compose('down', '--volumes', '--remove-orphans', '--timeout', '10'), { timeoutMs: 120_000 }).then(() => {}),
    true,
  )
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, async () => {
    say(`${signal}: removing the stack`)
    await tearDown()
    if (!keep) rmSync(workDir, { recursive: true, force: true })
    process.exit(130)
  })

// --- 3. the checks ----------------------------------------------------------------------------------

type Order = { id: string; status: string; delivery: { tracking_number: string | null; status: string | null } }

/** What a user of the stack sees: the demo sellers (admin view), the customer's delivered orders, one tracking history. */
async function observed(ecommerceUrl: string, adminEmail: string, adminPassword: string) {
  const admin = await login(ecommerceUrl, adminEmail, adminPassword)
  const sellers = await admin.client.get('sellers', { searchParams: { limit: 100 } }).json<{ data: { name: string }[] }>()
  const missing = DEMO_SELLERS.map((s) => s.name).filter((name) => !sellers.data.some((s) => s.name === name))
  if (missing.length) throw new CheckFailed(`seeded sellers missing: ${missing.join(', ')}`)
  const shopper = await login(ecommerceUrl, DEMO_CUSTOMERS[0].email, DEMO_PASSWORD)
  const delivered = await shopper.client.get('orders', { searchParams: { status: 'delivered', limit: 100 } }).json<{ data: Order[] }>()
  if (delivered.data.length < 2)
    throw new CheckFailed(`${DEMO_CUSTOMERS[0].email} has ${delivered.data.length} delivered orders, expected at least 2`)
  const first = delivered.data.at(-1)!
  const tracking = await shopper.client.get(`orders/${first.id}/tracking`).json<{ tracking: { status: string }[] }>()
  if (tracking.tracking.at(-1)?.status !== 'DELIVERED')
    throw new CheckFailed(`the tracking history of order ${first.id} ends with ${tracking.tracking.at(-1)?.status}, not DELIVERED`)
  return {
    sellers: sellers.data.length,
    delivered: delivered.data.map((o) => `${o.id}:${o.delivery.tracking_number}:${o.delivery.status}`).sort(),
    tracking: tracking.tracking.map((e) => e.status),
  }
}

async function main() {
  // 1. the engine
  let engine: string
  if (existsSync(join(standinDir, 'engine.sh'))) {
    const ok = await check('docker engine starts (shared stand-in engine)', async () => {
      applyExports(await run([join(standinDir, 'engine.sh'), 'start'], { env: process.env, timeoutMs: 600_000 }), dockerEnv)
      if (!(await dockerWorks())) throw new CheckFailed('the engine started but `docker info` / `docker compose version` fail')
      const images = baseImages(composeFile)
      await run([join(standinDir, 'standin-images.sh'), ...images], { timeoutMs: 600_000 })
      return `base images ${images.join(', ')}`
    })
    if (!ok) return
    engine = `the stand-in engine from ${standinDir}`
  } else if (await dockerWorks()) {
    engine = 'the docker on PATH'
  } else {
    const reason = `no Docker engine: ${standinDir} is absent and no working \`docker\` with Compose v2 is on PATH`
    results.push({ name: 'docker compose up, for real', ms: 0, outcome: 'skipped', message: reason })
    say(`skipped: ${reason}`)
    return
  }
  say(`using ${engine}`)

  // 2. a throw-away env file from .env.example; none of its variables leak in from this shell
  const [ecommercePort, deliveryPort] = [await freePort(), await freePort()]
  const env = envFromExample(exampleText, {
    STATUS_TICK_SECONDS: TICK_SECONDS,
    ECOMMERCE_PORT: String(ecommercePort),
    DELIVERY_PORT: String(deliveryPort),
  })
  writeFileSync(envFile, formatEnvFile(env), { mode: 0o600 })
  for (const name of [...exampleNames(exampleText), ...Object.keys(env)]) delete dockerEnv[name]
  const ecommerceUrl = `http://127.0.0.1:${ecommercePort}`
  const host = { ...process.env, ECOMMERCE_URL: ecommerceUrl, ADMIN_EMAIL: env.ADMIN_EMAIL, ADMIN_PASSWORD: env.ADMIN_PASSWORD }

  // 3. the stack
  if (!(await check('compose config resolves with the generated env file', () => run(compose('config', '--quiet')).then(() => {})))) return
  // Whatever a previous interrupted run left behind.
  await run(compose('down', '--volumes', '--remove-orphans', '--timeout', '5'), { allowFailure: true, timeoutMs: 120_000 })
  if (!(await check('images build from the Dockerfiles', () => run(compose('build'), { timeoutMs: 600_000 }).then(() => {})))) return
  stackCreated = true
  const up = () => run(compose('up', '--detach', '--wait', '--wait-timeout', '180'), { timeoutMs: 240_000 })
  const onFailureLogs = async (body: () => Promise<unknown>) => {
    try {
      await body()
    } catch (error) {
      const logs = await run(compose('logs', '--no-color', '--tail', '60'), { allowFailure: true, timeoutMs: 60_000 })
      if (error instanceof CheckFailed) throw new CheckFailed(error.message, `${error.output}\n--- docker compose logs ---\n${logs}`)
      throw new CheckFailed(await describeError(error), `--- docker compose logs ---\n${logs}`)
    }
  }
  await check('up --wait: postgres, delivery and ecommerce healthy', () => onFailureLogs(up))
  await check('the service containers do not run as root', async () => {
    const uids: string[] = []
    for (const service of ['delivery', 'ecommerce']) {
      const uid = (await run(compose('exec', '-T', service, 'id', '-u'), { timeoutMs: 60_000 })).trim()
      if (!/^\d+$/.test(uid) || uid === '0') throw new CheckFailed(`${service} runs as uid ${JSON.stringify(uid)}`)
      uids.push(`${service} uid ${uid}`)
    }
    return uids.join(', ')
  })
  await check('bun run seed against the published port', () =>
    onFailureLogs(() => run(['bun', 'run', 'seed'], { env: host, echo: true, timeoutMs: 120_000 })),
  )
  await check('bun run demo: both orders delivered through the signed webhooks', () =>
    onFailureLogs(() => run(['bun', 'run', 'demo'], { env: host, echo: true, timeoutMs: 240_000 })),
  )
  let before: Awaited<ReturnType<typeof observed>> | undefined
  await check('the API shows the seeded sellers and the delivered orders', async () => {
    before = await observed(ecommerceUrl, env.ADMIN_EMAIL!, env.ADMIN_PASSWORD!)
    return `${before.delivered.length} delivered orders, tracking ${before.tracking.join(' → ')}`
  })
  await check('restart: down (volume kept) and up --wait again', () =>
    onFailureLogs(async () => {
      await run(compose('down', '--timeout', '10'), { timeoutMs: 120_000 })
      await up()
    }),
  )
  await check('after the restart the same data is there (both databases)', async () => {
    const after = await observed(ecommerceUrl, env.ADMIN_EMAIL!, env.ADMIN_PASSWORD!)
    if (JSON.stringify(after.delivered) !== JSON.stringify(before!.delivered))
      throw new CheckFailed(
        `delivered orders changed across the restart:\n${before!.delivered.join('\n')}\n---\n${after.delivered.join('\n')}`,
      )
    const again = await run(['bun', 'run', 'seed'], { env: host, timeoutMs: 120_000 })
    if (!again.includes('demo data: already there')) throw new CheckFailed('seed created data again after the restart', again)
    return `${after.delivered.length} delivered orders, ${after.sellers} sellers; seed finds everything in place`
  })
}

try {
  await main()
} catch (error) {
  results.push({ name: 'compose check', ms: 0, outcome: 'failed', message: await describeError(error) })
  console.error(error)
} finally {
  await tearDown()
  if (!keep) rmSync(workDir, { recursive: true, force: true })
  writeResults()
}
const failed = results.filter((r) => r.outcome === 'failed').length
const skipped = results.filter((r) => r.outcome === 'skipped').length
say(
  `${results.length - failed - skipped} passed, ${failed} failed, ${skipped} skipped in ${((performance.now() - started) / 1000).toFixed(0)} s; report ${junitPath}`,
)
process.exit(failed > 0 ? 1 : 0)
