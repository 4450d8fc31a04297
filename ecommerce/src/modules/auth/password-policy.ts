import type { ZxcvbnFactory } from '@zxcvbn-ts/core'
import * as v from 'valibot'

/**
 * Which passwords users may choose, on top of the 8–200 characters of `PasswordSchema`: not the
 * email (nor built from it or the name) and not one of the common passwords, judged by zxcvbn-ts
 * with its packaged list of ~50 000 common passwords and keyboard patterns. A password must score
 * at least 2 of 4 ("somewhat guessable": more than ~10^6 guesses), which refuses `password1`,
 * `12345678`, `qwertyuiop`, `Password123` and the like, and accepts `correct horse`.
 */
const MIN_SCORE = 2

/**
 * zxcvbn's dictionaries cost a process ~20 MB that it does not give back, so they are loaded on
 * the first check (synchronously, ~50 ms), not at start-up: a service nobody registers with
 * never holds them. The start-up check of ADMIN_PASSWORD runs in a child process for the same
 * reason (`passwordWeaknessInChildProcess`).
 */
let estimator: ZxcvbnFactory | undefined
function zxcvbn(): ZxcvbnFactory {
  if (!estimator) {
    const { ZxcvbnFactory: Factory } = require('@zxcvbn-ts/core') as typeof import('@zxcvbn-ts/core')
    const { adjacencyGraphs, dictionary } = require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common')
    estimator = new Factory({ dictionary, graphs: adjacencyGraphs })
  }
  return estimator
}

/** Why `password` may not be used by the account `email` (and `name`), or undefined when it may. */
export function passwordWeakness(password: string, context: PasswordContext = {}): string | undefined {
  const email = context.email?.trim().toLowerCase()
  if (email && password.trim().toLowerCase() === email) return 'password must not be the email address'
  const inputs = [email, email?.split('@')[0], context.name].filter((s): s is string => !!s && s.length >= 3)
  const result = zxcvbn().check(password, inputs)
  if (result.score >= MIN_SCORE) return undefined
  const [how] = result.sequence.filter((s) => s.pattern === 'dictionary').map((s) => (s as { dictionaryName?: string }).dictionaryName)
  if (how === 'userInputs') return 'password is too close to the email or name; choose one that does not contain them'
  return 'password is too common or easy to guess; use a longer one, e.g. a few unrelated words'
}

type PasswordContext = { email?: string; name?: string }

/**
 * `passwordWeakness` in a short-lived child process (this file run by the same runtime): for the
 * one check at start-up, so the service itself never loads the dictionaries until a user sets a
 * password. Fails closed: a child that cannot answer is an error, never a pass.
 */
export function passwordWeaknessInChildProcess(password: string, context: PasswordContext = {}): string | undefined {
  const child = Bun.spawnSync([process.execPath, import.meta.path], {
    stdin: Buffer.from(JSON.stringify({ password, context })),
    env: { PATH: process.env.PATH ?? '' },
  })
  const answer = child.success ? (JSON.parse(child.stdout.toString()) as { weakness: string | null }) : undefined
  if (!answer)
    throw new Error(`the password check could not run (exit code ${child.exitCode}): ${child.stderr.toString().trim().slice(0, 200)}`)
  return answer.weakness ?? undefined
}

if (import.meta.main) {
  const { password, context } = JSON.parse(await Bun.stdin.text()) as { password: string; context: PasswordContext }
  console.log(JSON.stringify({ weakness: passwordWeakness(password, context) ?? null }))
}

type Account = { email: string; password: string; name?: unknown }

/**
 * The valibot pipe step for an object with `email` and `password` (and `name`) fields: a refused
 * password answers 422 with the error on `password`. It runs once email and password are valid,
 * whatever the other fields, so all errors come in one answer.
 */
export const strongPassword = <T extends Account>() =>
  v.rawCheck<T>(({ dataset, addIssue }) => {
    const input = dataset.value as Partial<Account> | undefined
    if (typeof input?.email !== 'string' || typeof input.password !== 'string') return
    const fieldFailed = dataset.issues?.some((i) => ['email', 'password'].includes(String(i.path?.[0]?.key)))
    if (fieldFailed) return
    const why = passwordWeakness(input.password, { email: input.email, name: typeof input.name === 'string' ? input.name : undefined })
    if (why)
      addIssue({
        message: why,
        path: [{ type: 'object', origin: 'value', input: input as Record<string, unknown>, key: 'password', value: input.password }],
      })
  })
