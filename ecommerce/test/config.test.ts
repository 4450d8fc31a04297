/** The variables of issue #20 (tenants and time): defaults, and a bad value stops start-up naming the variable. */
import { expect, test } from 'bun:test'
import { ConfigError } from '@logistics/shared'
import { loadConfig } from '../src/config'

test('WEBHOOK_RETENTION_DAYS: 30 by default; a whole number of days from 1 to 3650', () => {
  expect(loadConfig({}).WEBHOOK_RETENTION_DAYS).toBe(30)
  expect(loadConfig({ WEBHOOK_RETENTION_DAYS: '7' }).WEBHOOK_RETENTION_DAYS).toBe(7)
  for (const bad of ['0', '7d', '-1', '1.5', '3651', ''])
    expect(() => loadConfig({ WEBHOOK_RETENTION_DAYS: bad })).toThrow(/WEBHOOK_RETENTION_DAYS: /)
  expect(() => loadConfig({ WEBHOOK_RETENTION_DAYS: 'x' })).toThrow(ConfigError)
})

test('REQUEST_BODY_BUFFER_MB: 64 by default; a whole number of megabytes from 1 to 4096', () => {
  expect(loadConfig({}).REQUEST_BODY_BUFFER_MB).toBe(64)
  expect(loadConfig({ REQUEST_BODY_BUFFER_MB: '8' }).REQUEST_BODY_BUFFER_MB).toBe(8)
  for (const bad of ['0', '64MB', '4097', ' '])
    expect(() => loadConfig({ REQUEST_BODY_BUFFER_MB: bad })).toThrow(/REQUEST_BODY_BUFFER_MB: /)
})
