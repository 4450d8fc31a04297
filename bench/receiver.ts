/** A webhook receiver for the benchmark: answers 204 to everything, on the port in argv[2]. */
const server = Bun.serve({ port: Number(process.argv[2] ?? 0), fetch: async (req) => (await req.arrayBuffer(), new Response(null, { status: 204 })) })
console.log(server.port)
