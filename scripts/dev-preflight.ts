/**
 * What `bun run dev` checks before it starts anything (and before it touches `.data`): its two
 * ports are free, and no live process holds the lock of a PGlite data folder it would open (another
 * `bun run dev`, or a service started by hand). Each problem is one line saying why and what to do.
 */
import { join } from 'node:path'
import { lockHolder, lockPathOf } from '@logistics/shared/dir-lock'
import type { ServiceName } from './services'

function portTaken(port: number): boolean {
  try {
    Bun.serve({ port, fetch: () => new Response() }).stop(true)
    return false
  } catch {
    return true
  }
}

export function devPreflight(options: {
  ports: Record<ServiceName, number>
  /** Where the services keep their PGlite folders (`<root>/.data`); not checked when DATABASE_URL is set. */
  dataRoot: string | undefined
}): string[] {
  const problems: string[] = []
  for (const [name, port] of Object.entries(options.ports) as [ServiceName, number][]) {
    if (portTaken(port))
      problems.push(
        `port ${port} (${name}) is taken: is another \`bun run dev\` or service running? Stop it, or move this one with ${name.toUpperCase()}_PORT=…`,
      )
  }
  if (options.dataRoot !== undefined) {
    for (const name of Object.keys(options.ports) as ServiceName[]) {
      const dir = join(options.dataRoot, name)
      const pid = lockHolder(dir)
      if (pid !== undefined)
        problems.push(
          `${dir} is in use by process ${pid} (another \`bun run dev\`?): stop it first (if no process ${pid} uses it, delete ${lockPathOf(dir)})`,
        )
    }
  }
  return problems
}
