/**
 * Typed clients of both services, as a client developer would make them: openapi-fetch over the
 * types openapi-typescript generates from the services' OpenAPI documents (docs/openapi/*.d.ts,
 * written by `bun run docs`). A request or answer that drifts from the documents does not compile.
 * The demo (scripts/demo.ts) is written against them.
 */
import createClient from 'openapi-fetch'
import type { paths as DeliveryPaths } from '../docs/openapi/delivery'
import type { paths as EcommercePaths, LoginUser, Problem } from '../docs/openapi/ecommerce'

export function ecommerceClient(baseUrl: string, token?: string) {
  return createClient<EcommercePaths>({ baseUrl, headers: token ? { authorization: `Bearer ${token}` } : {} })
}

export function deliveryClient(baseUrl: string, apiKey?: string) {
  return createClient<DeliveryPaths>({ baseUrl, headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} })
}

type EcommerceClient = ReturnType<typeof ecommerceClient>

/** A logged-in user of the ecommerce API: a client that sends its token. */
export type Session = { client: EcommerceClient; user: LoginUser }

/** A failed call: its status and the problem's `code` and `detail`. */
class CallFailed extends Error {
  constructor(
    readonly what: string,
    readonly status: number,
    readonly problem: Partial<Problem> | undefined,
  ) {
    super(`${what}: ${status} ${problem?.code ?? ''} ${problem?.detail ?? ''}`.trim())
  }
}

/** The data of a call that succeeded; a CallFailed (with the problem's detail) otherwise. */
export function must<T>(what: string, result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data !== undefined) return result.data
  throw new CallFailed(what, result.response.status, result.error as Partial<Problem> | undefined)
}

/** Logs in; null when the credentials are refused. */
export async function logIn(baseUrl: string, email: string, password: string): Promise<Session | null> {
  const { data } = await ecommerceClient(baseUrl).POST('/auth/login', { body: { email, password } })
  return data ? { client: ecommerceClient(baseUrl, data.access_token), user: data.user } : null
}
