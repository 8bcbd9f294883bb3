import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeSaslName,
  parseClientFirst,
  type ScramMechanism,
  scramClient,
  scramCredential,
  ScramError,
  scramMechanisms,
  serverFinal,
  serverFirst,
} from '../../shared/kafka/sasl-scram';

const unknownUserKey = randomBytes(32);

/** One whole exchange; returns the server's verdict and whether the client accepted the server. */
function exchange(mechanism: ScramMechanism, stored: string, username: string, password: string) {
  const credential = scramCredential(mechanism, stored, { iterations: 4096 });
  const client = scramClient(mechanism, username, password);
  const first = parseClientFirst(client.first);
  const state = serverFirst(mechanism, first, first.username === 'alice' ? credential : undefined, { unknownUserKey });
  const final = client.final(state.serverFirst);
  const result = serverFinal(state, final);
  return { result, mutual: client.verify(result.message) };
}

describe('SCRAM (RFC 5802 / 7677)', () => {
  it('reproduces the RFC 7677 SCRAM-SHA-256 example', () => {
    const mechanism = 'SCRAM-SHA-256';
    const credential = scramCredential(mechanism, 'pencil', { salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), iterations: 4096 });
    const first = parseClientFirst('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    const state = serverFirst(mechanism, first, credential, { serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0', unknownUserKey });
    expect(state.serverFirst).toBe('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    const final = serverFinal(
      state,
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    );
    expect(final).toEqual({ message: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=', username: 'user' });
    // The client side agrees with the RFC's client.
    const client = scramClient(mechanism, 'user', 'pencil', 'rOprNGfwEbeRWgbNEkqO');
    expect(client.final(state.serverFirst)).toBe(
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    );
    expect(client.verify(final.message)).toBe(true);
  });

  it('the right password authenticates both ways, any other fails, for both mechanisms (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...scramMechanisms),
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.string(),
        (mechanism, password, other) => {
          const good = exchange(mechanism, password, 'alice', password);
          expect(good.result.username).toBe('alice');
          expect(good.mutual).toBe(true);
          if (other !== password) expect(() => exchange(mechanism, password, 'alice', other)).toThrow(ScramError);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('an unknown user fails only at the proof, with the same message as a wrong password, and a stable salt', () => {
    expect(() => exchange('SCRAM-SHA-512', 'pw', 'mallory', 'pw')).toThrow('invalid user name or password');
    expect(() => exchange('SCRAM-SHA-512', 'pw', 'alice', 'nope')).toThrow('invalid user name or password');
    const first = parseClientFirst(scramClient('SCRAM-SHA-512', 'mallory', 'x').first);
    const a = serverFirst('SCRAM-SHA-512', first, undefined, { unknownUserKey });
    const b = serverFirst('SCRAM-SHA-512', first, undefined, { unknownUserKey });
    expect(a.serverFirst.split(',s=')[1]).toBe(b.serverFirst.split(',s=')[1]);
  });

  it('a tampered client-final is refused: nonce, channel binding or any proof bit (property)', () => {
    const mechanism = 'SCRAM-SHA-512';
    const credential = scramCredential(mechanism, 'secret');
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 7 }), (at, bit) => {
        const client = scramClient(mechanism, 'alice', 'secret');
        const state = serverFirst(mechanism, parseClientFirst(client.first), credential, { unknownUserKey });
        const final = client.final(state.serverFirst);
        const [head, proof] = final.split(',p=') as [string, string];
        const bytes = Buffer.from(proof, 'base64');
        bytes[at % bytes.length]! ^= 1 << bit;
        expect(() => serverFinal(state, `${head},p=${bytes.toString('base64')}`)).toThrow(ScramError);
        expect(() => serverFinal(state, final.replace(state.nonce, `${state.nonce}x`))).toThrow('nonce');
        expect(() => serverFinal(state, final.replace(state.nonce, state.nonce.slice(1)))).toThrow('nonce');
        expect(() => serverFinal(state, final.replace('c=biws', 'c=eSws'))).toThrow('channel binding');
        expect(serverFinal(state, final).username).toBe('alice');
      }),
      { numRuns: 20 },
    );
  });

  it('user names with , and = round-trip through saslname escaping (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (name) => {
        expect(parseClientFirst(`n,,n=${encodeSaslName(name)},r=abc`).username).toBe(name);
      }),
    );
  });

  it('refuses what Kafka refuses: channel binding, extensions, another authzid, malformed messages', () => {
    expect(() => parseClientFirst('p=tls-unique,,n=a,r=x')).toThrow('channel binding');
    expect(() => parseClientFirst('n,,n=a,r=x,tokenauth=true')).toThrow();
    expect(() => parseClientFirst('n,a=bob,n=alice,r=x')).toThrow('authorization identity');
    expect(parseClientFirst('n,a=alice,n=alice,r=x').username).toBe('alice');
    expect(parseClientFirst('y,,n=alice,r=x').gs2Header).toBe('y,,');
    for (const bad of ['', 'garbage', 'n,,r=x,n=a', 'n,,n=a', 'n,,n=a=b,r=x', 'n,,n=,r=x', 'n,,n=a,r=']) {
      expect(() => parseClientFirst(bad), bad).toThrow(ScramError);
    }
  });

  it('garbage never throws anything but ScramError (property)', () => {
    const credential = scramCredential('SCRAM-SHA-256', 'pw');
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        try {
          const state = serverFirst('SCRAM-SHA-256', parseClientFirst(a), credential, { unknownUserKey });
          serverFinal(state, b);
        } catch (error) {
          expect(error).toBeInstanceOf(ScramError);
        }
      }),
    );
  });

  it('refuses fewer than 4096 iterations when minting', () => {
    expect(() => scramCredential('SCRAM-SHA-256', 'pw', { iterations: 1000 })).toThrow('4096');
  });
});
