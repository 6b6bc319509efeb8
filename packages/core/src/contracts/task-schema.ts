/**
 * The JSON Schema a task publishes for its configuration (Task.configSchema). Its own file so that
 * the Task contract and config/task-config.ts (which builds and checks it) do not import each other.
 */

/** A JSON Schema for one config value; `description` says what the key does (shown to users). */
export interface ConfigProperty {
  description: string;
  type?: string | string[];
  enum?: readonly unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  items?: Omit<ConfigProperty, 'description'> & { description?: string };
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  /** Wording of the fix in errors ("use <expected>") when the derived one would be unclear. */
  expected?: string;
}

/** What a task publishes about its configuration (Task.configSchema). */
export interface TaskConfigSchema {
  type: 'object';
  properties: Record<string, ConfigProperty>;
  required: string[];
  additionalProperties: false;
}
