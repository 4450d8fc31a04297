/**
 * Colours for the scripts' own lines (dev, demo): only for a person at a terminal. A pipe or a file
 * (CI, `bun run dev > dev.log`, `| tee`) and NO_COLOR (https://no-color.org: set and not empty) get
 * plain text; FORCE_COLOR (not empty, not 0) asks for colours anyway.
 */
export function wantsColour(stream: { isTTY?: boolean } = process.stdout, env: Record<string, string | undefined> = process.env): boolean {
  if (env.NO_COLOR) return false
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true
  return stream.isTTY === true
}

const CODES = { bold: 1, yellow: 33, magenta: 35, cyan: 36 } as const

/** `paint.cyan('text')`: the text in that colour when `on`, else the text alone. */
export function painter(on: boolean): Record<keyof typeof CODES, (text: string) => string> {
  return Object.fromEntries(
    Object.entries(CODES).map(([name, code]) => [name, (text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text)]),
  ) as Record<keyof typeof CODES, (text: string) => string>
}
