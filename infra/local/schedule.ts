/** The drafting schedule locally: croner firing the same handler on the same cron as the stack. */
import { Cron } from 'croner';

/** EventBridge Scheduler `cron(min hour dom month dow year)` → croner's five fields. */
export function toCronerPattern(expression: string): string {
  const inner = /^cron\((.+)\)$/.exec(expression.trim())?.[1] ?? expression.trim();
  const fields = inner.split(/\s+/);
  if (fields.length !== 6 && fields.length !== 5) throw new Error(`Not a cron expression: ${expression}`);
  const [minute, hour, dayOfMonth, month, dayOfWeek] = fields.map((field) => (field === '?' ? '*' : field));
  return [minute, hour, dayOfMonth, month, dayOfWeek].join(' ');
}

export function scheduleDrafting(expression: string, timezone: string, fire: () => Promise<void>): Cron {
  return new Cron(toCronerPattern(expression), { timezone, protect: true }, async () => {
    try {
      await fire();
    } catch (error) {
      console.error('scheduled drafting failed', error);
    }
  });
}

/** Every `minutes` minutes (the reconciler's `rate(n minutes)` on AWS). */
export function scheduleEvery(minutes: number, name: string, fire: () => Promise<void>): Cron {
  return new Cron(`*/${Math.min(59, Math.max(1, minutes))} * * * *`, { protect: true }, async () => {
    try {
      await fire();
    } catch (error) {
      console.error(`scheduled ${name} failed`, error);
    }
  });
}
