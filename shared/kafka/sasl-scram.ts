/**
 * SASL SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), both sides, as pure functions: the
 * server never sees a password, only the salted credential {salt, iterations, storedKey,
 * serverKey} (RFC 5802 section 3), which is also all a credential store keeps.
 *
 * The server's exchange is two steps, each one SaslAuthenticate round trip:
 *   client-first  "n,,n=alice,r=<cnonce>"          -> server-first "r=<cnonce><snonce>,s=<salt>,i=<iterations>"
 *   client-final  "c=biws,r=<nonce>,p=<proof>"     -> server-final "v=<server signature>"
 * Between the two the caller looks the user's credential up (I/O stays outside this module).
 *
 * As Kafka's ScramSaslServer: no channel binding ('p=' is refused), an authorization identity
 * other than the user is refused, the only extension accepted is none (delegation tokens'
 * `tokenauth` is refused). Unlike Kafka, an unknown user is not told apart at the first step: the
 * server answers with a salt derived from the name and fails at the proof, as RFC 5802 section 9
 * suggests, so the exchange does not reveal which user names exist.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export const scramMechanisms = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ScramMechanism = (typeof scramMechanisms)[number];

/** RFC 7677 recommends at least 4096; Kafka's minimum is 4096 too. */
export const minIterations = 4096;
export const defaultIterations = 8192;

const digestOf: Record<ScramMechanism, 'sha256' | 'sha512'> = { 'SCRAM-SHA-256': 'sha256', 'SCRAM-SHA-512': 'sha512' };

export const isScramMechanism = (name: string): name is ScramMechanism => (scramMechanisms as readonly string[]).includes(name);

/** What a server stores for one user and mechanism: never the password. */
export interface ScramCredential {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/** A failed exchange; `message` is safe to send to the client (it never says which check failed for a wrong password). */
export class ScramError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScramError';
  }
}

const hmac = (mechanism: ScramMechanism, key: Buffer, data: string | Buffer) => createHmac(digestOf[mechanism], key).update(data).digest();
const hash = (mechanism: ScramMechanism, data: Buffer) => createHash(digestOf[mechanism]).update(data).digest();
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((byte, i) => byte ^ b[i]!));

/**
 * Hi() of RFC 5802 is PBKDF2 with HMAC-H and an output of H's length. The password should be
 * SASLprep-normalized (RFC 4013); NFKC is the part of it that changes valid passwords, and it is
 * what Kafka's Java client (no SASLprep either) and librdkafka leave out too: both send the bytes
 * as given, so the server must not normalize either. Passwords here are used as UTF-8, unchanged.
 */
function saltedPassword(mechanism: ScramMechanism, password: string, salt: Buffer, iterations: number): Buffer {
  const length = mechanism === 'SCRAM-SHA-256' ? 32 : 64;
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, length, digestOf[mechanism]);
}

/** Mints the stored credential of a password (what `npm run kafka-user` prints). */
export function scramCredential(
  mechanism: ScramMechanism,
  password: string,
  options: { salt?: Buffer; iterations?: number } = {},
): ScramCredential {
  const iterations = options.iterations ?? defaultIterations;
  if (!Number.isSafeInteger(iterations) || iterations < minIterations) {
    throw new ScramError(`SCRAM iterations must be an integer of at least ${minIterations}; got ${iterations}.`);
  }
  const salt = options.salt ?? randomBytes(32);
  const salted = saltedPassword(mechanism, password, salt, iterations);
  const clientKey = hmac(mechanism, salted, 'Client Key');
  return { salt, iterations, storedKey: hash(mechanism, clientKey), serverKey: hmac(mechanism, salted, 'Server Key') };
}

// ---- messages ----

/** saslname of RFC 5802: ',' and '=' escaped as =2C and =3D; any other '=' is an error. */
function decodeSaslName(text: string): string {
  if (/=(?!2C|3D)/.test(text)) throw new ScramError('Invalid SCRAM user name encoding.');
  return text.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

export const encodeSaslName = (name: string) => name.replace(/=/g, '=3D').replace(/,/g, '=2C');

/** Splits "a=x,b=y" into ordered [key, value] pairs; each attribute is one letter. */
function attributes(text: string): [string, string][] {
  return text.split(',').map((part) => {
    const match = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!match) throw new ScramError('Malformed SCRAM message.');
    return [match[1]!, match[2]!];
  });
}

const printable = /^[\x21-\x2b\x2d-\x7e]+$/;

export interface ClientFirst {
  readonly gs2Header: string;
  readonly username: string;
  readonly clientNonce: string;
  /** client-first-message-bare: what the AuthMessage starts with. */
  readonly bare: string;
}

export function parseClientFirst(message: string): ClientFirst {
  const match = /^([nyp])(=[^,]*)?,(a=[^,]*)?,(.*)$/s.exec(message);
  if (!match) throw new ScramError('Malformed SCRAM client-first message.');
  if (match[1] === 'p') throw new ScramError('SCRAM channel binding is not supported.');
  const bare = match[4]!;
  const parts = attributes(bare);
  if (parts[0]?.[0] !== 'n' || parts[1]?.[0] !== 'r') throw new ScramError('SCRAM client-first must start with n= and r=.');
  if (parts.length > 2) throw new ScramError('SCRAM extensions (such as delegation tokens) are not supported.');
  const username = decodeSaslName(parts[0][1]);
  const clientNonce = parts[1][1];
  if (username === '') throw new ScramError('SCRAM user name is empty.');
  if (!printable.test(clientNonce)) throw new ScramError('SCRAM client nonce is empty or not printable.');
  const authzid = match[3] ? decodeSaslName(match[3].slice(2)) : '';
  if (authzid !== '' && authzid !== username) throw new ScramError('SCRAM authorization identity must be the user name.');
  return { gs2Header: message.slice(0, message.length - bare.length), username, clientNonce, bare };
}

/** What the server keeps between its two steps. */
export interface ScramServerState {
  readonly mechanism: ScramMechanism;
  readonly clientFirst: ClientFirst;
  readonly nonce: string;
  readonly serverFirst: string;
  /** Undefined for an unknown user: the exchange goes on and fails at the proof. */
  readonly credential: ScramCredential | undefined;
}

/**
 * The server-first message. `credential` undefined (no such user): a salt derived from the name
 * and `unknownUserKey`, so a second attempt with the same name gets the same salt.
 */
export function serverFirst(
  mechanism: ScramMechanism,
  clientFirst: ClientFirst,
  credential: ScramCredential | undefined,
  options: { serverNonce?: string; unknownUserKey: Buffer },
): ScramServerState {
  const serverNonce = options.serverNonce ?? randomBytes(24).toString('base64');
  const nonce = clientFirst.clientNonce + serverNonce;
  const salt = credential?.salt ?? hmac(mechanism, options.unknownUserKey, clientFirst.username);
  const iterations = credential?.iterations ?? defaultIterations;
  const message = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`;
  return { mechanism, clientFirst, nonce, serverFirst: message, credential };
}

const wrongCredentials = 'Authentication failed: invalid user name or password.';

/** Verifies the client's proof; returns the server-final message, or throws ScramError. */
export function serverFinal(state: ScramServerState, clientFinal: string): { message: string; username: string } {
  const proofAt = clientFinal.lastIndexOf(',p=');
  if (proofAt < 0) throw new ScramError('SCRAM client-final message has no proof.');
  const withoutProof = clientFinal.slice(0, proofAt);
  const parts = attributes(withoutProof);
  if (parts[0]?.[0] !== 'c' || parts[1]?.[0] !== 'r') throw new ScramError('SCRAM client-final must start with c= and r=.');
  if (parts.length > 2) throw new ScramError('SCRAM extensions are not supported.');
  if (parts[0][1] !== Buffer.from(state.clientFirst.gs2Header).toString('base64'))
    throw new ScramError('SCRAM channel binding does not match the client-first message.');
  // Kafka's ScramSaslServer accepts a nonce that ends with the server-first one (RFC 5802 wants it
  // equal): librdkafka 2.0 sends its own nonce in front of the combined one. Ours is still in it,
  // so a replayed exchange fails either way.
  if (!parts[1][1].endsWith(state.nonce)) throw new ScramError('SCRAM nonce does not match.');
  const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');
  const authMessage = `${state.clientFirst.bare},${state.serverFirst},${withoutProof}`;
  const credential = state.credential;
  if (!credential || proof.length !== credential.storedKey.length) throw new ScramError(wrongCredentials);
  const clientSignature = hmac(state.mechanism, credential.storedKey, authMessage);
  const clientKey = xor(proof, clientSignature);
  if (!timingSafeEqual(hash(state.mechanism, clientKey), credential.storedKey)) throw new ScramError(wrongCredentials);
  const serverSignature = hmac(state.mechanism, credential.serverKey, authMessage);
  return { message: `v=${serverSignature.toString('base64')}`, username: state.clientFirst.username };
}

// ---- the client side: for tests, and to show what a client sends ----

export interface ScramClient {
  readonly first: string;
  /** The client-final message for the server-first one. */
  final(serverFirst: string): string;
  /** Checks the server's signature (mutual authentication). */
  verify(serverFinal: string): boolean;
}

export function scramClient(mechanism: ScramMechanism, username: string, password: string, clientNonce?: string): ScramClient {
  const cnonce = clientNonce ?? randomBytes(24).toString('base64');
  const bare = `n=${encodeSaslName(username)},r=${cnonce}`;
  let expected: Buffer | undefined;
  return {
    first: `n,,${bare}`,
    final(serverFirstMessage) {
      const parts = new Map(attributes(serverFirstMessage));
      const nonce = parts.get('r') ?? '';
      if (!nonce.startsWith(cnonce)) throw new ScramError('Server nonce does not extend the client nonce.');
      const salted = saltedPassword(mechanism, password, Buffer.from(parts.get('s') ?? '', 'base64'), Number(parts.get('i')));
      const withoutProof = `c=biws,r=${nonce}`;
      const authMessage = `${bare},${serverFirstMessage},${withoutProof}`;
      const clientKey = hmac(mechanism, salted, 'Client Key');
      const proof = xor(clientKey, hmac(mechanism, hash(mechanism, clientKey), authMessage));
      expected = hmac(mechanism, hmac(mechanism, salted, 'Server Key'), authMessage);
      return `${withoutProof},p=${proof.toString('base64')}`;
    },
    verify(serverFinalMessage) {
      return expected !== undefined && serverFinalMessage === `v=${expected.toString('base64')}`;
    },
  };
}
