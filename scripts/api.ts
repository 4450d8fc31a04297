/**
 * A small client of the ecommerce API for the seed and demo scripts (and the end-to-end tests):
 * ky with JSON, problem+json errors surfaced with their detail.
 */
import ky, { HTTPError, type KyInstance } from 'ky'

export type Api = KyInstance

export function api(baseUrl: string, token?: string): Api {
  return ky.create({
    prefix: baseUrl,
    timeout: 15_000,
    retry: 0,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  })
}

/** The status of a failed call, or 0 for a network failure; rethrows anything else. */
export async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise
    return 200
  } catch (error) {
    if (error instanceof HTTPError) return error.response.status
    throw error
  }
}

/** Logs in and returns a client that sends the token, plus the user. */
export async function login(baseUrl: string, email: string, password: string) {
  const session = await api(baseUrl)
    .post('auth/login', { json: { email, password } })
    .json<{ access_token: string; user: { id: string; email: string; role: string; seller_id: string | null } }>()
  return { client: api(baseUrl, session.access_token), user: session.user, token: session.access_token }
}

/** A readable message for a failed call (the problem's detail when there is one). */
export async function describeError(error: unknown): Promise<string> {
  if (error instanceof HTTPError) {
    const body = await error.response.text().catch(() => '')
    try {
      const problem = JSON.parse(body) as { status?: number; detail?: string; title?: string }
      return `${error.response.status} ${problem.detail ?? problem.title ?? body}`
    } catch {
      return `${error.response.status} ${body}`
    }
  }
  return error instanceof Error ? error.message : String(error)
}
