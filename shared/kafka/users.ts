/**
 * Who may connect to the Kafka gateway: per user, a salted SCRAM credential per mechanism and the
 * user's permissions, behind one small interface. No store ever holds a password: a user record
 * is what `npm run kafka-user` prints (shared/kafka/sasl-scram.ts `scramCredential`).
 *
 * Two stores, chosen by the environment (`userStoreFromEnv`):
 * - KAFKA_SASL_USERS: a JSON document `{"users": {"alice": <record>}}`, inline or the path of a
 *   file (local runs, tests).
 * - KAFKA_SASL_SECRET_PREFIX: one AWS Secrets Manager secret per user, named <prefix><user>,
 *   whose SecretString is the record (the AWS deployment; MSK keeps SCRAM users in Secrets
 *   Manager too). Read on demand and cached for a minute, so a changed or deleted secret applies
 *   to new connections and, within the minute, to the permissions of open ones.
 * Neither set: no SASL, every request is allowed (the local default).
 */
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { BoundedCache } from '../runtime/bounded-cache';
import { kafkaPermissionsSchema, type KafkaPermissions } from './authorization';
import { type ScramCredential, type ScramMechanism, minIterations, scramMechanisms } from './sasl-scram';

export interface KafkaUser {
  readonly scram: Partial<Record<ScramMechanism, ScramCredential>>;
  readonly permissions: KafkaPermissions;
}

export interface KafkaUserStore {
  /** What the listener offers in SaslHandshake. */
  readonly mechanisms: readonly ScramMechanism[];
  /** The user, or undefined when there is none of that name. Throws only when the store cannot be read. */
  user(username: string): Promise<KafkaUser | undefined>;
}

const base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64')
  .transform((text) => Buffer.from(text, 'base64'));

const credentialSchema = z.strictObject({
  salt: base64,
  iterations: z.number().int().min(minIterations),
  storedKey: base64,
  serverKey: base64,
});

/** A user record as stored: strict, so a record carrying a `password` (or anything else) is refused. */
export const kafkaUserSchema = z.strictObject({
  scram: z.strictObject({ 'SCRAM-SHA-256': credentialSchema.optional(), 'SCRAM-SHA-512': credentialSchema.optional() }),
  permissions: kafkaPermissionsSchema,
});

const usersFileSchema = z.strictObject({ users: z.record(z.string().min(1), kafkaUserSchema) });

export class UserStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserStoreError';
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new UserStoreError(`${what}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return result.data;
}

export function parseUserRecord(json: string, what: string): KafkaUser {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new UserStoreError(`${what} is not JSON.`);
  }
  return parse(kafkaUserSchema, value, what);
}

/** The JSON a store keeps for a user (base64 for the binary fields). */
export function userRecordJson(user: KafkaUser): Record<string, unknown> {
  const scram: Record<string, unknown> = {};
  for (const [mechanism, c] of Object.entries(user.scram)) {
    scram[mechanism] = {
      salt: c.salt.toString('base64'),
      iterations: c.iterations,
      storedKey: c.storedKey.toString('base64'),
      serverKey: c.serverKey.toString('base64'),
    };
  }
  return { scram, permissions: user.permissions };
}

/** Users from a JSON document: `{"users": {"alice": {"scram": {...}, "permissions": {...}}}}`. */
export function jsonUserStore(document: unknown, what = 'KAFKA_SASL_USERS'): KafkaUserStore {
  const users = new Map(Object.entries(parse(usersFileSchema, document, what).users));
  return { mechanisms: scramMechanisms, user: async (name) => users.get(name) };
}

/** Secret names allow these characters; a user name outside them cannot name a secret. */
const secretSafeName = /^[A-Za-z0-9_+=.@-]{1,64}$/;

/** One Secrets Manager secret per user, `<prefix><user>`. */
export function secretsManagerUserStore(
  prefix: string,
  client: SecretsManagerClient = new SecretsManagerClient({ maxAttempts: 3 }),
): KafkaUserStore {
  return {
    mechanisms: scramMechanisms,
    async user(name) {
      if (!secretSafeName.test(name)) return undefined;
      const secretId = `${prefix}${name}`;
      try {
        const secret = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
        if (secret.SecretString === undefined) throw new UserStoreError(`Secret ${secretId} has no SecretString.`);
        return parseUserRecord(secret.SecretString, `Secret ${secretId}`);
      } catch (error) {
        if (error instanceof ResourceNotFoundException) return undefined;
        throw error;
      }
    },
  };
}

/** Caches lookups (found and not found) for `ttlMs`, so a connection storm reads each user once. */
export function cachedUserStore(store: KafkaUserStore, ttlMs = 60_000): KafkaUserStore {
  const cache = new BoundedCache<string, Promise<KafkaUser | undefined>>({ maxEntries: 10_000, ttlMs });
  return {
    mechanisms: store.mechanisms,
    user(name) {
      const hit = cache.get(name);
      if (hit) return hit;
      const pending = store.user(name);
      cache.set(name, pending);
      // A failed read is not remembered: the next connection tries again.
      pending.catch(() => cache.delete(name));
      return pending;
    },
  };
}

/** The store the environment names (see the module comment), or undefined for no SASL. */
export function userStoreFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaUserStore | undefined {
  const inline = env.KAFKA_SASL_USERS?.trim();
  const prefix = env.KAFKA_SASL_SECRET_PREFIX?.trim();
  if (inline && prefix) throw new UserStoreError('Set KAFKA_SASL_USERS or KAFKA_SASL_SECRET_PREFIX, not both.');
  if (prefix) return cachedUserStore(secretsManagerUserStore(prefix));
  if (!inline) return undefined;
  const fromFile = !inline.startsWith('{');
  if (fromFile && !existsSync(inline)) throw new UserStoreError(`KAFKA_SASL_USERS names no file: ${inline}`);
  const text = fromFile ? readFileSync(inline, 'utf8') : inline;
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new UserStoreError(`KAFKA_SASL_USERS${fromFile ? ` (${inline})` : ''} is not JSON.`);
  }
  return jsonUserStore(document, fromFile ? inline : 'KAFKA_SASL_USERS');
}
