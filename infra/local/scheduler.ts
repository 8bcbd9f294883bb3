/**
 * Runs the scheduled functions of infra/schedules.ts in the local runtime, at the rate their
 * EventBridge rule has in the cloud, by calling the same handler in-process.
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

/** `rate(5 minutes)` → 300000; cron expressions are not run locally. */
export function rateMs(schedule: string): number | undefined {
  const match = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(schedule.trim());
  return match ? Number(match[1]) * unitMs[match[2]!]! : undefined;
}

export interface RunningScheduler {
  stop(): void;
}

export function startScheduler(definitions: readonly ScheduledFunctionDefinition[] = scheduledFunctions): RunningScheduler {
  const timers: NodeJS.Timeout[] = [];
  for (const definition of definitions) {
    const every = rateMs(definition.schedule);
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
    timers.push(timer);
  }
  return { stop: () => timers.forEach(clearInterval) };
}
