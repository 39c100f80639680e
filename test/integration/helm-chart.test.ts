/**
 * Issue 19: the Helm chart renders, with its default values, with one Redis and with a Redis
 * Cluster, into manifests a user would accept: a Deployment that runs the image and mounts the
 * config, and a ConfigMap whose spillway.yaml spillway's own loader accepts.
 *
 * helm is not installable here, so deploy/helm/render (Go's text/template with sprig and helm's
 * own functions: helm's engine) renders the chart. It is built from Debian's Go sources
 * (golang-go, golang-github-masterminds-sprig-dev, golang-k8s-sigs-yaml-dev; .ci/run installs them).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';

const CHART = resolve('deploy/helm/spillway');
const RENDERER = resolve('deploy/helm/render');
const RELEASE = 'gw';
const FULLNAME = `${RELEASE}-spillway`;
/** Debian's Go sources (sprig, sigs.k8s.io/yaml and what they import), used in GOPATH mode. */
const DEBIAN_GOPATH = '/usr/share/gocode';
/** The ${VAR}s the chart's default config names, as the Secret would provide them. */
const SECRET_ENV = { SPILLWAY_KEY: 'sk-gw', ANTHROPIC_API_KEY: 'sk-ant-test' };

const goMissing = spawnSync('go', ['version']).error !== undefined;
const skip: string | false = goMissing ? 'go not found: install golang-go, golang-github-masterminds-sprig-dev and golang-k8s-sigs-yaml-dev (as .ci/run does) to render the chart' : false;

/** The fields of a Kubernetes manifest these checks read. */
interface Manifest {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    template?: { spec: PodSpec };
  };
}
interface PodSpec {
  containers: { name: string; image: string; args?: string[]; volumeMounts?: { name: string; mountPath: string }[] }[];
  volumes?: { name: string; configMap?: { name: string }; persistentVolumeClaim?: { claimName: string }; emptyDir?: object }[];
}

interface Rendered {
  text: string;
  manifests: Manifest[];
}

describe('Helm chart, rendered with helm\'s template engine', { skip }, () => {
  let work: string;
  let renderer: string;
  const defaults = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as { image: { repository: string; tag: string } };

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'spillway-helm-'));
    // GOPATH mode resolves sprig's /v3 import path to Debian's unversioned directory only for a
    // program inside a GOPATH and with a go.mod; a copy puts it there (Go sees through a symlink).
    cpSync(RENDERER, join(work, 'src', 'spillway', 'helm-render'), { recursive: true });
    renderer = join(work, 'render');
    const build = spawnSync('go', ['build', '-o', renderer, '.'], {
      cwd: join(work, 'src', 'spillway', 'helm-render'),
      env: { ...process.env, GO111MODULE: 'off', GOPATH: `${work}:${DEBIAN_GOPATH}`, GOFLAGS: '' },
      encoding: 'utf8',
      timeout: 180_000,
    });
    assert.equal(build.status, 0, `go build of the renderer failed:\n${build.stderr}`);
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  /**
   * `helm template gw deploy/helm/spillway -f <values> --set <set>`, strict: a missing key is an
   * error and "<no value>" stays in the output (helm would hide both).
   */
  function render(values: object | undefined, set?: string): { status: number | null; stderr: string; rendered: Rendered } {
    const args = ['-strict'];
    if (values) {
      const file = join(work, `values-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(file, JSON.stringify(values)); // JSON is YAML
      args.push('-f', file);
    }
    if (set) args.push('-set', set);
    const run = spawnSync(renderer, [...args, RELEASE, CHART], { encoding: 'utf8', timeout: 30_000 });
    const manifests: Manifest[] = [];
    for (const doc of parseAllDocuments(run.stdout)) {
      assert.deepEqual(doc.errors, [], `a rendered document is not valid YAML:\n${doc.toString()}`);
      const manifest = doc.toJS() as Manifest | null;
      if (manifest !== null) manifests.push(manifest);
    }
    return { status: run.status, stderr: run.stderr, rendered: { text: run.stdout, manifests } };
  }

  function renderOk(values?: object, set?: string): Rendered {
    const run = render(values, set);
    assert.equal(run.status, 0, `the chart did not render:\n${run.stderr}`);
    assert.ok(!run.rendered.text.includes('<no value>'), `a template printed a missing value:\n${run.rendered.text}`);
    for (const manifest of run.rendered.manifests) {
      assert.equal(typeof manifest.kind, 'string', 'every document has a kind');
      assert.ok(manifest.metadata?.name, `${manifest.kind} has a name`);
    }
    return run.rendered;
  }

  function find(rendered: Rendered, kind: string, name = FULLNAME): Manifest {
    const found = rendered.manifests.find((m) => m.kind === kind && m.metadata.name === name);
    assert.ok(found, `no ${kind} ${name} among ${rendered.manifests.map((m) => `${m.kind} ${m.metadata.name}`).join(', ')}`);
    return found;
  }

  /** The Deployment runs the image and mounts the ConfigMap where --config points; returns the config spillway would load. */
  function spillwayConfig(rendered: Rendered, image = `${defaults.image.repository}:${defaults.image.tag}`): Config {
    const pod = find(rendered, 'Deployment').spec?.template?.spec;
    assert.ok(pod, 'the Deployment has a pod template');
    const container = pod.containers.find((c) => c.name === 'spillway');
    assert.ok(container, 'the pod runs a spillway container');
    assert.equal(container.image, image);
    const configPath = container.args?.[container.args.indexOf('--config') + 1];
    assert.ok(configPath, `the container is started with --config: ${JSON.stringify(container.args)}`);

    const volume = pod.volumes?.find((v) => v.configMap?.name === FULLNAME);
    assert.ok(volume, 'the pod has the ConfigMap as a volume');
    const mount = container.volumeMounts?.find((m) => m.name === volume.name);
    assert.ok(mount, 'the container mounts the config volume');
    assert.ok(configPath.startsWith(`${mount.mountPath}/`), `--config ${configPath} is inside the mount ${mount.mountPath}`);
    const key = configPath.slice(mount.mountPath.length + 1);

    const text = find(rendered, 'ConfigMap').data?.[key];
    assert.ok(text, `the ConfigMap has ${key}`);
    return parseConfig(parseYaml(text), `ConfigMap ${key}`, SECRET_ENV);
  }

  it('default values: one replica, memory store, the config loads', () => {
    const rendered = renderOk();
    const config = spillwayConfig(rendered);
    assert.equal(find(rendered, 'Deployment').spec?.replicas, 1);
    assert.equal(config.store.type, 'memory');
    assert.equal(config.server.port, 4000);
    assert.equal(config.server.host, '0.0.0.0');
    assert.deepEqual(config.server.auth.keys, [SECRET_ENV.SPILLWAY_KEY]);
    find(rendered, 'Service');
    find(rendered, 'PersistentVolumeClaim');
  });

  it('Redis Cluster: store type redis-cluster with the given nodes and prefix, replicas honoured', () => {
    const nodes = ['redis://redis-cluster-0.redis-cluster:6379', 'redis://redis-cluster-1.redis-cluster:6379'];
    const rendered = renderOk({ replicaCount: 3, image: { tag: '9.9.9' }, redis: { prefix: 'team-a:', cluster: { nodes } } });
    const config = spillwayConfig(rendered, `${defaults.image.repository}:9.9.9`);
    assert.equal(find(rendered, 'Deployment').spec?.replicas, 3);
    assert.equal(config.store.type, 'redis-cluster');
    assert.deepEqual(config.store.nodes, nodes);
    assert.equal(config.store.prefix, 'team-a:');
    assert.equal(config.store.replicas, 3);
    // No bundled Redis beside a cluster of the user's own, and no single-replica volume.
    assert.ok(!rendered.manifests.some((m) => m.metadata.name === `${FULLNAME}-redis`), 'no bundled Redis is rendered');
    assert.ok(!rendered.manifests.some((m) => m.kind === 'PersistentVolumeClaim'), 'no PVC for several replicas');
  });

  it('one bundled Redis (--set): store type redis at the chart\'s Redis Service', () => {
    const rendered = renderOk(undefined, 'redis.enabled=true,replicaCount=2');
    const config = spillwayConfig(rendered);
    assert.equal(find(rendered, 'Deployment').spec?.replicas, 2);
    assert.equal(config.store.type, 'redis');
    assert.equal(config.store.url, `redis://${FULLNAME}-redis:6379`);
    assert.equal(config.store.replicas, 2);
    find(rendered, 'Deployment', `${FULLNAME}-redis`);
    find(rendered, 'Service', `${FULLNAME}-redis`);
  });

  it('several replicas without a shared store: the chart refuses, saying why', () => {
    const run = render({ replicaCount: 2 });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /replicaCount > 1 needs redis\.enabled, redis\.url or redis\.cluster\.nodes/);
  });
});
