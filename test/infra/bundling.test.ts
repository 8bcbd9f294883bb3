/**
 * Real bundling, once: every route's handler, bundled by the stack's own esbuild settings, is a
 * self-contained ES module that loads with no node_modules anywhere above it (as on Lambda) —
 * which proves the ESM `require` shim and that native modules are optional (pure-JS fallbacks).
 */
import { App } from 'aws-cdk-lib';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logwayBundling, nativeModules } from '../../infra/bundling';
import { LogwayStack } from '../../infra/logway-stack';
import { lockedVersion, repoRoot } from '../../infra/project';
import { routes } from '../../shared/http/routes';

const cdkJson = JSON.parse(readFileSync(join(repoRoot, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };

/** Imports a bundle in a fresh Node.js process; with `call`, invokes its handler with GET /v1/health. */
function invokeBundle(file: string, call = false): { exportsHandler: boolean; response?: { statusCode: number; body?: string } } {
  const script = `
    const mod = await import(process.argv[1]);
    const result = { exportsHandler: typeof mod.handler === 'function' };
    if (process.argv[2] === 'call') {
      result.response = await mod.handler({
        version: '2.0', routeKey: 'GET /v1/health', rawPath: '/v1/health', rawQueryString: '', headers: {},
        requestContext: { requestId: 'bundle-test', http: { method: 'GET', path: '/v1/health' } },
        isBase64Encoded: false,
      }, { awsRequestId: 'bundle-test' });
    }
    process.stdout.write(JSON.stringify(result));
  `;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script, file, call ? 'call' : 'load'], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '', POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' },
    encoding: 'utf8',
  });
  return JSON.parse(output) as ReturnType<typeof invokeBundle>;
}

describe('bundling (esbuild, ESM, arm64 target)', () => {
  let outdir: string;
  let bundles: Map<string, string>;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'logway-bundle-test-'));
    const app = new App({ context: cdkJson.context, outdir });
    const stack = new LogwayStack(app, 'LogwayBundle', { stage: 'dev', scheduledFunctions: [] });
    const template = app.synth().getStackByName(stack.stackName).template as {
      Resources: Record<string, { Properties: { Code?: { S3Key?: string } } }>;
    };
    // A function's code is the asset whose hash names both its S3 key and its staging directory.
    bundles = new Map();
    for (const [name, fn] of [...stack.routeFunctions, ['not-found', stack.notFoundFunction] as const]) {
      const resource = template.Resources[stack.getLogicalId(fn.function.node.defaultChild as never)]!;
      const hash = resource.Properties.Code!.S3Key!.replace(/\.zip$/, '');
      bundles.set(name, join(outdir, `asset.${hash}`, 'index.mjs'));
    }
  }, 120_000);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('makes one .mjs bundle with a source map per route, without node_modules', () => {
    expect(bundles.size).toBe(routes.length + 1);
    for (const file of bundles.values()) {
      expect(existsSync(file), file).toBe(true);
      expect(existsSync(`${file}.map`)).toBe(true);
      expect(readdirSync(join(file, '..'))).not.toContain('node_modules');
    }
  });

  it('every bundle loads outside the repository and exports handler', () => {
    for (const [name, file] of bundles) {
      expect(invokeBundle(file).exportsHandler, name).toBe(true);
    }
  });

  it('no bundle contains test code or the AGPL-licensed IAM simulator (a test-only dev dependency)', () => {
    for (const [name, file] of bundles) {
      const { sources } = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
      expect(sources.length, name).toBeGreaterThan(0);
      expect(
        sources.filter((source) => /@cloud-copilot|(^|\/)test\//.test(source)),
        name,
      ).toEqual([]);
    }
  });

  it('the not-found bundle answers 404 NOT_FOUND', () => {
    const script = `
      const mod = await import(process.argv[1]);
      const response = await mod.handler({
        version: '2.0', routeKey: '$default', rawPath: '/v2/nothing', rawQueryString: '', headers: {},
        requestContext: { requestId: 'bundle-test', http: { method: 'GET', path: '/v2/nothing' } },
        isBase64Encoded: false,
      }, { awsRequestId: 'bundle-test' });
      process.stdout.write(JSON.stringify(response));
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script, bundles.get('not-found')!], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH ?? '', POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' },
      encoding: 'utf8',
    });
    const response = JSON.parse(output) as { statusCode: number; body: string };
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body).error.code).toBe('NOT_FOUND');
  });

  it('the health bundle answers 200', () => {
    const result = invokeBundle(bundles.get('health')!, true);
    expect(result.response?.statusCode).toBe(200);
    expect(JSON.parse(result.response!.body!)).toMatchObject({ status: 'ok' });
  });

  it('keeps native modules external; the install mode fetches their linux-arm64 glibc build', () => {
    expect(logwayBundling().externalModules).toEqual([...nativeModules]);
    expect(logwayBundling().commandHooks).toBeUndefined();
    const install = logwayBundling('install');
    expect(install.externalModules).toEqual([...nativeModules]);
    const [command] = install.commandHooks!.afterBundling('/in', '/out');
    expect(command).toContain('--prefix "/out"');
    expect(command).toContain('--os=linux --cpu=arm64 --libc=glibc');
    for (const name of nativeModules) expect(command).toContain(`${name}@${lockedVersion(name)}`);
  });
});
