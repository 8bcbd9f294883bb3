/**
 * `npm run kafka-user -- add <user> [grants]`: mints a Kafka gateway user record (salted SCRAM
 * credentials for SCRAM-SHA-256 and -512, and the user's grants) and prints it, or merges it into
 * a local users file. The password is read from KAFKA_USER_PASSWORD or standard input, or made
 * up and printed once to stderr; it is never written anywhere.
 *
 *   npm run -s kafka-user -- add bob --topic orders:produce > bob.json
 *   aws secretsmanager create-secret --name "Logway-prod/kafka-users/bob" --secret-string file://bob.json
 *   npm run -s kafka-user -- add carol --topic 'orders:consume' --group 'analytics*:consume' --file users.json
 *   KAFKA_SASL_USERS=users.json npm start
 *
 * Grants: `--topic NAME:OPS`, `--group NAME:OPS` (repeatable; NAME ending in `*` is a prefix, `*`
 * alone every name; OPS comma-separated: topics describe|produce|consume|admin, groups
 * consume|admin) and `--cluster describe`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { kafkaPermissionsSchema, type KafkaPermissions } from '../../shared/kafka/authorization';
import { defaultIterations, scramCredential, scramMechanisms } from '../../shared/kafka/sasl-scram';
import { type KafkaUser, userRecordJson, UserStoreError, jsonUserStore } from '../../shared/kafka/users';

/** `orders:produce,consume` -> { name: 'orders', operations: [...] }; `team-a.*:consume` -> a prefix grant. */
export function parseGrant(spec: string): { name: string; operations: string[] } | { prefix: string; operations: string[] } {
  const at = spec.lastIndexOf(':');
  if (at <= 0 || at === spec.length - 1) throw new InvalidArgumentError(`'${spec}' is not NAME:OPERATIONS (e.g. orders:produce,consume).`);
  const name = spec.slice(0, at);
  const operations = spec
    .slice(at + 1)
    .split(',')
    .map((op) => op.trim())
    .filter(Boolean);
  return name.endsWith('*') ? { prefix: name.slice(0, -1), operations } : { name, operations };
}

export interface UserOptions {
  readonly topics: readonly string[];
  readonly groups: readonly string[];
  readonly cluster: readonly string[];
  readonly iterations: number;
}

export function buildUser(password: string, options: UserOptions): KafkaUser {
  const parsed = kafkaPermissionsSchema.safeParse({
    topics: options.topics.map(parseGrant),
    groups: options.groups.map(parseGrant),
    cluster: options.cluster,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidArgumentError(
      `Grant ${issue.path.join('.')} is invalid (${issue.message}): topic operations are describe, produce, consume, admin; ` +
        'group operations consume, admin; cluster operations describe.',
    );
  }
  const permissions: KafkaPermissions = parsed.data;
  const scram = Object.fromEntries(scramMechanisms.map((m) => [m, scramCredential(m, password, { iterations: options.iterations })]));
  return { scram, permissions };
}

async function readPassword(): Promise<{ password: string; generated: boolean }> {
  const fromEnv = process.env.KAFKA_USER_PASSWORD;
  if (fromEnv) return { password: fromEnv, generated: false };
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (text) return { password: text, generated: false };
  }
  return { password: randomBytes(24).toString('base64url'), generated: true };
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function program(): Command {
  const cli = new Command('kafka-user').description(
    'Mint Kafka gateway users (salted SCRAM credentials and grants; no password is stored).',
  );
  cli
    .command('add <user>')
    .description('Print a user record (or merge it into --file)')
    .option('--topic <name:ops>', 'topic grant (repeatable): NAME or PREFIX* : describe|produce|consume|admin', collect, [])
    .option('--group <name:ops>', 'group grant (repeatable): NAME or PREFIX* : consume|admin', collect, [])
    .option('--cluster <ops>', 'cluster operations: describe', (v) => v.split(','), [])
    .option('--iterations <n>', 'PBKDF2 iterations (at least 4096)', (v) => Number(v), defaultIterations)
    .option('--file <path>', 'merge into this users file (for KAFKA_SASL_USERS) instead of printing')
    .action(async (user: string, options: UserOptions & { topic: string[]; group: string[]; file?: string }) => {
      if (!/^[A-Za-z0-9_+=.@-]{1,64}$/.test(user))
        throw new InvalidArgumentError(`User name '${user}': letters, digits and _+=.@- only, at most 64.`);
      const { password, generated } = await readPassword();
      const record = userRecordJson(
        buildUser(password, { topics: options.topic, groups: options.group, cluster: options.cluster, iterations: options.iterations }),
      );
      if (generated) process.stderr.write(`Password for ${user} (shown once, not stored): ${password}\n`);
      if (!options.file) {
        process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
        return;
      }
      const existing = existsSync(options.file)
        ? (JSON.parse(readFileSync(options.file, 'utf8')) as { users?: Record<string, unknown> })
        : {};
      const document = { users: { ...(existing.users ?? {}), [user]: record } };
      jsonUserStore(document, options.file); // validates the whole file before writing it
      writeFileSync(options.file, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o600 });
      process.stderr.write(`${user} written to ${options.file}\n`);
    });
  return cli;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  program()
    .parseAsync(process.argv)
    .catch((error: unknown) => {
      const known = error instanceof InvalidArgumentError || error instanceof UserStoreError;
      console.error(known ? (error as Error).message : error);
      process.exit(1);
    });
}
