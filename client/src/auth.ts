/**
 * Request authentication. Against the local runtime requests go unsigned; against AWS, API
 * Gateway authorizes with IAM, so requests are signed with SigV4 for the `execute-api` service,
 * with credentials from the AWS SDK's default chain (environment, shared config and SSO
 * profiles, web identity, container and instance metadata) unless given explicitly.
 * The AWS packages are imported only when signing is used.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

export type AuthMode = 'none' | 'sigv4';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

const loopbackHosts = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** `none` for loopback URLs (the local runtime, LocalStack on localhost), `sigv4` for anything else. */
export function defaultAuthFor(url: URL): AuthMode {
  return loopbackHosts.has(url.hostname) || url.hostname.endsWith('.localhost') ? 'none' : 'sigv4';
}

/** The region of an `https://<id>.execute-api.<region>.amazonaws.com` URL, else the option or AWS_REGION. */
export function regionFor(url: URL, explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  const match = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname);
  if (match) return match[1]!;
  const fromEnv = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (fromEnv) return fromEnv;
  throw new Error(
    `Cannot tell the AWS region of ${url.origin} for SigV4 signing: pass the region option (CLI: --region) or set AWS_REGION.`,
  );
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

const toBytes = (data: SourceData): Buffer =>
  typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/** SHA-256 and HMAC-SHA-256 for the signer, on node:crypto (the shape of @smithy/types' Checksum). */
export class NodeSha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.create();
  }

  private create(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(this.secret));
  }

  update(data: SourceData): void {
    this.hash.update(toBytes(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.create();
  }
}

export interface SignableRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

export type RequestSigner = (request: SignableRequest) => Promise<Record<string, string>>;

/** A signer for `execute-api` in `region`: returns the headers to send (the given ones plus the signature's). */
export function sigv4Signer(region: string, credentials?: AwsCredentials | AwsCredentialsProvider): RequestSigner {
  let signer: Promise<{ sign(request: unknown): Promise<{ headers: Record<string, string> }> }> | undefined;
  const load = async () => {
    const { SignatureV4 } = await import('@smithy/signature-v4');
    let provider: AwsCredentialsProvider;
    if (typeof credentials === 'function') provider = credentials;
    else if (credentials) provider = async () => credentials;
    else {
      const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
      provider = defaultProvider();
    }
    return new SignatureV4({ service: 'execute-api', region, credentials: provider, sha256: NodeSha256 }) as unknown as {
      sign(request: unknown): Promise<{ headers: Record<string, string> }>;
    };
  };
  return async ({ method, url, headers, body }) => {
    signer ??= load();
    const query: Record<string, string | string[]> = {};
    for (const name of new Set(url.searchParams.keys())) {
      const values = url.searchParams.getAll(name);
      query[name] = values.length === 1 ? values[0]! : values;
    }
    const signed = await (await signer).sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: { ...headers, host: url.host },
      ...(body !== undefined ? { body } : {}),
    });
    return signed.headers;
  };
}
