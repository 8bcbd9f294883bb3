/**
 * Runs the scheduled functions of infra/schedules.ts in the local runtime, at the rate their
 * EventBridge rule has in the cloud, by calling the same handler in-process.
 *
 * `LOGWAY_SCHEDULE_RATE_MS` overrides the rates locally (never in the cloud): a number runs every
 * scheduled function that often (`1000`: each sweep every second, as the chaos harness does), and
 * `name=ms,...` sets single functions (`trigger-sweep=500`), the others keeping their rate.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runAsFunction } from '../../shared/runtime/aws';
import { handlersDir } from '../project';
import { scheduledFunctions, type ScheduledFunctionDefinition } from '../schedules';

const unitMs: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** The environment variable that overrides the local schedule's rates. */
export const scheduleRateEnv = 'LOGWAY_SCHEDULE_RATE_MS';

/** `rate(5 minutes)` → 300000; cron expressions are not run locally. */
export function rateMs(schedule: string): number | undefined {
  const match = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(schedule.trim());
  return match ? Number(match[1]) * unitMs[match[2]!]! : undefined;
}

/**
 * Reads LOGWAY_SCHEDULE_RATE_MS: `{ all }` for a plain number, `{ byName }` for `name=ms,...`;
 * empty or unset: no override. Throws, naming the variable, on anything else.
 */
export function parseScheduleRates(
  spec: string | undefined,
  names: readonly string[] = scheduledFunctions.map((d) => d.name),
): { all?: number; byName: Map<string, number> } {
  const byName = new Map<string, number>();
  const text = spec?.trim() ?? '';
  if (text === '') return { byName };
  const positive = (raw: string, what: string) => {
    const value = Number(raw.trim());
    if (!Number.isFinite(value) || value <= 0 || raw.trim() === '')
      throw new Error(`${scheduleRateEnv}: ${what} must be a number of milliseconds above 0, got '${raw.trim()}'`);
    return value;
  };
  if (!text.includes('=')) return { all: positive(text, 'the rate'), byName };
  for (const entry of text.split(',').filter((e) => e.trim())) {
    const at = entry.indexOf('=');
    const name = at > 0 ? entry.slice(0, at).trim() : '';
    if (!names.includes(name))
      throw new Error(`${scheduleRateEnv}: '${entry.trim()}' must be name=ms with name one of ${names.join(', ')} (or one number for all)`);
    byName.set(name, positive(entry.slice(at + 1), `${name}'s rate`));
  }
  return { byName };
}

/** How often a scheduled function runs locally: the override, else its schedule's rate (undefined: not run). */
export function localRateMs(definition: ScheduledFunctionDefinition, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const rates = parseScheduleRates(env[scheduleRateEnv]);
  return rates.byName.get(definition.name) ?? rates.all ?? rateMs(definition.schedule);
}

export interface RunningScheduler {
  /** Stops every function, or only those named. */
  stop(names?: readonly string[]): void;
}

export function startScheduler(
  definitions: readonly ScheduledFunctionDefinition[] = scheduledFunctions,
  env: NodeJS.ProcessEnv = process.env,
): RunningScheduler {
  const timers = new Map<string, NodeJS.Timeout>();
  for (const definition of definitions) {
    const every = localRateMs(definition, env);
    if (!every) continue;
    let running = false;
    const timer = setInterval(async () => {
      if (running) return;
      running = true;
      try {
        const module = (await import(pathToFileURL(join(handlersDir, `${definition.name}.ts`)).href)) as {
          handler: () => Promise<void>;
        };
        await runAsFunction(definition.name, () => module.handler());
      } catch (error) {
        console.error(`[logway] scheduled function ${definition.name} failed:`, error);
      } finally {
        running = false;
      }
    }, every);
    timer.unref();
    timers.set(definition.name, timer);
  }
  return {
    stop: (names) => {
      for (const [name, timer] of timers) {
        if (names && !names.includes(name)) continue;
        clearInterval(timer);
        timers.delete(name);
      }
    },
  };
}
