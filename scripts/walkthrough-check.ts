/**
 * CI's walkthrough check: the README's curl walkthrough (scripts/walkthrough.sh) against a fresh
 * `bun run dev`, exactly as a newcomer runs it but on free ports and in-memory databases (PGlite, the
 * embedded engine, so nothing under .data is touched), at the default 30 s tick.
 *
 *  1. `bun scripts/dev.ts` with ECOMMERCE_PORT/DELIVERY_PORT on free ports, in its own process group;
 *  2. waits until both services answer and ecommerce has registered its webhook;
 *  3. runs `bash scripts/walkthrough.sh` with ECOMMERCE_URL/DELIVERY_URL pointing at them;
 *  4. stops the pair (SIGTERM to dev, which stops both; the whole group is killed if it lingers).
 *
 * One JUnit test case (`--junit <file>`, default test-results/walkthrough.xml), counted in CI's closing
 * line; on failure the walkthrough's last lines (they name the step) and dev's last lines are printed.
 *
 *   bun scripts/walkthrough-check.ts [--junit test-results/walkthrough.xml]
 */
import { join, resolve } from 'node:path'
import { writeJunit } from './junit'
import { freePort, root } from './services'

const args = process.argv.slice(2)
const junitPath = resolve(root, (args.includes('--junit') && args[args.indexOf('--junit') + 1]) || 'test-results/walkthrough.xml')
const NAME = 'the README walkthrough (scripts/walkthrough.sh) against bun run dev, default tick'
const START_TIMEOUT_MS = 180_000
const WALKTHROUGH_TIMEOUT_MS = 150_000

const say = (text: string) => console.log(`walkthrough-check: ${text}`)
const started = performance.now()
/** The last `n` lines, without the colours dev gives its prefixes. */
const tail = (lines: string[], n: number) => Bun.stripANSI(lines.slice(-n).join('\n'))

/** Collects a child's output lines (both streams) into `lines`. */
async function collect(stream: ReadableStream<Uint8Array>, lines: string[]) {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    const parts = buffer.split('\n')
    buffer = parts.pop()!
    lines.push(...parts)
  }
  if (buffer) lines.push(buffer)
}

async function healthy(ecommerceUrl: string, deliveryUrl: string): Promise<boolean> {
  try {
    const [e, d] = await Promise.all([fetch(`${ecommerceUrl}/health`), fetch(`${deliveryUrl}/health`)])
    const body = (await e.json()) as { webhook_registration?: { state?: string } }
    return d.ok && e.ok && body.webhook_registration?.state === 'registered'
  } catch {
    return false
  }
}

const [ecommercePort, deliveryPort] = [await freePort(), await freePort()]
const ecommerceUrl = `http://localhost:${ecommercePort}`
const deliveryUrl = `http://localhost:${deliveryPort}`
const env: Record<string, string | undefined> = {
  ...process.env,
  ECOMMERCE_PORT: String(ecommercePort),
  DELIVERY_PORT: String(deliveryPort),
  DATABASE_URL: 'memory://',
  LOG_FORMAT: 'json',
}
// The defaults a newcomer gets, whatever this shell exported.
for (const name of ['STATUS_TICK_SECONDS', 'PUBLIC_URL', 'DELIVERY_API_URL', 'ECOMMERCE_URL', 'DELIVERY_URL']) delete env[name]

const devLines: string[] = []
const dev = Bun.spawn(['bun', join(root, 'scripts/dev.ts')], { cwd: root, env, stdout: 'pipe', stderr: 'pipe', detached: true })
void collect(dev.stdout, devLines)
void collect(dev.stderr, devLines)

let outcome: { ok: true } | { ok: false; message: string; output: string }
const walkLines: string[] = []
try {
  say(`starting bun run dev (ecommerce ${ecommerceUrl}, delivery ${deliveryUrl}, in-memory PGlite, default tick)`)
  const deadline = Date.now() + START_TIMEOUT_MS
  while (!(await healthy(ecommerceUrl, deliveryUrl))) {
    if (dev.exitCode !== null) throw new Error(`bun run dev exited with code ${dev.exitCode} before both services were up`)
    if (Date.now() > deadline) throw new Error(`both services were not up (webhook registered) within ${START_TIMEOUT_MS / 1000} s`)
    await Bun.sleep(250)
  }
  say(`both up after ${((performance.now() - started) / 1000).toFixed(1)} s; running scripts/walkthrough.sh`)
  const walk = Bun.spawn(['bash', join(root, 'scripts/walkthrough.sh')], {
    cwd: root,
    env: { ...env, ECOMMERCE_URL: ecommerceUrl, DELIVERY_URL: deliveryUrl },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const reading = Promise.all([collect(walk.stdout, walkLines), collect(walk.stderr, walkLines)])
  const timer = setTimeout(() => walk.kill('SIGKILL'), WALKTHROUGH_TIMEOUT_MS)
  const code = await walk.exited
  clearTimeout(timer)
  await reading
  if (code === 0) outcome = { ok: true }
  else {
    const reason =
      walkLines.findLast((l) => l.startsWith('✗'))?.slice(2) ??
      `exited with code ${code} (killed after ${WALKTHROUGH_TIMEOUT_MS / 1000} s?)`
    outcome = { ok: false, message: reason, output: `${tail(walkLines, 60)}\n--- bun run dev, last lines ---\n${tail(devLines, 40)}` }
  }
} catch (error) {
  outcome = { ok: false, message: (error as Error).message, output: tail(devLines, 60) }
} finally {
  dev.kill('SIGTERM')
  await Promise.race([dev.exited, Bun.sleep(15_000)])
  // dev stops both services on SIGTERM; whatever is left of its process group goes now.
  try {
    process.kill(-dev.pid, 'SIGKILL')
  } catch {}
}

const ms = performance.now() - started
for (const line of walkLines.filter((l) => l.startsWith('# '))) say(`  ${line.slice(2)}`)
if (outcome.ok) say(`✓ passed in ${(ms / 1000).toFixed(0)} s; report ${junitPath}`)
else {
  say(`✗ ${outcome.message}`)
  console.log(outcome.output)
}
writeJunit(junitPath, {
  name: 'walkthrough',
  suite: 'README walkthrough',
  classname: 'walkthrough',
  ms,
  results: [
    { name: NAME, ms, outcome: outcome.ok ? 'passed' : 'failed', ...(!outcome.ok && { message: outcome.message, output: outcome.output }) },
  ],
})
process.exit(outcome.ok ? 0 : 1)
