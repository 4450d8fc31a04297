import { describe, expect, test } from 'bun:test'
import { ConfigError, isProduction, refuseDevelopmentValues, secretWeakness } from '../src/config'

describe('production checks', () => {
  test('NODE_ENV is compared case-insensitively', () => {
    for (const value of ['production', 'Production', 'PRODUCTION', ' production ']) expect(isProduction({ NODE_ENV: value })).toBe(true)
    for (const value of [undefined, '', 'development', 'test', 'prod']) expect(isProduction({ NODE_ENV: value })).toBe(false)
    expect(() =>
      refuseDevelopmentValues({ NODE_ENV: 'Production' }, [{ name: 'JWT_SECRET', value: 'dev-secret', devValues: ['dev-secret'] }]),
    ).toThrow(/JWT_SECRET/)
  })

  test('a weak secret is refused in production, naming the variable and what it needs, never the value', () => {
    const check = (value: string) => () =>
      refuseDevelopmentValues({ NODE_ENV: 'production' }, [{ name: 'JWT_SECRET', value, devValues: [], minLength: 32 }])
    for (const weak of [
      'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      'x',
      'abcdefghijklmnopqrstuvwxyzabcdefgh',
      '0123456789012345678901234567890123',
    ]) {
      expect(check(weak)).toThrow(ConfigError)
      expect(check(weak)).toThrow(/JWT_SECRET: too weak for production: needs at least 32 characters/)
      try {
        check(weak)()
      } catch (e) {
        expect((e as Error).message).not.toContain(weak)
      }
    }
    expect(check('Zq3vK8pL2mN7xR4tW9yB1cD6fG0hJ5sA')).not.toThrow()
    // Outside production the same values pass: development stays easy.
    expect(() => refuseDevelopmentValues({}, [{ name: 'JWT_SECRET', value: 'x', devValues: [], minLength: 32 }])).not.toThrow()
    expect(secretWeakness('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 32)).toMatch(/different ones \(has 1\)/)
  })

  test('each key of a list is checked', () => {
    const keys = ['Zq3vK8pL2mN7xR4tW9yB1cD6', 'short-1']
    expect(() =>
      refuseDevelopmentValues({ NODE_ENV: 'production' }, [
        { name: 'KEYS', value: keys.join(','), values: keys, devValues: [], minLength: 24 },
      ]),
    ).toThrow(/KEYS: too weak/)
  })
})
