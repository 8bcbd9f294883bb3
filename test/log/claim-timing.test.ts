/** When a retry waiting on another attempt's claim is told to come back (Retry-After, exactly-once.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appendDeadlineMs } from '../../shared/log/chunk-append';
import { claimLeaseMs, secondsUntilClaimChanges } from '../../shared/log/exactly-once';

const claimedAt = 1_764_547_200_000;
const claim = { leaseUntil: claimedAt + claimLeaseMs };

describe('secondsUntilClaimChanges', () => {
  it("names the claimant's append deadline first, then the end of the lease", () => {
    expect(secondsUntilClaimChanges(claim, claimedAt + 2_000)).toBe((appendDeadlineMs - 2_000) / 1000);
    expect(secondsUntilClaimChanges(claim, claimedAt + appendDeadlineMs + 500)).toBe(
      Math.ceil((claimLeaseMs - appendDeadlineMs - 500) / 1000),
    );
    expect(secondsUntilClaimChanges(claim, claimedAt + claimLeaseMs + 1)).toBe(1);
  });

  it('is at least a second, at most the lease, and never before the next moment the answer can change', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: claimLeaseMs + 5_000 }), (elapsed) => {
        const now = claimedAt + elapsed;
        const seconds = secondsUntilClaimChanges(claim, now);
        expect(seconds).toBeGreaterThanOrEqual(1);
        expect(seconds).toBeLessThanOrEqual(claimLeaseMs / 1000);
        const next = [claimedAt + appendDeadlineMs, claim.leaseUntil].find((t) => t > now);
        if (next !== undefined) expect(now + seconds * 1000).toBeGreaterThanOrEqual(next);
      }),
    );
  });
});
