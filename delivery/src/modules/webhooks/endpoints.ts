/**
 * The health of a webhook endpoint (one subscription): every attempt's outcome updates it.
 *
 * - A failed attempt makes the endpoint `failing`: from then on only one event at a time goes to it
 *   (a probe), not before `retry_at` = the failure + as long as the run of failures has lasted so far,
 *   at least `baseMs`, at most `maxMs` (±25 % jitter): probes 2 s, 4 s, 8 s… into the run, the wait
 *   doubling with each failed probe whatever the number of sends that failed together. The probe's
 *   answer decides: a 2xx makes it `active` again at full rate.
 * - Once it has failed `disableAfterFailures` attempts in a row AND for at least `disableAfterMs`
 *   (both), it is `disabled`: nothing more is sent, its pending events and those written while it is
 *   disabled are given up (state `failed`), so `POST /webhooks/{id}/recover` can re-send them after
 *   the client enables it again (`POST /webhooks/{id}/enable`, or registering the same url).
 *
 * docs/webhooks.md states these numbers; keep them in step.
 */
export type EndpointRule = {
  baseMs: number
  maxMs: number
  disableAfterFailures: number
  disableAfterMs: number
}

export const ENDPOINT_RULE: EndpointRule = {
  baseMs: 2_000,
  maxMs: 5 * 60_000,
  disableAfterFailures: 20,
  disableAfterMs: 24 * 60 * 60_000,
}

export type EndpointState = 'active' | 'failing' | 'disabled'

export function endpointState(row: { disabledAt: Date | null; consecutiveFailures: number }): EndpointState {
  if (row.disabledAt) return 'disabled'
  return row.consecutiveFailures > 0 ? 'failing' : 'active'
}

/** What one batch of outcomes says about one endpoint, in the order they happened. */
export type EndpointOutcome = {
  subscription_id: string
  /** An attempt in the batch succeeded: the run of failures before it is over. */
  ok: boolean
  /** Failed attempts after the batch's last success (all of them when none succeeded). */
  failures: number
  first_failure_at: string | null
  last_failure_at: string | null
  last_error: string | null
  /** A draw in [0, 1) for the retry delay's jitter. */
  jitter: number
}

export function endpointOutcomes(
  outcomes: { subscription_id: string; at: string; error: string | null }[],
  random: () => number,
): EndpointOutcome[] {
  const bySubscription = new Map<string, EndpointOutcome>()
  for (const o of [...outcomes].sort((a, b) => a.at.localeCompare(b.at))) {
    let e = bySubscription.get(o.subscription_id)
    if (!e) {
      e = {
        subscription_id: o.subscription_id,
        ok: false,
        failures: 0,
        first_failure_at: null,
        last_failure_at: null,
        last_error: null,
        jitter: 0,
      }
      bySubscription.set(o.subscription_id, e)
    }
    if (o.error === null) {
      e.ok = true
      e.failures = 0
      e.first_failure_at = null
      continue
    }
    e.failures++
    e.first_failure_at ??= o.at
    e.last_failure_at = o.at
    e.last_error = o.error
  }
  return [...bySubscription.values()].map((e) => ({ ...e, jitter: random() }))
}
