/**
 * Static checks of the Docker set-up (compose.yaml, the Dockerfiles, .dockerignore, .env.example).
 * No Docker engine or image registry is needed: CI machines have neither, so nothing is built or run
 * here. What is checked:
 * - compose.yaml, interpolated with .env.example the way `docker compose` does, against the official
 *   compose-spec JSON schema (the copy shipped in the `dclint` npm package), plus references the
 *   schema cannot see: depends_on targets, healthchecks of service_healthy targets, build contexts,
 *   Dockerfiles, bind-mount sources, named volumes, and every contract variable of each service,
 *   accepted by that service's own config loader with NODE_ENV=production;
 * - every Dockerfile with `dockerfile-utils lint` (zero diagnostics), and its shape (parsed with
 *   `dockerfile-ast`): official oven/bun image, multi-stage, `bun install --frozen-lockfile --production`,
 *   non-root user, only paths that exist and that .dockerignore (evaluated with `@balena/dockerignore`,
 *   Docker's own matching rules) lets through;
 * - that the code each image runs imports only packages a production install provides.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import dockerignoreRules from '@balena/dockerignore'
import { isValidWebhookSecret } from '@logistics/shared'
import Ajv from 'ajv'
import draft07 from 'ajv/dist/refs/json-schema-draft-07.json'
import { Copy, DockerfileParser, From, type Instruction, JSONInstruction } from 'dockerfile-ast'
import { parse as parseDotenv } from 'dotenv'
import { parse as parseYaml } from 'yaml'
import { loadConfig as loadDeliveryConfig } from '../delivery/src/config'
import { checkDestination, isProduction } from '../delivery/src/modules/webhooks/destination'
import { loadConfig as loadEcommerceConfig } from '../ecommerce/src/config'
import { envFromExample, isSecretName, parseEnvExample, strongSecret } from '../scripts/compose-env'

const ROOT = resolve(import.meta.dir, '..')
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Service = {
  image?: string
  build?: string | { context?: string; dockerfile?: string }
  depends_on?: string[] | Record<string, { condition: string }>
  environment?: string[] | Record<string, string | number | boolean | null>
  healthcheck?: { test?: string | string[]; disable?: boolean }
  ports?: (string | number | { target: number; published?: string | number })[]
  volumes?: (string | { type: string; source?: string; target: string })[]
}
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> }

/** The environment variables of the API contract (docs/api.md#environment), per service, plus LOG_LEVEL and NODE_ENV. */
const CONTRACT_ENV: Record<'delivery' | 'ecommerce', string[]> = {
  delivery: [
    'PORT',
    'DATABASE_URL',
    'STATUS_TICK_SECONDS',
    'DELIVERY_API_KEYS',
    'WEBHOOK_ALLOWED_HOSTS',
    'METRICS_TOKEN',
    'PUBLIC_URL',
    'LOG_LEVEL',
    'NODE_ENV',
  ],
  ecommerce: [
    'PORT',
    'DATABASE_URL',
    'DELIVERY_API_URL',
    'DELIVERY_API_KEY',
    'PUBLIC_URL',
    'WEBHOOK_SECRET',
    'JWT_SECRET',
    'ADMIN_EMAIL',
    'ADMIN_PASSWORD',
    'METRICS_TOKEN',
    'LOG_LEVEL',
    'NODE_ENV',
  ],
}
const SERVICE_PORT = { delivery: 3001, ecommerce: 3000 } as const
/** The workspace of test helpers (@logistics/testkit): in the root package.json, never in an image. */
const TEST_ONLY_WORKSPACE = 'testkit'
const APP_SERVICES = ['delivery', 'ecommerce'] as const

// --- compose interpolation (https://github.com/compose-spec/compose-spec/blob/main/spec.md#interpolation) ---

/** Interpolates one string the way Compose does: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a}, ${VAR+a}. */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\$\{[^}]*\}?/g,
    (whole, name: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      if (whole === '$$') return '$'
      if (bare) return env[bare] ?? ''
      if (!name) throw new Error(`invalid interpolation ${whole} in ${JSON.stringify(value)}`)
      if (arg?.includes('$')) throw new Error(`nested interpolation is not supported by this check: ${whole}`)
      const current = env[name]
      const unset = current === undefined
      const empty = unset || current === ''
      switch (op) {
        case undefined:
          return current ?? ''
        case ':-':
          return empty ? arg! : current!
        case '-':
          return unset ? arg! : current!
        case ':?':
        case '?':
          if (op === ':?' ? empty : unset) throw new Error(`required variable ${name} is missing a value: ${arg}`)
          return current!
        case ':+':
          return empty ? '' : arg!
        case '+':
          return unset ? '' : arg!
      }
      throw new Error(`unknown interpolation ${whole}`)
    },
  )
}

function interpolateTree(node: Json, env: Record<string, string | undefined>): Json {
  if (typeof node === 'string') return interpolate(node, env)
  if (Array.isArray(node)) return node.map((n) => interpolateTree(n, env))
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateTree(v, env)]))
  return node
}

/** Every `${VAR:?…}` / `${VAR?…}` the file requires. */
const requiredVariables = (text: string) => new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?\?/g)].map((m) => m[1]!))

const environmentOf = (service: Service): Record<string, string> => {
  const env = service.environment ?? {}
  if (Array.isArray(env))
    return Object.fromEntries(env.map((entry) => [entry.split('=')[0]!, entry.includes('=') ? entry.slice(entry.indexOf('=') + 1) : '']))
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]))
}

const dependsOn = (service: Service): Record<string, string> => {
  const deps = service.depends_on ?? []
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']))
  return Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, v.condition]))
}

const buildOf = (service: Service) => {
  if (!service.build) return undefined
  const build = typeof service.build === 'string' ? { context: service.build } : service.build
  const context = resolve(ROOT, build.context ?? '.')
  return { context, dockerfile: resolve(context, build.dockerfile ?? 'Dockerfile') }
}

// --- Dockerfiles, parsed with dockerfile-ast (the parser of the Dockerfile language server dockerfile-utils lints with) ---

/** One build stage: its FROM and the instructions up to the next FROM. */
type Stage = { from: From; instructions: Instruction[] }

function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = []
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction instanceof From) stages.push({ from: instruction, instructions: [] })
    else stages.at(-1)?.instructions.push(instruction)
  }
  return stages
}

const keyword = (instruction: Instruction) => instruction.getKeyword().toUpperCase()
const argumentsOf = (instruction: Instruction) => instruction.getArgumentsContent() ?? ''
const lineOf = (instruction: Instruction) => instruction.getRange().start.line

/** COPY sources from the build context (not --from), as written. */
const copySources = (instruction: Instruction): string[] => {
  if (!(instruction instanceof Copy) || instruction.getFromFlag()) return []
  const json = instruction.getJSONStrings().map((s) => s.getJSONValue())
  const words = json.length > 0 ? json : instruction.getArguments().map((a) => a.getValue())
  return words.slice(0, -1)
}

/** The exec form (`["bun", "x.ts"]`) of a CMD, or undefined for the shell form. */
const execForm = (instruction: Instruction): string[] | undefined => {
  const json = instruction instanceof JSONInstruction ? instruction.getJSONStrings().map((s) => s.getJSONValue()) : []
  return json.length > 0 ? json : undefined
}

// --- the files under test ---

const composeText = read('compose.yaml')
const rawCompose = parseYaml(composeText, { uniqueKeys: true }) as Json
const envExample = parseDotenv(read('.env.example'))
const compose = interpolateTree(rawCompose, envExample) as unknown as Compose
const services = compose.services
/** .dockerignore with Docker's matching rules: `ignores(path)` is true when the path stays out of the build context. */
const dockerignore = dockerignoreRules().add(read('.dockerignore'))

/**
 * The compose-spec JSON schema (compose-spec/compose-spec schema/compose-spec.json), as the `dclint`
 * package ships it. It is draft-07, which plain Ajv speaks; it names the meta-schema by its https URL,
 * so the bundled draft-07 meta-schema is registered under that name too (and the schema is checked
 * against it).
 */
function composeSchemaValidator() {
  const schema = JSON.parse(readFileSync(join(dirname(require.resolve('dclint/package.json')), 'schemas/compose.schema.json'), 'utf8'))
  expect(schema.$schema).toMatch(/draft-07/)
  const ajv = new Ajv({ strict: false, allErrors: true, allowUnionTypes: true, validateFormats: false })
  ajv.addMetaSchema({ ...draft07, $id: schema.$schema })
  return ajv.compile(schema)
}

describe('compose.yaml', () => {
  test('is valid against the official compose-spec JSON schema', () => {
    const validate = composeSchemaValidator()
    const valid = validate(compose)
    expect(valid ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`)).toEqual([])
    // The raw file too (before interpolation), as editors and linters see it.
    expect(validate(rawCompose)).toBe(true)
  })

  test('the schema check catches a broken file', () => {
    const validate = composeSchemaValidator()
    const broken = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> }
    broken.services.delivery!.depends_on = { postgres: { condition: 'service_ready' } }
    expect(validate(broken)).toBe(false)
    delete broken.services.delivery!.depends_on
    broken.services.delivery!.helthcheck = {}
    expect(validate(broken)).toBe(false)
  })

  test('has the three services, nothing named by a version key', () => {
    expect(Object.keys(services).sort()).toEqual(['delivery', 'ecommerce', 'postgres'])
    expect((rawCompose as Record<string, Json>).version).toBeUndefined()
  })

  test("secrets and the administrator's email (production refuses the development one) are required variables, and .env.example sets every one", () => {
    const required = requiredVariables(composeText)
    expect([...required].sort()).toEqual(
      ['ADMIN_EMAIL', 'ADMIN_PASSWORD', 'DELIVERY_API_KEY', 'JWT_SECRET', 'METRICS_TOKEN', 'POSTGRES_PASSWORD', 'WEBHOOK_SECRET'].sort(),
    )
    for (const name of required) expect(envExample[name], `.env.example sets ${name}`).toBeTruthy()
    // Without a .env, `docker compose` refuses to start instead of running with empty secrets.
    expect(() => interpolateTree(rawCompose, {})).toThrow(/required variable/)
    // Every variable the file reads is documented in .env.example (set or commented out).
    const example = read('.env.example')
    for (const [, name] of composeText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g))
      expect(example, `.env.example mentions ${name}`).toMatch(new RegExp(`^#?\\s*${name}=`, 'm'))
  })

  test('.env stays out of git and out of the build context', () => {
    expect(
      read('.gitignore')
        .split('\n')
        .map((l) => l.trim()),
    ).toContain('.env')
    expect(dockerignore.ignores('.env')).toBe(true)
  })

  test('depends_on targets exist; service_healthy targets have a healthcheck', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [target, condition] of Object.entries(dependsOn(service))) {
        expect(Object.keys(services), `${name} depends on ${target}`).toContain(target)
        if (condition !== 'service_healthy') continue
        const dependency = services[target]!
        const build = buildOf(dependency)
        const imageHealthcheck = build
          ? parseDockerfile(readFileSync(build.dockerfile, 'utf8'))
              .at(-1)!
              .instructions.some((i) => keyword(i) === 'HEALTHCHECK' && !/^NONE$/i.test(argumentsOf(i)))
          : false
        const composeHealthcheck = !!dependency.healthcheck?.test && !dependency.healthcheck.disable
        expect(composeHealthcheck || imageHealthcheck, `${target} (service_healthy for ${name}) has a healthcheck`).toBe(true)
      }
    }
    expect(dependsOn(services.delivery!)).toEqual({ postgres: 'service_healthy' })
    expect(dependsOn(services.ecommerce!)).toEqual({ postgres: 'service_healthy', delivery: 'service_healthy' })
  })

  test('build contexts and Dockerfiles exist; the context is the workspace root', () => {
    for (const name of APP_SERVICES) {
      const build = buildOf(services[name]!)
      expect(build, `${name} is built`).toBeDefined()
      expect(statSync(build!.context).isDirectory()).toBe(true)
      expect(build!.context).toBe(ROOT)
      expect(relative(ROOT, build!.dockerfile)).toBe(`${name}/Dockerfile`)
      expect(existsSync(build!.dockerfile), `${build!.dockerfile} exists`).toBe(true)
    }
  })

  test('bind mounts exist and named volumes are declared', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0]! : volume.source
        if (!source) continue
        if (/^[./~]/.test(source)) expect(existsSync(resolve(ROOT, source)), `${name}: ${source} exists`).toBe(true)
        else expect(Object.keys(compose.volumes ?? {}), `${name}: volume ${source} is declared`).toContain(source)
      }
    }
  })

  test('postgres: current official image, named volume at its data path, pg_isready healthcheck, one database per service', () => {
    const postgres = services.postgres!
    const major = Number(/^postgres:(\d+)(?:[.-]|$)/.exec(postgres.image ?? '')?.[1])
    expect(major).toBeGreaterThanOrEqual(17)
    const mounts = (postgres.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':') : [v.source, v.target]))
    // From 18 the image keeps data under /var/lib/postgresql/<major>/docker and refuses a mount at .../data.
    const dataPath = major >= 18 ? '/var/lib/postgresql' : '/var/lib/postgresql/data'
    expect(mounts.some(([source, target]) => target === dataPath && !/^[./]/.test(source!))).toBe(true)
    expect(String(postgres.healthcheck?.test)).toContain('pg_isready')

    const init = mounts.find(([, target]) => target?.startsWith('/docker-entrypoint-initdb.d/'))
    expect(init, 'an init script is mounted').toBeDefined()
    const initSql = readFileSync(resolve(ROOT, init![0]!), 'utf8')
    const password = environmentOf(postgres).POSTGRES_PASSWORD
    for (const name of APP_SERVICES) {
      const url = new URL(environmentOf(services[name]!).DATABASE_URL!)
      expect(url.protocol).toBe('postgres:')
      expect(url.hostname).toBe('postgres')
      expect(decodeURIComponent(url.password)).toBe(password!)
      const database = url.pathname.slice(1)
      expect(database).toBe(name)
      expect(initSql).toMatch(new RegExp(`create\\s+database\\s+"?${database}"?\\s*;`, 'i'))
    }
  })

  for (const name of APP_SERVICES) {
    describe(name, () => {
      const service = () => services[name]!
      const env = () => environmentOf(service())

      test('sets every contract variable, and no unknown one', () => {
        expect(Object.keys(env()).sort()).toEqual([...CONTRACT_ENV[name]].sort())
        for (const key of CONTRACT_ENV[name]) expect(env()[key], `${name}.${key}`).not.toBe('')
      })

      test("the service's own config accepts it with NODE_ENV=production", () => {
        expect(env().NODE_ENV).toBe('production')
        const load = name === 'delivery' ? loadDeliveryConfig : loadEcommerceConfig
        const config = load(env())
        expect(config.PORT).toBe(SERVICE_PORT[name])
        // ...and the same variables with a development default are refused, so the check has teeth.
        const devKey = name === 'delivery' ? 'DELIVERY_API_KEYS' : 'JWT_SECRET'
        expect(() => load({ ...env(), [devKey]: undefined })).toThrow()
      })

      test('publishes its port and checks /health on it', () => {
        const targets = (service().ports ?? []).map((p) =>
          typeof p === 'object' ? Number(p.target) : Number(String(p).split(':').at(-1)!.split('/')[0]),
        )
        expect(targets).toEqual([SERVICE_PORT[name]])
        const check = service().healthcheck?.test
        expect(Array.isArray(check) ? check.join(' ') : check).toContain(`127.0.0.1:${SERVICE_PORT[name]}/health`)
      })
    })
  }

  test('ecommerce reaches delivery, and delivery reaches the webhook URL, by service name', () => {
    const delivery = environmentOf(services.delivery!)
    const ecommerce = environmentOf(services.ecommerce!)
    const api = new URL(ecommerce.DELIVERY_API_URL!)
    expect(api.hostname).toBe('delivery')
    expect(Number(api.port)).toBe(SERVICE_PORT.delivery)
    const publicUrl = new URL(ecommerce.PUBLIC_URL!)
    expect(publicUrl.hostname).toBe('ecommerce')
    expect(Number(publicUrl.port)).toBe(SERVICE_PORT.ecommerce)
    // The key ecommerce presents is one delivery provisions for its client `ecommerce`.
    expect(delivery.DELIVERY_API_KEYS!.split(',')).toContain(`ecommerce:${ecommerce.DELIVERY_API_KEY}`)
    expect(isValidWebhookSecret(ecommerce.WEBHOOK_SECRET!)).toBe(true)
  })

  test("delivery's PUBLIC_URL (the base of tracking_url) is where a browser on the host reaches it: its published port", () => {
    const published = (stack: Compose) => String(stack.services.delivery!.ports![0]).split(':')[0]
    for (const port of [undefined, '4301']) {
      const env = port ? { ...envExample, DELIVERY_PORT: port } : envExample
      const stack = interpolateTree(rawCompose, env) as unknown as Compose
      const config = loadDeliveryConfig(environmentOf(stack.services.delivery!))
      expect(published(stack)).toBe(port ?? '3001')
      expect(config.PUBLIC_URL).toBe(`http://localhost:${published(stack)}`)
    }
  })

  test("delivery, in production, may post to ecommerce's webhook URL (allow-listed although private)", async () => {
    const config = loadDeliveryConfig(environmentOf(services.delivery!))
    const url = `${environmentOf(services.ecommerce!).PUBLIC_URL}/webhooks/delivery`
    const lookup = async () => ['172.18.0.3'] // what the compose network's DNS answers
    const policy = { production: isProduction(config.NODE_ENV), allowedHosts: config.WEBHOOK_ALLOWED_HOSTS, lookup }
    expect(policy.production).toBe(true)
    expect((await checkDestination(url, policy)).ok).toBe(true)
    expect((await checkDestination(url, { ...policy, allowedHosts: undefined })).ok).toBe(false)
  })
})

describe('the env file of the real compose run (scripts/compose-env.ts, used by scripts/compose-check.ts)', () => {
  const exampleText = read('.env.example')
  const generated = envFromExample(exampleText, { STATUS_TICK_SECONDS: '2' })

  test('carries every variable .env.example sets, with fresh strong secrets', () => {
    const set = parseEnvExample(exampleText).filter((e) => !e.commented)
    expect(set.length).toBeGreaterThan(0)
    const again = envFromExample(exampleText)
    for (const { name, value } of set) {
      expect(generated[name], name).toBeDefined()
      if (!isSecretName(name)) {
        expect(generated[name]).toBe(value)
        continue
      }
      const secret = generated[name]!
      expect(secret, `${name} is not the public example value`).not.toBe(value)
      expect(secret, `${name} is fresh on every run`).not.toBe(again[name])
      if (value.startsWith('whsec_')) {
        expect(isValidWebhookSecret(secret)).toBe(true)
        expect(Buffer.from(secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(32)
      } else {
        expect(secret.length).toBeGreaterThanOrEqual(40)
        for (const kind of [/[A-Z]/, /[a-z]/, /[0-9]/, /[-_]/]) expect(secret).toMatch(kind)
        // Safe inside a URL (POSTGRES_PASSWORD), a name:key list (DELIVERY_API_KEYS) and an unquoted env file.
        expect(secret).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]*$/)
      }
    }
    expect(generated.STATUS_TICK_SECONDS).toBe('2')
  })

  test('every generated secret has each character class and never starts with "-"', () => {
    // One draw in a few hundred used to lose its only symbol to the leading-'-' rule.
    for (let i = 0; i < 5_000; i++) {
      const secret = strongSecret()
      for (const kind of [/[A-Z]/, /[a-z]/, /[0-9]/, /[-_]/]) expect(secret).toMatch(kind)
      expect(secret.startsWith('-')).toBe(false)
    }
  })

  test("each service's own config accepts the resulting stack with NODE_ENV=production", () => {
    const stack = interpolateTree(rawCompose, generated) as unknown as Compose
    expect(loadDeliveryConfig(environmentOf(stack.services.delivery!)).STATUS_TICK_SECONDS).toBe(2)
    expect(loadEcommerceConfig(environmentOf(stack.services.ecommerce!)).NODE_ENV).toBe('production')
    const url = new URL(environmentOf(stack.services.ecommerce!).DATABASE_URL!)
    expect(decodeURIComponent(url.password)).toBe(generated.POSTGRES_PASSWORD!)
  })
})

describe('.dockerignore', () => {
  test('keeps local state and secrets out of the build context', () => {
    const excluded = [
      'node_modules/elysia/package.json',
      'delivery/node_modules/x/package.json',
      '.data/delivery/PG_VERSION',
      'shared/.data/x',
      '.git/HEAD',
      '.env',
      '.env.local',
      'test-results/pglite.xml',
      'bench/results.json',
      'debug.log',
      'delivery/debug.log',
      'delivery/test/health.test.ts',
      `${TEST_ONLY_WORKSPACE}/package.json`,
      `${TEST_ONLY_WORKSPACE}/http.ts`,
    ]
    expect(excluded.filter((path) => !dockerignore.ignores(path))).toEqual([])
    // ...while what the images are built from gets through.
    const needed = [
      'package.json',
      'bun.lock',
      'bunfig.toml',
      'patches/postgres@3.4.9.patch',
      'shared/src/index.ts',
      'delivery/src/index.ts',
      'delivery/drizzle/meta/_journal.json',
    ]
    expect(needed.filter((path) => dockerignore.ignores(path))).toEqual([])
  })
})

for (const name of APP_SERVICES) {
  describe(`${name}/Dockerfile`, () => {
    const file = `${name}/Dockerfile`
    const text = read(file)
    const stages = parseDockerfile(text)
    const final = stages.at(-1)!

    test('passes `dockerfile-utils lint` with no diagnostics', () => {
      const cli = join(dirname(require.resolve('dockerfile-utils/package.json')), 'bin/dockerfile-utils')
      const run = Bun.spawnSync([process.execPath, cli, 'lint', '--json', join(ROOT, file)], { stdout: 'pipe', stderr: 'pipe' })
      const diagnostics = JSON.parse(run.stdout.toString() || 'null')
      expect(diagnostics).toEqual([])
      expect(run.exitCode).toBe(0)
    })

    test('the linter catches a broken Dockerfile', () => {
      const cli = join(dirname(require.resolve('dockerfile-utils/package.json')), 'bin/dockerfile-utils')
      const broken = join(tmpdir(), `broken-${process.pid}.Dockerfile`)
      writeFileSync(broken, text.replace(/^HEALTHCHECK --interval=10s/m, 'HEALTHCHECK --interval=10parsecs'))
      const run = Bun.spawnSync([process.execPath, cli, 'lint', '--json', broken], { stdout: 'pipe' })
      rmSync(broken)
      expect(run.exitCode).toBe(1)
    })

    test('multi-stage, every stage from the official oven/bun image pinned to one release', () => {
      expect(stages.length).toBeGreaterThanOrEqual(2)
      const names = new Set(stages.map((s) => s.from.getBuildStage()).filter(Boolean))
      const images = stages.map((s) => s.from.getImage()!).filter((f) => !names.has(f))
      for (const image of images) expect(image).toMatch(/^oven\/bun:1\.\d+\.\d+(-[a-z]+)?$/)
      expect(new Set(images).size).toBe(1)
      // Both images build on the same Bun.
      expect(read(`${name === 'delivery' ? 'ecommerce' : 'delivery'}/Dockerfile`)).toContain(`FROM ${images[0]} `)
    })

    test('installs production dependencies from the frozen lockfile, manifests copied first', () => {
      const isInstall = (i: Instruction) => keyword(i) === 'RUN' && /\bbun install\b/.test(argumentsOf(i))
      const installStage = stages.find((s) => s.instructions.some(isInstall))
      expect(installStage, 'a stage runs bun install').toBeDefined()
      const install = installStage!.instructions.find(isInstall)!
      expect(argumentsOf(install)).toMatch(/bun install (?=.*--frozen-lockfile)(?=.*--production)/)
      expect(installStage).not.toBe(final)
      const copiedBefore = installStage!.instructions.filter((i) => lineOf(i) < lineOf(install)).flatMap(copySources)
      const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces
      expect(workspaces).toContain(TEST_ONLY_WORKSPACE)
      const runtimeWorkspaces = workspaces.filter((w) => w !== TEST_ONLY_WORKSPACE)
      for (const manifest of ['package.json', 'bun.lock', 'bunfig.toml', ...runtimeWorkspaces.map((w) => `${w}/package.json`)])
        expect(copiedBefore, `${manifest} is copied before bun install`).toContain(manifest)
      // The test-only workspace stays out of the image, manifest included: `bun install --frozen-lockfile`
      // skips a workspace bun.lock lists but the disk lacks (`bun run compose:check` builds it for real).
      expect(stages.flatMap((s) => s.instructions.flatMap(copySources)).filter((s) => s.startsWith(TEST_ONLY_WORKSPACE))).toEqual([])
      // The dependency patches (package.json patchedDependencies) the install applies.
      const patched = Object.values(
        (JSON.parse(read('package.json')) as { patchedDependencies?: Record<string, string> }).patchedDependencies ?? {},
      )
      if (patched.length > 0) expect(copiedBefore, 'patches/ is copied before bun install').toContain('patches')
      // No sources before the install, so the dependency layer survives code changes.
      expect(copiedBefore.every((s) => /(package\.json|bun\.lock|bunfig\.toml)$/.test(s) || s === 'patches')).toBe(true)
    })

    test('the runtime stage carries the code and migrations, runs as a non-root user', () => {
      const copied = final.instructions.flatMap(copySources)
      for (const path of ['shared/src', `${name}/src`, `${name}/drizzle`]) expect(copied).toContain(path)
      expect(final.instructions.some((i) => i instanceof Copy && i.getFromFlag() !== null)).toBe(true)
      const users = final.instructions.filter((i) => keyword(i) === 'USER')
      expect(users.length).toBeGreaterThan(0)
      expect(argumentsOf(users.at(-1)!)).not.toMatch(/^(root|0)(:|$)/)
      const cmd = execForm(final.instructions.findLast((i) => keyword(i) === 'CMD')!)
      expect(cmd).toEqual(['bun', `${name}/src/index.ts`])
      expect(final.instructions.some((i) => keyword(i) === 'EXPOSE' && argumentsOf(i) === String(SERVICE_PORT[name]))).toBe(true)
      const healthcheck = final.instructions.find((i) => keyword(i) === 'HEALTHCHECK')
      expect(healthcheck && argumentsOf(healthcheck)).toContain('/health')
    })

    test('copies only paths that exist and that .dockerignore lets through', () => {
      for (const source of stages.flatMap((s) => s.instructions.flatMap(copySources))) {
        expect(existsSync(join(ROOT, source)), `${source} exists`).toBe(true)
        expect(dockerignore.ignores(source), `${source} is not excluded by .dockerignore`).toBe(false)
      }
    })
  })
}

describe('a production install is enough to run the services', () => {
  const transpiler = new Bun.Transpiler({ loader: 'ts' })
  const manifest = (dir: string) =>
    JSON.parse(read(`${dir}/package.json`)) as { dependencies?: Record<string, string>; exports?: Record<string, string> }
  const builtins = new Set(builtinModules)

  /** Files reachable from an entry point, and the bare packages they import (type-only imports are not kept by the transpiler). */
  function walk(entry: string) {
    const seen = new Set<string>()
    const packages = new Map<string, string>()
    const resolveFile = (from: string, spec: string) => {
      const base = resolve(dirname(from), spec)
      for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')])
        if (existsSync(candidate) && statSync(candidate).isFile()) return candidate
      throw new Error(`cannot resolve ${spec} from ${relative(ROOT, from)}`)
    }
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      for (const { path: spec } of transpiler.scanImports(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.')) visit(resolveFile(file, spec))
        else if (spec.startsWith('@logistics/shared')) {
          const sub = spec.slice('@logistics/shared'.length)
          visit(join(ROOT, 'shared/src', sub ? `${sub.slice(1)}.ts` : 'index.ts'))
        } else if (!spec.startsWith('node:') && !spec.startsWith('bun:') && spec !== 'bun' && !builtins.has(spec)) {
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!
          packages.set(name, relative(ROOT, file))
        }
      }
    }
    visit(join(ROOT, entry))
    return { files: seen, packages }
  }

  for (const name of APP_SERVICES) {
    test(`${name} imports only its own or shared's dependencies`, () => {
      const { files, packages } = walk(`${name}/src/index.ts`)
      expect(files.size).toBeGreaterThan(3)
      const provided = new Set([...Object.keys(manifest(name).dependencies ?? {}), ...Object.keys(manifest('shared').dependencies ?? {})])
      const missing = [...packages].filter(([pkg]) => !provided.has(pkg)).map(([pkg, from]) => `${pkg} (imported by ${from})`)
      expect(missing).toEqual([])
      // Every file the image runs is inside a folder the Dockerfile copies.
      for (const file of files) expect(relative(ROOT, file)).toMatch(new RegExp(`^(shared|${name})/src/`))
    })
  }
})
