import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignPartitions, assignmentKeys, assignmentSize, type Assignment, type AssignorInput } from '../../shared/groups/assignor';

const topicNames = ['a', 'b', 'c', 'd'] as const;

/** Topics with 1..24 partitions, and members subscribing to subsets of them (and sometimes to a topic that does not exist). */
const inputArb = (options: { homogeneous?: boolean; minMembers?: number } = {}) =>
  fc
    .record({
      topics: fc.dictionary(fc.constantFrom(...topicNames), fc.integer({ min: 1, max: 24 }), { minKeys: 1 }),
      memberIds: fc.uniqueArray(fc.stringMatching(/^m[0-9a-f]{1,3}$/), { minLength: options.minMembers ?? 1, maxLength: 9 }),
      subscriptions: fc.array(fc.subarray([...topicNames, 'missing']), { minLength: 9, maxLength: 9 }),
      shared: fc.subarray([...topicNames], { minLength: 1 }),
    })
    .map(({ topics, memberIds, subscriptions, shared }) => {
      const members: Record<string, { subscribedTopics: string[] }> = {};
      memberIds.forEach((id, i) => {
        members[id] = { subscribedTopics: options.homogeneous ? shared : subscriptions[i]! };
      });
      return { topics, members } satisfies AssignorInput;
    });

function ownersOf(result: Record<string, Assignment>): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  for (const [member, assignment] of Object.entries(result)) {
    for (const key of assignmentKeys(assignment)) owners.set(key, [...(owners.get(key) ?? []), member]);
  }
  return owners;
}

/** Every partition of a subscribed topic is assigned exactly once, to a subscriber; nothing else is assigned. */
function expectValid(input: AssignorInput, result: Record<string, Assignment>): void {
  expect(Object.keys(result).sort()).toEqual(Object.keys(input.members).sort());
  const owners = ownersOf(result);
  for (const [topic, count] of Object.entries(input.topics)) {
    const subscribed = Object.values(input.members).some((m) => m.subscribedTopics.includes(topic));
    for (let p = 0; p < count; p++) {
      const owner = owners.get(`${topic}:${p}`);
      if (subscribed) expect(owner, `${topic}:${p}`).toHaveLength(1);
      else expect(owner, `${topic}:${p}`).toBeUndefined();
    }
  }
  for (const [member, assignment] of Object.entries(result)) {
    for (const [topic, partitions] of Object.entries(assignment)) {
      expect(input.members[member]!.subscribedTopics).toContain(topic);
      for (const p of partitions) expect(p).toBeLessThan(input.topics[topic] ?? 0);
      expect([...partitions]).toEqual([...partitions].sort((x, y) => x - y));
    }
  }
}

/** Kafka's balance: no partition could move to a subscriber holding two or more fewer partitions. */
function expectBalanced(input: AssignorInput, result: Record<string, Assignment>): void {
  const ids = Object.keys(result);
  for (const a of ids) {
    for (const b of ids) {
      const countA = assignmentSize(result[a]);
      const countB = assignmentSize(result[b]);
      if (countA < countB + 2) continue;
      const movable = Object.keys(result[a]!).filter((t) => input.members[b]!.subscribedTopics.includes(t));
      expect(movable, `${a} (${countA}) could give a partition of ${movable.join(',')} to ${b} (${countB})`).toEqual([]);
    }
  }
  // Hence: members with the same subscription differ by at most one partition.
  const bySubscription = new Map<string, number[]>();
  for (const id of ids) {
    const key = [...new Set(input.members[id]!.subscribedTopics.filter((t) => (input.topics[t] ?? 0) > 0))].sort().join(',');
    bySubscription.set(key, [...(bySubscription.get(key) ?? []), assignmentSize(result[id])]);
  }
  for (const counts of bySubscription.values()) expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
}

/** Partitions whose owner differs between two assignments (present in both). */
function moved(before: Record<string, Assignment>, after: Record<string, Assignment>): { key: string; from: string; to: string }[] {
  const was = new Map<string, string>();
  for (const [member, assignment] of Object.entries(before)) for (const key of assignmentKeys(assignment)) was.set(key, member);
  const moves: { key: string; from: string; to: string }[] = [];
  for (const [member, assignment] of Object.entries(after)) {
    for (const key of assignmentKeys(assignment)) {
      const from = was.get(key);
      if (from !== undefined && from !== member) moves.push({ key, from, to: member });
    }
  }
  return moves;
}

describe('assignor: examples', () => {
  it('spreads one topic evenly: 7 partitions over 3 members is 3, 2, 2', () => {
    const result = assignPartitions({
      topics: { t: 7 },
      members: { x: { subscribedTopics: ['t'] }, y: { subscribedTopics: ['t'] }, z: { subscribedTopics: ['t'] } },
    });
    expect(Object.values(result).map(assignmentSize).sort()).toEqual([2, 2, 3]);
  });

  it('balances the total across topics, not topic by topic', () => {
    const members = { x: { subscribedTopics: ['t', 'u'] }, y: { subscribedTopics: ['t', 'u'] } };
    const result = assignPartitions({ topics: { t: 3, u: 3 }, members });
    expect(assignmentSize(result.x)).toBe(3);
    expect(assignmentSize(result.y)).toBe(3);
  });

  it('gives a topic only to its subscribers, and nothing for a topic that does not exist', () => {
    const result = assignPartitions({
      topics: { t: 4, u: 2 },
      members: { x: { subscribedTopics: ['t'] }, y: { subscribedTopics: ['t', 'u'] }, z: { subscribedTopics: ['nope'] } },
    });
    expect(result.z).toEqual({});
    expect(result.x!.u).toBeUndefined();
    expect(result.y!.u).toEqual([0, 1]);
    // y holds both of u: balance gives x three of t, y one of t and both of u.
    expect(assignmentSize(result.x)).toBe(3);
    expect(assignmentSize(result.y)).toBe(3);
  });

  it('keeps partitions where they were when a member joins, moving only what the newcomer needs', () => {
    const two = assignPartitions({ topics: { t: 6 }, members: { x: { subscribedTopics: ['t'] }, y: { subscribedTopics: ['t'] } } });
    const three = assignPartitions({
      topics: { t: 6 },
      members: { x: { subscribedTopics: ['t'] }, y: { subscribedTopics: ['t'] }, z: { subscribedTopics: ['t'] } },
      previous: two,
    });
    const moves = moved(two, three);
    expect(moves).toHaveLength(2);
    expect(moves.every((m) => m.to === 'z')).toBe(true);
  });

  it('assigns new partitions of a grown topic without moving the old ones when already balanced', () => {
    const members = { x: { subscribedTopics: ['t'] }, y: { subscribedTopics: ['t'] } };
    const before = assignPartitions({ topics: { t: 4 }, members });
    const after = assignPartitions({ topics: { t: 6 }, members, previous: before });
    expect(moved(before, after)).toEqual([]);
    expect(assignmentSize(after.x)).toBe(3);
    expect(assignmentSize(after.y)).toBe(3);
  });

  it('ignores invalid previous entries: partitions past the count, unsubscribed topics, duplicates', () => {
    const result = assignPartitions({
      topics: { t: 2 },
      members: { x: { subscribedTopics: ['t'] }, y: { subscribedTopics: ['t'] } },
      previous: { x: { t: [0, 1, 5], gone: [0] }, y: { t: [0, 1] }, left: { t: [0] } },
    });
    expectValid({ topics: { t: 2 }, members: { x: { subscribedTopics: ['t'] }, y: { subscribedTopics: ['t'] } } }, result);
    expect(assignmentSize(result.x)).toBe(1);
    expect(assignmentSize(result.y)).toBe(1);
  });
});

describe('assignor: properties', () => {
  it('assigns every subscribed partition once, to a subscriber, balanced', () => {
    fc.assert(
      fc.property(inputArb(), (input) => {
        const result = assignPartitions(input);
        expectValid(input, result);
        expectBalanced(input, result);
      }),
      { numRuns: 300 },
    );
  });

  it('stays valid and balanced from any previous assignment, however wrong', () => {
    const previousArb = fc.dictionary(
      fc.stringMatching(/^m[0-9a-f]{1,3}$/),
      fc.dictionary(fc.constantFrom(...topicNames, 'missing'), fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 12 })),
    );
    fc.assert(
      fc.property(inputArb(), previousArb, (input, previous) => {
        const result = assignPartitions({ ...input, previous });
        expectValid(input, result);
        expectBalanced(input, result);
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: the order members and topics are listed in does not matter', () => {
    fc.assert(
      fc.property(inputArb(), fc.infiniteStream(fc.nat()), (input, seeds) => {
        const shuffledMembers = Object.fromEntries(
          Object.entries(input.members)
            .map((entry) => ({ entry, k: seeds.next().value as number }))
            .sort((x, y) => x.k - y.k)
            .map(({ entry }) => [entry[0], { subscribedTopics: [...entry[1].subscribedTopics].reverse() }]),
        );
        const shuffledTopics = Object.fromEntries(Object.entries(input.topics).reverse());
        expect(assignPartitions({ members: shuffledMembers, topics: shuffledTopics })).toEqual(assignPartitions(input));
      }),
      { numRuns: 200 },
    );
  });

  it('is stable: nothing moves when nothing changed', () => {
    fc.assert(
      fc.property(inputArb(), (input) => {
        const first = assignPartitions(input);
        expect(assignPartitions({ ...input, previous: first })).toEqual(first);
      }),
      { numRuns: 300 },
    );
  });

  it('on a join (same subscription), moves only partitions to the newcomer, and only its share', () => {
    fc.assert(
      fc.property(inputArb({ homogeneous: true }), (input) => {
        const before = assignPartitions(input);
        const newcomer = 'zz-new';
        const subscribedTopics = Object.values(input.members)[0]!.subscribedTopics;
        const joined = { ...input, members: { ...input.members, [newcomer]: { subscribedTopics } }, previous: before };
        const after = assignPartitions(joined);
        expectValid(joined, after);
        expectBalanced(joined, after);
        const moves = moved(before, after);
        expect(moves.every((m) => m.to === newcomer)).toBe(true);
        const total = subscribedTopics.reduce((sum, t) => sum + (input.topics[t] ?? 0), 0);
        const members = Object.keys(joined.members).length;
        // Whatever the newcomer got, it got from others; and it gets no more than its fair share.
        expect(moves.length).toBe(assignmentSize(after[newcomer]));
        expect(moves.length).toBeLessThanOrEqual(Math.ceil(total / members));
      }),
      { numRuns: 300 },
    );
  });

  it("on a leave (same subscription), moves only the leaver's partitions", () => {
    fc.assert(
      fc.property(inputArb({ homogeneous: true, minMembers: 2 }), fc.nat(), (input, pick) => {
        const before = assignPartitions(input);
        const ids = Object.keys(input.members);
        const leaver = ids[pick % ids.length]!;
        const members = { ...input.members };
        delete members[leaver];
        const after = assignPartitions({ ...input, members, previous: before });
        expectValid({ ...input, members }, after);
        expectBalanced({ ...input, members }, after);
        expect(moved(before, after).filter((m) => m.from !== leaver)).toEqual([]);
        for (const id of Object.keys(members)) {
          for (const key of assignmentKeys(before[id])) expect(assignmentKeys(after[id]).has(key)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('handles members with different subscriptions joining, leaving and topics growing', () => {
    fc.assert(
      fc.property(
        inputArb(),
        fc.array(fc.subarray([...topicNames]), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom(...topicNames), fc.integer({ min: 0, max: 8 })),
        fc.nat(),
        (input, joiners, growth, leaveSeed) => {
          const before = assignPartitions(input);
          const members = { ...input.members };
          joiners.forEach((subscribedTopics, i) => {
            members[`new-${i}`] = { subscribedTopics };
          });
          const ids = Object.keys(input.members);
          if (ids.length > 1) delete members[ids[leaveSeed % ids.length]!];
          const topics = { ...input.topics };
          for (const [t, more] of Object.entries(growth)) if (topics[t] !== undefined) topics[t] += more;
          const next = { topics, members, previous: before };
          const after = assignPartitions(next);
          expectValid(next, after);
          expectBalanced(next, after);
          expect(assignPartitions({ ...next, previous: after })).toEqual(after);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('assignor: scale', () => {
  it('assigns 1000 partitions over 100 members quickly', () => {
    const members = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [`member-${i}`, { subscribedTopics: ['big', i % 2 ? 'odd' : 'even'] }]),
    );
    const topics = { big: 1000, odd: 50, even: 50 };
    const started = performance.now();
    const first = assignPartitions({ members, topics });
    const joined = { ...members, extra: { subscribedTopics: ['big'] } };
    const second = assignPartitions({ members: joined, topics, previous: first });
    expect(performance.now() - started).toBeLessThan(2000);
    expectValid({ members: joined, topics }, second);
    expectBalanced({ members: joined, topics }, second);
  });
});
