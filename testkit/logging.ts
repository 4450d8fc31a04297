import type { Logger } from '@logistics/shared'

/** One line a `capturingLogger` kept: its level and message, with its fields spread in. */
export type CapturedLine = { level: string; msg: string } & Record<string, unknown>

/** A logger that keeps every line (its children too), as the JSON log would write them. */
export function capturingLogger(): { logger: Logger; lines: CapturedLine[] } {
  const lines: CapturedLine[] = []
  const make = (bound: Record<string, unknown>): Logger => {
    const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, ...bound, ...fields })
    return {
      enabled: () => true,
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (fields) => make({ ...bound, ...fields }),
    }
  }
  return { logger: make({}), lines }
}
