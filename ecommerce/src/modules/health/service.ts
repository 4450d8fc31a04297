import { pingDatabase } from '@logistics/shared/db'
import type { AppDeps } from '../../context'
import type { Health } from './model'

/** The readiness report (with the webhook registration's state), or null when the database does not answer. */
export async function readiness(deps: Pick<AppDeps, 'db' | 'webhookRegistration'>): Promise<Health | null> {
  if (!(await pingDatabase(deps.db))) return null
  const registration = deps.webhookRegistration?.status
  return { status: 'ok', ...(registration ? { webhook_registration: registration } : {}) }
}
