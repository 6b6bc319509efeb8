import { configError } from '@dpl/core';
import type { ExpandedCell } from './grid';

const KEYS = ['task', 'backbone', 'point', 'seed', 'preset', 'hash'] as const;
type Key = (typeof KEYS)[number];

const globRe = (g: string) =>
  new RegExp(
    `^${g
      .replace(/[.+^${}()[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );

/**
 * `--filter` expressions: space- or comma-separated terms `key=glob[|glob...]` or `key!=glob`,
 * all of which must hold; keys task, backbone, point, seed, preset, hash. E.g.
 * `task=similarity backbone=vgg*|alexnet point!=E4`.
 */
export function parseFilter(expr: string): (c: ExpandedCell) => boolean {
  const terms = expr
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((t) => {
      const m = /^([a-z]+)(!?=)(.+)$/.exec(t);
      if (!m || !(KEYS as readonly string[]).includes(m[1]))
        throw configError(
          `--filter term '${t}'`,
          'is not key=pattern',
          `use ${KEYS.join(', ')} as keys, e.g. --filter "task=similarity backbone=vgg*"`,
        );
      const res = m[3].split('|').map(globRe);
      return { key: m[1] as Key, negate: m[2] === '!=', res };
    });
  return (c) =>
    terms.every(({ key, negate, res }) => {
      const values = key === 'point' ? c.points : [String(c[key])];
      const hit = values.some((v) => res.some((r) => r.test(v)));
      return negate ? !hit : hit;
    });
}
