import Ajv from 'ajv';
import { MIN_PLUGIN_API_VERSION, PLUGIN_API_VERSION, type PluginManifest } from '../contracts/plugin';

/** JSON Schema of a plugin's `"dpl"` manifest (docs/PLUGINS.md). */
export const PLUGIN_MANIFEST_SCHEMA = {
  type: 'object',
  properties: {
    apiVersion: { type: 'integer', minimum: 1 },
    kind: { enum: ['backbone', 'task', 'command'] },
    module: { type: 'string', minLength: 1 },
    // a project's own package.json may list plugins in the same field (read only from there)
    plugins: { type: 'array', items: { type: 'string', minLength: 1 } },
  },
  required: ['apiVersion', 'kind', 'module'],
  additionalProperties: false,
} as const;

const validate = new Ajv({ allErrors: true, strict: true }).compile(PLUGIN_MANIFEST_SCHEMA);

const EXAMPLE = `"dpl": { "apiVersion": ${PLUGIN_API_VERSION}, "kind": "backbone", "module": "./dist/plugin.js" }`;

/** True when a package.json `dpl` field declares a plugin (not only a project's `plugins` list). */
export function declaresPlugin(dpl: unknown): boolean {
  if (dpl === undefined) return false;
  if (typeof dpl !== 'object' || dpl === null || Array.isArray(dpl)) return true; // invalid: reported at load
  return Object.keys(dpl).some((k) => k !== 'plugins');
}

/** The manifest, checked: the API version first (a newer plugin may have fields this host does not know), then the schema. */
export function checkManifest(raw: unknown): PluginManifest {
  const api = (raw as { apiVersion?: unknown } | null)?.apiVersion;
  if (typeof api === 'number' && Number.isInteger(api) && (api < MIN_PLUGIN_API_VERSION || api > PLUGIN_API_VERSION)) {
    const supported =
      MIN_PLUGIN_API_VERSION === PLUGIN_API_VERSION ? `${PLUGIN_API_VERSION}` : `${MIN_PLUGIN_API_VERSION} to ${PLUGIN_API_VERSION}`;
    const fix =
      api > PLUGIN_API_VERSION
        ? 'upgrade dpl (@dpl/cli) or use a release of the plugin written for this one'
        : 'update the plugin to the current plugin API';
    throw new Error(`it needs plugin API version ${api}; this dpl supports plugin API version ${supported} (fix: ${fix})`);
  }
  if (!validate(raw)) {
    const kind = JSON.stringify((raw as { kind?: unknown } | null)?.kind);
    const why = (validate.errors ?? []).map((e) => {
      const key = e.instancePath.slice(1);
      if (e.keyword === 'required') return `lacks "${(e.params as { missingProperty: string }).missingProperty}"`;
      if (e.keyword === 'additionalProperties')
        return `has the unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
      if (e.keyword === 'enum') return `kind must be one of: backbone, task, command (got ${kind})`;
      return `${key ? `"${key}" ` : ''}${e.message ?? 'is invalid'}`;
    });
    throw new Error(`invalid "dpl" manifest in package.json: ${why.join('; ') || 'is invalid'} (expected ${EXAMPLE})`);
  }
  return raw as unknown as PluginManifest;
}
