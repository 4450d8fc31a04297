/**
 * A webhook receiver for the benchmark: answers 204 to every POST, on the port in argv[2], and
 * counts what it got: GET /stats → { received, distinct } (by `webhook-id`), to check that no
 * event was lost or delivered twice.
 */
const seen = new Set<string>()
let received = 0
const server = Bun.serve({
  port: Number(process.argv[2] ?? 0),
  fetch: async (req) => {
    if (req.method === 'GET') return Response.json({ received, distinct: seen.size })
    await req.arrayBuffer()
    received++
    seen.add(req.headers.get('webhook-id') ?? '')
    return new Response(null, { status: 204 })
  },
})
console.log(server.port)
