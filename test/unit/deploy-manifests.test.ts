/**
 * The deployment files, offline: every Kubernetes object under deploy/k8s (the base, and the
 * production overlay built the way kustomize builds it) is valid against the Kubernetes OpenAPI
 * schemas (kubernetes-models), KEDA's ScaledObject against KEDA's CRD schema (@kubernetes-models/keda), every variable the
 * manifests and docker-compose.yml set is one src/config.ts knows and parses, and .env.example is
 * wired through the ConfigMap or the Secret. docs/deploying.md says how these files are used.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, type IContainer, type IPodSpec, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { API_ENV_DEFAULTS, API_NODE_ARGS } from '../../scripts/lib/api-env.mjs';
import { configSchema, parseConfig } from '../../src/config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const K8S = join(ROOT, 'deploy/k8s');
const CONFIG_KEYS = new Set(Object.keys(configSchema.in.shape));

/** A manifest as loaded from YAML: typed where the test reads it, the rest left to the schemas. */
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

type Validator = (object: K8sObject) => void;
/** Every kind the manifests may use, with the schema it is validated against; any other kind fails. */
const SCHEMAS: Record<string, Validator> = {
  'v1/ConfigMap': (o) => new ConfigMap(o as never).validate(),
  'v1/Secret': (o) => new Secret(o as never).validate(),
  'v1/Service': (o) => new Service(o as never).validate(),
  'v1/Namespace': (o) => new Namespace(o as never).validate(),
  'apps/v1/Deployment': (o) => new Deployment(o as never).validate(),
  'batch/v1/Job': (o) => new Job(o as never).validate(),
  'autoscaling/v2/HorizontalPodAutoscaler': (o) => new HorizontalPodAutoscaler(o as never).validate(),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o as never).validate(),
  'networking.k8s.io/v1/Ingress': (o) => new Ingress(o as never).validate(),
  'keda.sh/v1alpha1/ScaledObject': validateScaledObject,
};

const read = (path: string) => readFileSync(path, 'utf8');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function loadDocuments(path: string): K8sObject[] {
  return parseAllDocuments(read(path)).map((doc) => {
    if (doc.errors.length) throw new Error(`${path}: ${doc.errors[0]?.message}`);
    return doc.toJS() as K8sObject;
  });
}

function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    out[trimmed.slice(0, eq)] = trimmed.slice(eq + 1);
  }
  return out;
}

/**
 * Strategic-merge-patch as kustomize applies it, for what the overlays use: maps merge, null deletes,
 * lists of named items (containers, env) merge by name in built-in kinds; other lists, and every list
 * of a custom resource (kustomize has no schema for it), are replaced.
 */
function merge(base: unknown, patch: unknown, builtIn: boolean): unknown {
  if (isObject(base) && isObject(patch)) {
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(patch))
      if (value === null) delete out[key];
      else out[key] = key in base ? merge(base[key], value, builtIn) : value;
    return out;
  }
  const named = (list: unknown[]) => list.every((item) => isObject(item) && typeof item.name === 'string');
  if (builtIn && Array.isArray(base) && Array.isArray(patch) && named(base) && named(patch)) {
    const out = [...base] as Record<string, unknown>[];
    for (const item of patch as Record<string, unknown>[]) {
      const at = out.findIndex((b) => b.name === item.name);
      if (at < 0) out.push(item);
      else out[at] = merge(out[at], item, builtIn) as Record<string, unknown>;
    }
    return out;
  }
  return patch;
}

interface Kustomization {
  resources?: string[];
  namespace?: string;
  labels?: { pairs: Record<string, string> }[];
  images?: { name: string; newName?: string; newTag?: string }[];
  secretGenerator?: { name: string; envs?: string[]; options?: { labels?: Record<string, string> } }[];
  patches?: { path: string }[];
}

/**
 * `kustomize build dir`, for the features these kustomizations use (resources, labels, namespace,
 * images, secretGenerator from env files, patches). The generated Secret keeps its plain name (kustomize
 * adds a content hash and renames the references with it). A secretGenerator reads `secrets.env`, which
 * is not committed, else the committed `secrets.env.example` beside it.
 */
function build(dir: string): K8sObject[] {
  const k = parse(read(join(dir, 'kustomization.yaml'))) as Kustomization;
  let objects: K8sObject[] = [];
  for (const resource of k.resources ?? []) {
    const path = join(dir, resource);
    objects.push(...(statSync(path).isDirectory() ? build(path) : loadDocuments(path)));
  }
  for (const gen of k.secretGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const env of gen.envs ?? []) {
      const path = existsSync(join(dir, env)) ? join(dir, env) : join(dir, `${env}.example`);
      for (const [key, value] of Object.entries(parseEnvFile(read(path)))) data[key] = Buffer.from(value).toString('base64');
    }
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: gen.name, labels: gen.options?.labels },
      type: 'Opaque',
      data,
    });
  }
  for (const { path } of k.patches ?? []) {
    for (const patch of loadDocuments(join(dir, path))) {
      const at = objects.findIndex((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (at < 0) throw new Error(`${path}: no ${patch.kind} ${patch.metadata.name} to patch`);
      objects[at] = merge(objects[at], patch, patch.apiVersion !== 'keda.sh/v1alpha1') as K8sObject;
    }
  }
  objects = objects.map((o) => {
    const labels = Object.assign({}, o.metadata.labels, ...(k.labels ?? []).map((l) => l.pairs));
    const namespace = k.namespace && o.kind !== 'Namespace' ? k.namespace : o.metadata.namespace;
    return { ...o, metadata: { ...o.metadata, labels, ...(namespace ? { namespace } : {}) } };
  });
  for (const image of k.images ?? [])
    for (const pod of podSpecs(objects))
      for (const c of pod.spec.containers)
        if (c.image?.split(':')[0] === image.name)
          c.image = `${image.newName ?? image.name}:${image.newTag ?? c.image.split(':')[1] ?? 'latest'}`;
  return objects;
}

interface PodOwner {
  object: K8sObject;
  spec: IPodSpec;
  labels: Record<string, string>;
}
function podSpecs(objects: K8sObject[]): PodOwner[] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
    .map((object) => {
      const template = (object.spec as IDeployment['spec'])?.template;
      return { object, spec: template?.spec as IPodSpec, labels: (template?.metadata?.labels ?? {}) as Record<string, string> };
    });
}

/**
 * KEDA's ScaledObject (keda.sh/v1alpha1): against the CRD's schema (@kubernetes-models/keda), then the
 * rules the schema leaves to KEDA's admission (min <= max, at least one trigger, string metadata).
 */
function validateScaledObject(o: K8sObject): void {
  new ScaledObject(o as never).validate();
  const spec = o.spec as Record<string, unknown>;
  const fail = (why: string) => {
    throw new Error(`ScaledObject ${o.metadata.name}: ${why}`);
  };
  if (!isObject(spec)) fail('no spec');
  const target = spec.scaleTargetRef;
  if (!isObject(target) || typeof target.name !== 'string') fail('spec.scaleTargetRef.name is required');
  for (const field of ['minReplicaCount', 'maxReplicaCount', 'pollingInterval', 'cooldownPeriod'])
    if (spec[field] !== undefined && !(Number.isInteger(spec[field]) && (spec[field] as number) >= 0))
      fail(`spec.${field} must be a non-negative integer`);
  if ((spec.minReplicaCount as number) > (spec.maxReplicaCount as number)) fail('minReplicaCount > maxReplicaCount');
  if (!Array.isArray(spec.triggers) || spec.triggers.length === 0) fail('spec.triggers must list at least one trigger');
  for (const trigger of spec.triggers as unknown[]) {
    if (!isObject(trigger) || typeof trigger.type !== 'string') fail('a trigger needs a type');
    const metadata = (trigger as Record<string, unknown>).metadata;
    // KEDA's CRD: metadata is map[string]string.
    if (!isObject(metadata) || !Object.values(metadata).every((v) => typeof v === 'string'))
      fail('trigger metadata must map names to strings');
  }
}

const base = build(join(K8S, 'base'));
const production = build(join(K8S, 'overlays/production'));
const builds = { base, production };

const byKind = <T = K8sObject>(objects: K8sObject[], kind: string, name?: string) =>
  objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name)) as unknown as T[];
const one = (objects: K8sObject[], kind: string, name: string) => {
  const found = byKind(objects, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as K8sObject;
};
const container = (objects: K8sObject[], deployment: string): IContainer => {
  const pod = podSpecs(objects).find((p) => p.object.metadata.name === deployment);
  const first = pod?.spec.containers[0];
  if (!first) throw new Error(`${deployment} has no container`);
  return first;
};
const configData = (objects: K8sObject[]) => (one(objects, 'ConfigMap', 'dawg-config').data ?? {}) as Record<string, string>;
const secretData = (objects: K8sObject[]) =>
  Object.fromEntries(
    Object.entries((one(objects, 'Secret', 'dawg-secrets').data ?? {}) as Record<string, string>).map(([k, v]) => [
      k,
      Buffer.from(v, 'base64').toString(),
    ]),
  );
/** Stand-ins for what the real Secret holds, so the whole environment can be parsed. */
const SECRET_STANDINS = { JWT_SECRET: 'x'.repeat(48), FILES_SIGNING_SECRET: 'y'.repeat(48) };
/** Kubernetes quantities the manifests use: 500m, 1, 1Gi, 1280Mi, 1536Mi. */
const cpu = (q: string) => (q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q));
const mib = (q: string) => Number(q.replace(/(Mi|Gi)$/, '')) * (q.endsWith('Gi') ? 1024 : 1);

describe('Kubernetes manifests (deploy/k8s)', () => {
  it('every YAML file under deploy/k8s parses', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true }))
        if (entry.isDirectory()) walk(join(dir, entry.name));
        else if (/\.ya?ml$/.test(entry.name)) files.push(join(dir, entry.name));
    };
    walk(K8S);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) expect(() => loadDocuments(file), file).not.toThrow();
  });

  for (const [name, objects] of Object.entries(builds))
    it(`${name}: every object is valid against its schema`, () => {
      expect(objects.length).toBeGreaterThan(10);
      for (const o of objects) {
        const validate = SCHEMAS[`${o.apiVersion}/${o.kind}`];
        expect(validate, `no schema for ${o.apiVersion} ${o.kind} (${o.metadata?.name})`).toBeDefined();
        expect(() => validate?.(o), `${o.kind} ${o.metadata.name}`).not.toThrow();
      }
      const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
      expect(new Set(names).size, 'duplicate objects').toBe(names.length);
    });

  it('the schemas do catch a broken manifest (the validation is live)', () => {
    const api = one(production, 'Deployment', 'dawg-api');
    const noSelector = { ...api, spec: { ...(api.spec as object), selector: undefined } };
    expect(() => SCHEMAS['apps/v1/Deployment']?.(noSelector)).toThrow();
    const badPort = merge(api, { spec: { template: { spec: { containers: [{ name: 'api', ports: 'http' }] } } } }, true);
    expect(() => SCHEMAS['apps/v1/Deployment']?.(badPort as K8sObject)).toThrow();
    const scaled = one(production, 'ScaledObject', 'dawg-worker');
    expect(() => validateScaledObject(merge(scaled, { spec: { triggers: [] } }, false) as K8sObject)).toThrow();
    // KEDA's CRD schema itself: a count that is not an integer, a target without a name.
    expect(() => new ScaledObject(merge(scaled, { spec: { maxReplicaCount: 'ten' } }, false) as never).validate()).toThrow();
    expect(() =>
      new ScaledObject({ ...scaled, spec: { ...(scaled.spec as object), scaleTargetRef: {} } } as never).validate(),
    ).toThrow();
  });

  it('production: namespaced, the image from the overlay, pods running as non-root', () => {
    for (const o of production)
      if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('dawg');
    for (const pod of podSpecs(production)) {
      expect(pod.spec.securityContext?.runAsNonRoot).toBe(true);
      for (const c of pod.spec.containers) {
        expect(c.image).toMatch(/^ghcr\.io\/example\/dawg:/);
        expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
      }
    }
  });

  it('every variable the manifests set is one src/config.ts knows, and ConfigMap + Secret cover .env.example', () => {
    for (const objects of Object.values(builds)) {
      const config = configData(objects);
      for (const key of Object.keys(config))
        expect(CONFIG_KEYS.has(key), `ConfigMap key ${key} is not in src/config.ts`).toBe(true);
      for (const pod of podSpecs(objects))
        for (const c of pod.spec.containers) {
          // The api's process-level defaults (scripts/lib/api-env.mjs, as `npm start` sets them) are the only others, on the api only.
          const processEnv = pod.object.metadata.name === 'dawg-api' ? API_ENV_DEFAULTS : {};
          for (const env of c.env ?? [])
            expect(
              CONFIG_KEYS.has(env.name) || env.name in processEnv,
              `${pod.object.metadata.name}: env ${env.name} is not in src/config.ts`,
            ).toBe(true);
          for (const [name, value] of Object.entries(processEnv))
            expect(c.env?.find((e) => e.name === name)?.value, `${pod.object.metadata.name}: ${name}`).toBe(value);
        }
    }
    const config = configData(production);
    const secret = secretData(production);
    for (const key of Object.keys(secret)) expect(CONFIG_KEYS.has(key), `Secret key ${key} is not in src/config.ts`).toBe(true);
    const example = [...read(join(ROOT, '.env.example')).matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1] as string);
    for (const name of example) expect(name in config || name in secret, `${name} (.env.example) is in neither`).toBe(true);
    // One place per variable (a Secret's value would silently win over the ConfigMap's).
    expect(Object.keys(config).filter((k) => k in secret)).toEqual([]);
    // Credentials never in the ConfigMap.
    for (const name of [
      'JWT_SECRET',
      'FILES_SIGNING_SECRET',
      'DATABASE_URL',
      'REDIS_URL',
      'S3_ACCESS_KEY_ID',
      'S3_SECRET_ACCESS_KEY',
      'OPENAI_API_KEY',
      'ANTHROPIC_API_KEY',
      'GOOGLE_API_KEY',
      'METRICS_TOKEN',
    ])
      expect(secret, name).toHaveProperty(name);
  });

  it('the ConfigMap and the Secret form a configuration src/config.ts accepts, GraphiQL off, migrations by the Job', () => {
    for (const objects of Object.values(builds)) {
      const env = { ...configData(objects), ...secretDataOr(objects), ...SECRET_STANDINS };
      const config = parseConfig(env);
      expect(config).toMatchObject({ NODE_ENV: 'production', GRAPHIQL: false, MIGRATE_ON_START: false, STORAGE_DRIVER: 's3' });
    }
    // Production names its browser origins instead of '*'.
    expect(parseConfig({ ...configData(production), ...secretData(production), ...SECRET_STANDINS }).CORS_ORIGINS).not.toBe('*');
  });

  it('every pod takes its configuration from the ConfigMap and the Secret, and runs node on a compiled entry that exists', () => {
    const entries: Record<string, string> = {
      'dawg-api': 'dist/src/main.js',
      'dawg-worker': 'dist/worker/main.js',
      'dawg-migrate': 'dist/scripts/db/migrate.js',
    };
    for (const objects of Object.values(builds)) {
      const pods = podSpecs(objects);
      expect(pods.map((p) => p.object.metadata.name).sort()).toEqual(Object.keys(entries).sort());
      for (const pod of pods) {
        const c = pod.spec.containers[0] as IContainer;
        const entry = entries[pod.object.metadata.name] as string;
        // The api with its node options, as `npm start` runs it (scripts/lib/api-env.mjs).
        const nodeArgs = pod.object.metadata.name === 'dawg-api' ? API_NODE_ARGS : [];
        expect(c.command).toEqual(['node', ...nodeArgs, entry]);
        // dist/<path>.js is compiled from <path>.ts.
        expect(existsSync(join(ROOT, entry.replace(/^dist\//, '').replace(/\.js$/, '.ts'))), entry).toBe(true);
        const from = (c.envFrom ?? []).map((e) => e.configMapRef?.name ?? e.secretRef?.name);
        expect(from).toEqual(['dawg-config', 'dawg-secrets']);
        one(objects, 'ConfigMap', 'dawg-config');
        // The base leaves the Secret to the overlay (secretGenerator).
        if (objects === production) one(objects, 'Secret', 'dawg-secrets');
      }
    }
  });

  it('every container has CPU and memory requests and limits; the worker has room for WORKER_CONCURRENCY jobs', () => {
    for (const pod of podSpecs(production))
      for (const c of pod.spec.containers) {
        const { requests = {}, limits = {} } = c.resources ?? {};
        for (const r of ['cpu', 'memory']) {
          expect(requests[r], `${c.name} ${r} request`).toBeDefined();
          expect(limits[r], `${c.name} ${r} limit`).toBeDefined();
        }
        expect(cpu(String(requests.cpu))).toBeLessThanOrEqual(cpu(String(limits.cpu)));
        expect(mib(String(requests.memory))).toBeLessThanOrEqual(mib(String(limits.memory)));
      }
    // docs/operations.md "Worker memory": idle up to 380 MiB + 450 MiB budgeted per concurrent job.
    const concurrency = Number(configData(production).WORKER_CONCURRENCY);
    const worker = container(production, 'dawg-worker');
    expect(mib(String(worker.resources?.requests?.memory))).toBeGreaterThanOrEqual(380 + 450 * concurrency);
  });

  it('api: readiness on /ready, liveness on /health, a preStop drain, and a grace period covering it and SHUTDOWN_TIMEOUT_MS', () => {
    const api = container(production, 'dawg-api');
    const port = (name: unknown) => api.ports?.find((p) => p.name === name)?.containerPort;
    const config = configData(production);
    expect(api.readinessProbe?.httpGet?.path).toBe('/ready');
    expect(api.livenessProbe?.httpGet?.path).toBe('/health');
    expect(port(api.readinessProbe?.httpGet?.port)).toBe(Number(config.PORT));
    expect(port('metrics')).toBe(Number(config.METRICS_PORT));
    const sleep = api.lifecycle?.preStop?.exec?.command;
    expect(sleep?.[0]).toBe('sleep');
    const preStop = Number(sleep?.[1]);
    // Longer than a load balancer's deregistration (ingress-nginx: a second or two; see the comment in the manifest).
    expect(preStop).toBeGreaterThanOrEqual(10);
    const owner = podSpecs(production).find((p) => p.object.metadata.name === 'dawg-api');
    expect(owner?.spec.terminationGracePeriodSeconds).toBeGreaterThan(preStop + Number(config.SHUTDOWN_TIMEOUT_MS) / 1000);
    const template = (owner?.object.spec as IDeployment['spec'])?.template;
    expect(template?.metadata?.annotations?.['prometheus.io/port']).toBe(config.METRICS_PORT);
  });

  it('worker: its own probes and metrics on WORKER_PORT', () => {
    const worker = container(production, 'dawg-worker');
    const workerPort = Number(configData(production).WORKER_PORT ?? 9465);
    const port = (name: unknown) => worker.ports?.find((p) => p.name === name)?.containerPort;
    expect(worker.readinessProbe?.httpGet?.path).toBe('/ready');
    expect(worker.livenessProbe?.httpGet?.path).toBe('/health');
    expect(port(worker.readinessProbe?.httpGet?.port)).toBe(workerPort);
    expect(port(worker.livenessProbe?.httpGet?.port)).toBe(workerPort);
    const spec = one(production, 'Deployment', 'dawg-worker').spec as IDeployment['spec'];
    expect(spec?.template.metadata?.annotations?.['prometheus.io/port']).toBe(String(workerPort));
  });

  it('Services, the HPA, the ScaledObject and the PDBs point at what exists', () => {
    for (const objects of Object.values(builds)) {
      const pods = podSpecs(objects);
      const matches = (selector: Record<string, string> | undefined) =>
        pods.filter((p) => selector && Object.entries(selector).every(([k, v]) => p.labels[k] === v));
      for (const s of byKind(objects, 'Service')) {
        const spec = s.spec as { selector: Record<string, string>; ports: { targetPort: string }[] };
        const [target] = matches(spec.selector);
        expect(target, `Service ${s.metadata.name}`).toBeDefined();
        for (const p of spec.ports)
          expect(target?.spec.containers.some((c) => c.ports?.some((cp) => cp.name === p.targetPort))).toBe(true);
      }
      for (const pdb of byKind(objects, 'PodDisruptionBudget'))
        expect(matches((pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels)).toHaveLength(1);
      const deployments = byKind(objects, 'Deployment').map((d) => d.metadata.name);
      const hpa = one(objects, 'HorizontalPodAutoscaler', 'dawg-api').spec as {
        scaleTargetRef: { kind: string; name: string };
        metrics: { resource?: { name: string } }[];
      };
      expect(hpa.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'dawg-api' });
      expect(hpa.metrics.map((m) => m.resource?.name)).toContain('cpu');
      const scaled = one(objects, 'ScaledObject', 'dawg-worker').spec as {
        scaleTargetRef: { name: string };
        triggers: { type: string; metadata: Record<string, string> }[];
      };
      expect(deployments).toContain(scaled.scaleTargetRef.name);
      expect(scaled.scaleTargetRef.name).toBe('dawg-worker');
      const [trigger] = scaled.triggers;
      expect(trigger?.type).toBe('prometheus');
      expect(trigger?.metadata.query).toContain('dawg_queue_jobs{state="waiting"}');
      expect(() => new URL(trigger?.metadata.serverAddress ?? '')).not.toThrow();
      expect(Number(trigger?.metadata.threshold)).toBeGreaterThan(0);
    }
  });

  it('Ingress: WebSocket timeouts longer than the keep-alive, body limit, TLS in production', () => {
    const ingress = one(production, 'Ingress', 'dawg-api');
    const annotations = ingress.metadata.annotations ?? {};
    const keepAliveSec = Number(configData(production).WS_KEEPALIVE_MS) / 1000;
    for (const a of ['proxy-read-timeout', 'proxy-send-timeout'])
      expect(Number(annotations[`nginx.ingress.kubernetes.io/${a}`])).toBeGreaterThan(keepAliveSec * 4);
    expect(annotations['nginx.ingress.kubernetes.io/proxy-body-size']).toBe('1m');
    expect(Number(configData(production).GRAPHQL_MAX_BODY_BYTES)).toBe(1024 * 1024);
    const spec = ingress.spec as { tls?: { hosts: string[] }[]; rules: { host?: string }[] };
    expect(spec.tls?.[0]?.hosts).toEqual(spec.rules.map((r) => r.host));
  });
});

/** The Secret's values, or none for a build without it (the base leaves it to the overlay). */
function secretDataOr(objects: K8sObject[]): Record<string, string> {
  return byKind(objects, 'Secret', 'dawg-secrets').length ? secretData(objects) : {};
}

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean> | string[];
  depends_on?: Record<string, { condition: string }> | string[];
  volumes?: string[];
}

/** docker compose's ${NAME:-default} with nothing set: the committed defaults. `$$` is a literal `$`. */
const interpolate = (value: string) =>
  value.replace(/\$\$|\$\{(\w+)(?::?-([^}]*))?\}/g, (match, _name, fallback: string | undefined) =>
    match === '$$' ? '$' : (fallback ?? ''),
  );

describe('docker-compose.yml', () => {
  const compose = parse(read(join(ROOT, 'docker-compose.yml')), { merge: true }) as { services: Record<string, ComposeService> };
  const services = compose.services;
  const envOf = (s: ComposeService): Record<string, string> =>
    Array.isArray(s.environment)
      ? Object.fromEntries(s.environment.map((e) => [e.split('=')[0], interpolate(e.slice(e.indexOf('=') + 1))]))
      : Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));
  const dawg = ['migrate', 'api', 'worker'] as const;

  it('runs the whole stack', () => {
    for (const name of ['postgres', 'redis', 'minio', 'migrate', 'api', 'worker', 'prometheus', 'grafana'])
      expect(services, name).toHaveProperty(name);
  });

  it('Redis keeps an append-only file and never evicts (BullMQ)', () => {
    const command = [services.redis?.command ?? []].flat().join(' ');
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--maxmemory-policy noeviction/);
  });

  it('api, worker and migrate: one image built from the Dockerfile, their commands, variables src/config.ts knows and accepts', () => {
    const commands = { migrate: 'node dist/scripts/db/migrate.js', api: undefined, worker: 'node dist/worker/main.js' };
    for (const name of dawg) {
      const s = services[name] as ComposeService;
      expect(s.build, name).toBeDefined();
      expect(s.image).toBe(services.api?.image);
      expect(s.command === undefined ? undefined : [s.command].flat().join(' ')).toBe(commands[name]);
      const env = envOf(s);
      // The api's process-level defaults (scripts/lib/api-env.mjs, as `npm start` sets them): on the api, and only there.
      const processEnv = name === 'api' ? API_ENV_DEFAULTS : {};
      for (const [key, value] of Object.entries(processEnv)) expect(env[key], `${name}: ${key}`).toBe(value);
      for (const key of Object.keys(env))
        expect(CONFIG_KEYS.has(key) || key in processEnv, `${name}: ${key} is not in src/config.ts`).toBe(true);
      expect(parseConfig(env)).toMatchObject({ NODE_ENV: 'production', STORAGE_DRIVER: 's3', MIGRATE_ON_START: false });
      expect(env.S3_ENDPOINT).toBe('http://minio:9000');
      expect(parseConfig(env).S3_FORCE_PATH_STYLE).toBe(true);
    }
    for (const name of ['api', 'worker'] as const)
      expect(services[name]?.depends_on).toMatchObject({ migrate: { condition: 'service_completed_successfully' } });
  });

  it('the bucket is created on start with the credentials the api uses', () => {
    const init = Object.entries(services).find(([, s]) => s.image?.startsWith('minio/mc'));
    expect(init).toBeDefined();
    const [initName, initService] = init as [string, ComposeService];
    const api = envOf(services.api as ComposeService);
    const initEnv = envOf(initService);
    expect(initEnv.MINIO_ROOT_USER).toBe(api.S3_ACCESS_KEY_ID);
    expect(initEnv.MINIO_ROOT_PASSWORD).toBe(api.S3_SECRET_ACCESS_KEY);
    expect(envOf(services.minio as ComposeService).MINIO_ROOT_USER).toBe(api.S3_ACCESS_KEY_ID);
    expect(initEnv.BUCKET).toBe(api.S3_BUCKET);
    expect([initService.command].flat().join(' ')).toMatch(/mc mb --ignore-existing/);
    expect(services.api?.depends_on).toMatchObject({ [initName]: { condition: 'service_completed_successfully' } });
  });

  it('Prometheus scrapes the api and the worker and loads the alert rules; Grafana is provisioned', () => {
    expect(services.prometheus?.volumes).toContain('./deploy/prometheus:/etc/prometheus:ro');
    const prom = parse(read(join(ROOT, 'deploy/prometheus/prometheus.yml'))) as {
      rule_files: string[];
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    expect(prom.rule_files).toContain('/etc/prometheus/alerts.yml');
    const targets = prom.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    const api = envOf(services.api as ComposeService);
    expect(targets).toContain(`api:${api.METRICS_PORT}`);
    expect(targets).toContain(`worker:${api.WORKER_PORT ?? 9465}`);

    const volumes = services.grafana?.volumes ?? [];
    expect(volumes).toContain('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro');
    const dashboardsMount = volumes.find((v) => v.startsWith('./deploy/grafana/dashboards:'))?.split(':')[1];
    const provider = parse(read(join(ROOT, 'deploy/grafana/provisioning/dashboards/dawg.yml'))) as {
      providers: { options: { path: string } }[];
    };
    expect(provider.providers[0]?.options.path).toBe(dashboardsMount);
    const datasource = parse(read(join(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml'))) as {
      datasources: { type: string; url: string }[];
    };
    expect(datasource.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
  });
});

describe('Dockerfile', () => {
  const dockerfile = read(join(ROOT, 'Dockerfile'));
  const ignore = read(join(ROOT, '.dockerignore')).split('\n');

  it('runs production dependencies as a non-root user, node on the compiled api entry, with a HEALTHCHECK', () => {
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = stages.at(-1) as string;
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(runtime).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/^USER node$/m);
    // The api with its node options, as `npm start` runs it (scripts/lib/api-env.mjs).
    expect(runtime.split('\n')).toContain(
      `CMD ${JSON.stringify(['node', ...API_NODE_ARGS, 'dist/src/main.js'])}`.replaceAll(',', ', '),
    );
    expect(runtime).toMatch(/^HEALTHCHECK .*CMD \["node", /m);
    expect(read(join(ROOT, 'deploy/docker/healthcheck.mjs'))).toMatch(/fetch\(`http:\/\/127\.0\.0\.1:\$\{port\}\/health`/);
  });

  it('keeps local installs, outputs and secrets out of the build context', () => {
    for (const entry of ['node_modules', 'dist', '.env', '.dawg-secrets', '.git', 'storage']) expect(ignore).toContain(entry);
  });
});
