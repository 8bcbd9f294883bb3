/** The local scheduler's rate override, LOGWAY_SCHEDULE_RATE_MS (docs/local-runtime.md). */
import { describe, expect, it } from 'vitest';
import { localRateMs, parseScheduleRates } from '../../infra/local/scheduler';
import { scheduledFunctions } from '../../infra/schedules';

const definition = (name: string) => scheduledFunctions.find((d) => d.name === name)!;

describe('LOGWAY_SCHEDULE_RATE_MS', () => {
  it('unset or empty keeps each function at its EventBridge rate', () => {
    expect(localRateMs(definition('retention-sweep'), {})).toBe(300_000);
    expect(localRateMs(definition('trigger-sweep'), { LOGWAY_SCHEDULE_RATE_MS: ' ' })).toBe(60_000);
  });

  it('a number runs every scheduled function that often', () => {
    for (const d of scheduledFunctions) expect(localRateMs(d, { LOGWAY_SCHEDULE_RATE_MS: '1000' })).toBe(1000);
  });

  it('name=ms sets single functions; the others keep their rate', () => {
    const env = { LOGWAY_SCHEDULE_RATE_MS: 'trigger-sweep=500' };
    expect(localRateMs(definition('trigger-sweep'), env)).toBe(500);
    expect(localRateMs(definition('retention-sweep'), env)).toBe(300_000);
    expect(parseScheduleRates('retention-sweep=2000, trigger-sweep=250').byName).toEqual(
      new Map([
        ['retention-sweep', 2000],
        ['trigger-sweep', 250],
      ]),
    );
  });

  it('refuses what it cannot read, naming the variable', () => {
    expect(() => parseScheduleRates('fast')).toThrow(/LOGWAY_SCHEDULE_RATE_MS.*'fast'/);
    expect(() => parseScheduleRates('0')).toThrow(/above 0/);
    expect(() => parseScheduleRates('nightly=100')).toThrow(/name one of retention-sweep, trigger-sweep/);
    expect(() => parseScheduleRates('trigger-sweep=-5')).toThrow(/trigger-sweep's rate/);
  });
});
