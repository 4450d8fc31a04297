import { describe, expect, test } from 'bun:test'
import type { Db } from '@logistics/shared/db'
import { databaseFingerprint, fingerprintDiff } from './fingerprint'
import { type HandlesRequests, send } from './http'
import { type OpenApiRoute, policyCoverage } from './openapi-routes'
import { problemViolation } from './problem'

type AuthzRequest = { path: string; body?: unknown; rawBody?: string; headers?: Record<string, string> }

/** One row of a policy table: the status each role gets for a valid request built for it. */
export type AuthzCase<R extends string> = {
  label?: string
  expect: Record<R, number>
  /** A valid request for `role` (fresh fixtures for state-changing routes are made here). */
  request: (role: R) => AuthzRequest | Promise<AuthzRequest>
  /** Roles whose 2xx answer must not contain any of `values` (another tenant's ids). */
  hidden?: { from: R[]; values: string[] }
}

/**
 * Sends `c`'s request as every role and answers what went wrong: a status other than the policy's,
 * an error that is not problem+json, a refused request that changed a row, or a refusal or a list
 * that shows `secrets` / hidden values of another tenant.
 */
export async function checkAuthzCase<R extends string>(
  options: {
    app: HandlesRequests
    db: Db<any>
    method: string
    roles: readonly R[]
    headersFor: (role: R) => Record<string, string>
    /** Strings of the fixtures' owners that no refusal may contain. */
    secrets: string[]
  },
  c: AuthzCase<R>,
): Promise<string[]> {
  const failures: string[] = []
  for (const role of options.roles) {
    const request = await c.request(role)
    const headers: Record<string, string> = { ...options.headersFor(role), ...request.headers }
    let body = request.rawBody
    if (request.body !== undefined) {
      body = JSON.stringify(request.body)
      headers['content-type'] ??= 'application/json'
    }
    const before = await databaseFingerprint(options.db)
    const answer = await send(options.app, options.method, request.path, { headers, body })
    const expected = c.expect[role]
    const where = `${c.label ? `[${c.label}] ` : ''}${role}: ${options.method} ${request.path}`
    if (answer.status !== expected)
      failures.push(`${where} answered ${answer.status}, policy says ${expected}: ${answer.text.slice(0, 200)}`)
    if (answer.status >= 400) {
      const problem = problemViolation(answer)
      if (problem) failures.push(`${where}: ${problem}`)
      const changed = fingerprintDiff(before, await databaseFingerprint(options.db))
      if (changed.length > 0) failures.push(`${where} was refused (${answer.status}) but changed ${changed.map((t) => t.table).join(', ')}`)
      // echoing what the caller sent (the id in its path) tells it nothing new
      const leaked = options.secrets.filter((s) => answer.text.includes(s) && !request.path.includes(s) && !(body ?? '').includes(s))
      if (leaked.length > 0) failures.push(`${where} refusal shows ${leaked.join(', ')}`)
    } else if (c.hidden?.from.includes(role)) {
      const leaked = c.hidden.values.filter((s) => answer.text.includes(s))
      if (leaked.length > 0) failures.push(`${where} shows another tenant's ${leaked.join(', ')}`)
    }
  }
  return failures
}

/** `{ role: status }` for every role, from a default and exceptions. */
export function statuses<R extends string>(
  roles: readonly R[],
  fallback: number,
  except: Partial<Record<R, number>> = {},
): Record<R, number> {
  return Object.fromEntries(roles.map((r) => [r, except[r] ?? fallback])) as Record<R, number>
}

/**
 * The authorization matrix as bun tests: one test that the policy table and the OpenAPI document
 * list the same routes, then one test per documented route that runs every case of its policy
 * for every role. `context` is read when the tests run (after the file's `beforeAll`).
 */
export function authorizationMatrix<R extends string>(options: {
  routes: OpenApiRoute[]
  policy: Record<string, AuthzCase<R>[]>
  context: () => Omit<Parameters<typeof checkAuthzCase<R>>[0], 'method'>
}) {
  test('the policy table and the OpenAPI document list the same routes', () => {
    expect(policyCoverage(options.routes, Object.keys(options.policy))).toEqual({ missingFromPolicy: [], notInDocument: [] })
  })
  describe('authorization matrix', () => {
    for (const route of options.routes) {
      test(route.key, async () => {
        const cases = options.policy[route.key]
        expect(cases, `no policy for ${route.key}`).toBeDefined()
        const failures: string[] = []
        for (const c of cases!) failures.push(...(await checkAuthzCase({ ...options.context(), method: route.method }, c)))
        expect(failures).toEqual([])
      })
    }
  })
}
