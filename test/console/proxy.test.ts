/**
 * `logway console`: the proxy that serves the console and forwards /v1/* to an API, signing with
 * SigV4; it refuses foreign Host and Origin. Against this file's local service, a recording
 * upstream (to check the signature), and the packaged CLI.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../../client/build';
import { NodeSha256, sigv4Signer } from '../../client/src/auth';
import { ensureConsoleBuilt } from '../../console/build';
import { type RunningConsoleProxy, startConsoleProxy } from '../../console/proxy';
import { useTestService } from '../support/local-service';

const { service } = useTestService();
const repoRoot = join(import.meta.dirname, '..', '..');

/** A raw request, so Host and Origin can be set as a browser or an attacker would. */
function raw(url: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the console proxy against a local service', () => {
  let proxy: RunningConsoleProxy;

  beforeAll(async () => {
    proxy = await startConsoleProxy({ apiUrl: service().url, filesDir: await ensureConsoleBuilt() });
  });

  afterAll(async () => {
    await proxy?.stop();
  });

  it('listens on 127.0.0.1 and serves the console files', async () => {
    expect(proxy.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const index = await fetch(`${proxy.url}/console/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<div id="app">');
    const script = await fetch(`${proxy.url}/console/app.js`);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect((await fetch(proxy.url, { redirect: 'manual' })).headers.get('location')).toBe('/console/');
    expect((await fetch(`${proxy.url}/console/.built`)).status).toBe(404);
  });

  it('forwards /v1/* with bodies, statuses and error bodies unchanged', async () => {
    const created = await fetch(`${proxy.url}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'proxied', partitions: 2 }),
    });
    expect(created.status).toBe(201);
    const again = await fetch(`${proxy.url}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'proxied' }),
    });
    expect(again.status).toBe(409);
    const direct = await fetch(`${service().url}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'proxied' }),
    });
    expect(await again.json()).toEqual(await direct.json());
    const list = await fetch(`${proxy.url}/v1/topics`);
    expect(await list.json()).toEqual({ topics: [{ name: 'proxied', partitions: 2 }] });
    const poll = Date.now();
    const fetched = await fetch(`${proxy.url}/v1/topics/proxied/partitions/0/records?offset=0&waitMs=300`);
    expect(fetched.status).toBe(200);
    expect(Date.now() - poll).toBeGreaterThanOrEqual(250);
  });

  it('refuses a foreign Host (DNS rebinding) and a foreign Origin (CSRF) with 403 and a code', async () => {
    const port = String(proxy.port);
    const rebinding = await raw(`${proxy.url}/v1/topics`, { host: `attacker.example:${port}` });
    expect(rebinding.status).toBe(403);
    expect(JSON.parse(rebinding.body).error.code).toBe('FORBIDDEN_HOST');
    const csrf = await raw(
      `${proxy.url}/v1/topics`,
      { host: `127.0.0.1:${port}`, origin: 'https://attacker.example', 'content-type': 'application/json' },
      'POST',
      JSON.stringify({ name: 'csrf' }),
    );
    expect(csrf.status).toBe(403);
    expect(JSON.parse(csrf.body).error.code).toBe('FORBIDDEN_ORIGIN');
    expect((await fetch(`${service().url}/v1/topics/csrf`)).status).toBe(404);
    const page = await raw(`${proxy.url}/console/`, { host: `evil.example:${port}` });
    expect(page.status).toBe(403);
    const own = await raw(`${proxy.url}/v1/topics`, { host: `localhost:${port}`, origin: `http://localhost:${port}` });
    expect(own.status).toBe(200);
  });

  it('answers an API it cannot reach with 502 and a code', async () => {
    const dead = await startConsoleProxy({ apiUrl: 'http://127.0.0.1:9', filesDir: await ensureConsoleBuilt() });
    try {
      const response = await fetch(`${dead.url}/v1/topics`);
      expect(response.status).toBe(502);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('API_UNREACHABLE');
    } finally {
      await dead.stop();
    }
  });
});

describe('signing', () => {
  const credentials = { accessKeyId: 'AKIDCONSOLETEST', secretAccessKey: 'console-secret', sessionToken: 'console-session' };
  let upstream: Server;
  let seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[];
  let proxy: RunningConsoleProxy;

  beforeAll(async () => {
    seen = [];
    upstream = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'x=1' });
        res.end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const api = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/prod`;
    proxy = await startConsoleProxy({ apiUrl: api, filesDir: await ensureConsoleBuilt(), signer: sigv4Signer('eu-west-1', credentials) });
  });

  afterAll(async () => {
    await proxy?.stop();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it("signs each forwarded request with the user's credentials (SigV4, execute-api), under the API's base path", async () => {
    const response = await fetch(`${proxy.url}/v1/topics/orders/records?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: 'session=browser', 'idempotency-key': 'k-1' },
      body: '{"records":[{"value":"v"}]}',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toBeNull();
    const [received] = seen;
    expect(received).toMatchObject({ method: 'POST', url: '/prod/v1/topics/orders/records?x=1', body: '{"records":[{"value":"v"}]}' });
    expect(received!.headers.cookie).toBeUndefined();
    expect(received!.headers['idempotency-key']).toBe('k-1');
    expect(received!.headers['x-amz-security-token']).toBe('console-session');
    const authorization = String(received!.headers.authorization);
    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDCONSOLETEST\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=.*host/,
    );

    // The signature is the one SigV4 gives this very request at its signing time.
    const amzDate = String(received!.headers['x-amz-date']);
    const signingDate = new Date(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    const signer = new SignatureV4({ service: 'execute-api', region: 'eu-west-1', credentials, sha256: NodeSha256 });
    const expected = await signer.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: (upstream.address() as AddressInfo).port,
        path: '/prod/v1/topics/orders/records',
        query: { x: '1' },
        headers: {
          accept: String(received!.headers.accept),
          'content-type': 'application/json',
          'idempotency-key': 'k-1',
          host: String(received!.headers.host),
        },
        body: '{"records":[{"value":"v"}]}',
      },
      { signingDate },
    );
    expect(authorization).toBe(expected.headers.authorization);
  });
});

describe('the packaged CLI: logway console', () => {
  // Inside the repository, so the bundle's external dependencies resolve from its node_modules.
  const outDir = join(repoRoot, 'client', 'dist', `.test-console-${process.pid}`);

  beforeAll(async () => {
    await buildClient({ outDir, types: false });
  });

  afterAll(() => {
    rmSync(outDir, { recursive: true, force: true });
  });

  it('ships the console files in the package', () => {
    for (const name of ['index.html', 'app.js', 'app.css']) expect(existsSync(join(outDir, 'console', name)), name).toBe(true);
    expect(existsSync(join(outDir, 'console', '.built'))).toBe(false);
  });

  it('serves the console on 127.0.0.1 and forwards to --url until stopped', async () => {
    const child = spawn(process.execPath, [join(outDir, 'cli.js'), '--url', service().url, 'console', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          const match = /Logway console: (http:\/\/127\.0\.0\.1:\d+)\/console\//.exec(out);
          if (match) resolve(match[1]!);
        });
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => reject(new Error(chunk)));
        child.on('exit', (code) => reject(new Error(`logway console exited with ${code}: ${out}`)));
      });
      expect((await fetch(`${url}/console/`)).status).toBe(200);
      const topics = await fetch(`${url}/v1/topics`);
      expect(await topics.json()).toEqual(await (await fetch(`${service().url}/v1/topics`)).json());
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('refuses a port that is not a number', async () => {
    const result = await promisify(execFile)(process.execPath, [join(outDir, 'cli.js'), 'console', '--port', 'x']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(result).toMatchObject({ code: 1 });
    expect((result as { stderr: string }).stderr).toContain('port must be an integer');
  });
});
