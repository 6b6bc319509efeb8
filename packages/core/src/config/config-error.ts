import type { Task } from '../contracts/task';
import { configError, isDplError, type DplError } from '../errors';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whatever a task's config check threw, as a config error naming the key: a DplError is kept;
 * anything else (a plain Error from a plugin's check) names the key of `keys` its message
 * mentions first, else the only override given, else the task's config as a whole.
 */
export function asConfigError(e: unknown, task: string, keys: string[], overrides: string[] = []): DplError {
  if (isDplError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  const at = (k: string) => message.search(new RegExp(`(?<![\\w.])${escape(k)}(?!\\w)`));
  const mentioned = keys.filter((k) => at(k) >= 0).sort((a, b) => at(a) - at(b))[0];
  const key = mentioned ?? (overrides.length === 1 ? overrides[0] : undefined);
  return configError(
    key ? `config key '${key}'` : `${task} config`,
    message,
    `fix ${key ? `'${key}'` : 'the overrides'} (dpl describe ${task} lists every setting)`,
  );
}

/** task.resolveConfig, with every failure a config error naming the key (asConfigError). */
export function resolveTaskConfig(task: Task, preset: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  try {
    return task.resolveConfig(preset, overrides);
  } catch (e) {
    const given = Object.keys(overrides);
    throw asConfigError(e, task.id, [...new Set([...given, ...Object.keys(task.configSchema?.properties ?? {})])], given);
  }
}
