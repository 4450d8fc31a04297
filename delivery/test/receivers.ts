/** Webhook receivers and a hand-moved clock for the dispatcher tests. */

/** A local receiver that answers with `plan(n)` for its n-th request (0-based) and records every request. */
export function receiver(plan: (n: number) => number | 'hang' = () => 204) {
  const received: { id: string; timestamp: string; signature: string; body: string }[] = []
  const server = Bun.serve({
    port: 0,
    async fetch(req) {
      const n = received.length
      received.push({
        id: req.headers.get('webhook-id')!,
        timestamp: req.headers.get('webhook-timestamp')!,
        signature: req.headers.get('webhook-signature')!,
        body: await req.text(),
      })
      const action = plan(n)
      if (action === 'hang') await Bun.sleep(2_000)
      return new Response(null, { status: typeof action === 'number' ? action : 204 })
    },
  })
  return { url: `http://127.0.0.1:${server.port}/hook`, received, stop: () => server.stop(true) }
}

/** A clock the dispatcher reads, moved by hand. */
export function clock(start = Date.now()) {
  let now = start
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) }
}
