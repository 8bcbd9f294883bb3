/**
 * One connection's SASL state on a listener with authentication (KafkaServerOptions.sasl), as a
 * Kafka broker's SaslServerAuthenticator keeps it:
 *
 *   ApiVersions*  ->  SaslHandshake(mechanism)  ->  SaslAuthenticate(client-first)  ->  SaslAuthenticate(client-final)  ->  any API
 *
 * Before authentication only ApiVersions, SaslHandshake and SaslAuthenticate are read; any other
 * request closes the connection, as Kafka does (it cannot answer a request it has not
 * authorized, and a client that skips SASL would not understand an error anyway). A failed
 * exchange is answered with SASL_AUTHENTICATION_FAILED and its message, then the connection is
 * closed, after a delay (Kafka's connection.failed.authentication.delay.ms, 100 ms) that slows
 * password guessing. SaslHandshake v0 (no SaslAuthenticate: the tokens travel as bare
 * size-prefixed frames) is served too, for old clients.
 */
import { randomBytes } from 'node:crypto';
import type { Principal } from './authorization';
import {
  isScramMechanism,
  parseClientFirst,
  ScramError,
  type ScramMechanism,
  type ScramServerState,
  serverFinal,
  serverFirst,
} from './sasl-scram';
import type { KafkaUserStore } from './users';
import { kafkaErrorCodes } from './errors';

export interface SaslOptions {
  readonly store: KafkaUserStore;
  /** Delay before a failed authentication is answered and the connection closed. @default 100 ms */
  readonly failureDelayMs?: number;
}

/** The key that derives unknown users' salts; per process, so restarts change nothing anyone relies on. */
const unknownUserKey = randomBytes(32);

/** `illegalState`: a token out of turn (no handshake yet, or already authenticated): Kafka's ILLEGAL_SASL_STATE. */
export type TokenResult =
  | { readonly ok: true; readonly bytes: Buffer }
  | { readonly ok: false; readonly message: string; readonly illegalState?: boolean };

export class SaslSession {
  private mechanism: ScramMechanism | undefined;
  private scram: ScramServerState | undefined;
  /** After a v0 handshake the next frames are bare SASL tokens. */
  raw = false;
  principal: Principal | undefined;

  constructor(
    readonly options: SaslOptions,
    private readonly log: (message: string, details?: Record<string, unknown>) => void,
  ) {}

  get authenticated(): boolean {
    return this.principal !== undefined;
  }

  get failureDelayMs(): number {
    return this.options.failureDelayMs ?? 100;
  }

  /** SaslHandshake: the body, and whether the connection closes after it. */
  handshake(mechanism: string, version: number): { body: { errorCode: number; mechanisms: string[] }; close: boolean } {
    const mechanisms = [...this.options.store.mechanisms];
    if (this.authenticated || this.mechanism !== undefined) {
      // Kafka answers a handshake after authentication with ILLEGAL_SASL_STATE (re-authentication, KIP-368, is not offered).
      return { body: { errorCode: kafkaErrorCodes.ILLEGAL_SASL_STATE, mechanisms }, close: !this.authenticated };
    }
    if (!isScramMechanism(mechanism) || !mechanisms.includes(mechanism)) {
      this.log('SASL mechanism not enabled', { mechanism });
      return { body: { errorCode: kafkaErrorCodes.UNSUPPORTED_SASL_MECHANISM, mechanisms }, close: true };
    }
    this.mechanism = mechanism;
    this.raw = version === 0;
    return { body: { errorCode: 0, mechanisms }, close: false };
  }

  /** One SASL token from the client (SaslAuthenticate's authBytes, or a bare frame after a v0 handshake). */
  async token(bytes: Buffer): Promise<TokenResult> {
    const mechanism = this.mechanism;
    if (this.authenticated) return { ok: false, illegalState: true, message: 'Already authenticated: re-authentication is not supported.' };
    if (mechanism === undefined) return { ok: false, illegalState: true, message: 'SaslAuthenticate without a SaslHandshake first.' };
    const text = bytes.toString('utf8');
    try {
      if (this.scram === undefined) {
        const first = parseClientFirst(text);
        const user = await this.options.store.user(first.username);
        this.scram = serverFirst(mechanism, first, user?.scram[mechanism], { unknownUserKey });
        return { ok: true, bytes: Buffer.from(this.scram.serverFirst) };
      }
      const { message, username } = serverFinal(this.scram, text);
      const store = this.options.store;
      this.principal = { username, permissions: async () => (await store.user(username))?.permissions };
      this.raw = false;
      return { ok: true, bytes: Buffer.from(message) };
    } catch (error) {
      if (error instanceof ScramError) {
        this.log('SASL authentication failed', { mechanism, reason: error.message });
        return { ok: false, message: error.message };
      }
      this.log('SASL authentication could not read the user store', { error: (error as Error)?.message });
      return { ok: false, message: 'Authentication failed: the credential store could not be read; try again.' };
    }
  }
}
