// A small schema language for Istio and Kubernetes objects, walked generically: types, required fields,
// enums, ranges, unknown fields and mutually exclusive fields are declared per kind, not hand-written.
// Rules that need more than one field or more than one resource sit on top, as `check` hooks or in
// references.ts.
import { CfgCode } from '../../core/codes.js';
import type { Diagnostic, Severity } from '../../core/diagnostics.js';
import type { Located } from '../model/resource.js';
import { resourceId } from '../model/resource.js';
import { fieldPath } from '../parse.js';
import type { PathSegment } from '../parse.js';

export type Path = readonly PathSegment[];

/** Where a validator reports; one per resource, so every diagnostic names its resource and position. */
export class ResourceContext {
  #id: string | undefined;
  constructor(
    readonly located: Located,
    private readonly out: Diagnostic[],
  ) {}

  /** `Kind/namespace/name`, made when first asked: most resources have nothing to report. */
  get id(): string {
    return (this.#id ??= resourceId(this.located.object));
  }

  get namespace(): string {
    return this.located.object.metadata.namespace;
  }

  report(severity: Severity, code: string, message: string, path: Path): void {
    const field = fieldPath(path);
    const d: Diagnostic = field
      ? { severity, code, message, source: this.located.origin.at(field), resource: this.id, field }
      : { severity, code, message, source: this.located.origin.source, resource: this.id };
    this.out.push(d);
  }

  error(code: string, message: string, path: Path): void {
    this.report('error', code, message, path);
  }

  warn(code: string, message: string, path: Path): void {
    this.report('warning', code, message, path);
  }
}

export type Check<T> = (value: T, ctx: ResourceContext, path: Path) => void;

interface Base {
  /** Absent, null, empty string or empty list is an error. */
  readonly required?: boolean;
  /** Parsed but not acted on: a warning whenever the field is set. The text says what is ignored. */
  readonly unsupported?: string;
}
export interface StringSchema extends Base {
  readonly type: 'string';
  readonly enum?: readonly string[];
  readonly check?: Check<string>;
}
export interface IntegerSchema extends Base {
  readonly type: 'integer';
  readonly min?: number;
  readonly max?: number;
  /** Wording for a range error when min/max alone would not explain it, e.g. "a 3xx status". */
  readonly range?: string;
}
export interface NumberSchema extends Base {
  readonly type: 'number';
  readonly min?: number;
  readonly max?: number;
}
export interface BooleanSchema extends Base {
  readonly type: 'boolean';
}
export interface IntOrStringSchema extends Base {
  readonly type: 'int-or-string';
}
export interface AnySchema extends Base {
  readonly type: 'any';
}
export interface ObjectSchema extends Base {
  readonly type: 'object';
  /** The message type's name, used in unknown-field warnings (`Server`, `HTTPRoute`). */
  readonly name: string;
  readonly fields: Readonly<Record<string, Schema>>;
  /** Unknown fields are accepted silently (Kubernetes objects carry many fields Gatehouse ignores). */
  readonly open?: boolean;
  /** Groups of fields of which at most one may be set (protobuf oneofs). */
  readonly oneOf?: readonly (readonly string[])[];
  readonly check?: Check<Record<string, unknown>>;
}
export interface MapSchema extends Base {
  readonly type: 'map';
  readonly values: Schema;
  readonly check?: Check<Record<string, unknown>>;
}
export interface ListSchema extends Base {
  readonly type: 'list';
  readonly items: Schema;
  readonly check?: Check<unknown[]>;
}

export type Schema =
  | StringSchema
  | IntegerSchema
  | NumberSchema
  | BooleanSchema
  | IntOrStringSchema
  | AnySchema
  | ObjectSchema
  | MapSchema
  | ListSchema;

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** How a value is described in a type error: `string "fifty"`, `a list`, `number 1.5`. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v)}`;
  return `${typeof v} ${String(v)}`;
}

/** The name a user sees for the field at a path: its key, or `item [n] of key` for list items. */
export function label(path: Path): string {
  const last = path[path.length - 1];
  if (typeof last === 'string') return last;
  for (let i = path.length - 2; i >= 0; i--) {
    const p = path[i];
    if (typeof p === 'string') return `${p}[${String(last)}]`;
  }
  return 'value';
}

/**
 * What walkObject reads of an ObjectSchema, made once per schema, not per object walked. With `index`,
 * an object's own keys (two or three of a schema's dozen fields, typically) are looked up in the schema
 * rather than every field in the object (a missed property read walks the prototype chain): present and
 * required fields become bits, visited lowest first, so in schema order as before.
 */
interface ObjectPlan {
  readonly keys: readonly string[];
  readonly schemas: readonly Schema[];
  /** Field name → position; undefined when the bit walk cannot stand in for reading every field. */
  readonly index: ReadonlyMap<string, number> | undefined;
  readonly requiredMask: number;
  /**
   * With `index`, each oneOf group as the bits of its fields: a group with fewer than two of them present
   * needs no look at the values (no keyed read per group member per object). Undefined when some member is
   * no field of the schema (then every member is read).
   */
  readonly oneOfMasks: readonly number[] | undefined;
}
const plans = new WeakMap<ObjectSchema, ObjectPlan>();
/** Fields per bit mask: 31 bits of a small integer. */
const MASK_FIELDS = 31;

// A function with an arrow function that captures one of its parameters or locals allocates a context
// for them on every call, whether or not the arrow function is ever made: walkObject and planOf run once
// per object walked (~310,000 at scale), so such closures live in functions of their own (makePlan,
// reportOneOf), 24 of the 26 MiB that validating 10,000 VirtualServices allocated.
function planOf(schema: ObjectSchema): ObjectPlan {
  return plans.get(schema) ?? makePlan(schema);
}

function makePlan(schema: ObjectSchema): ObjectPlan {
  const keys = Object.keys(schema.fields);
  const schemas = keys.map((k) => shaped(schema.fields[k] as Schema));
  let requiredMask = 0;
  for (let f = 0; f < keys.length && f < MASK_FIELDS; f++) if ((schemas[f] as Schema).required) requiredMask |= 1 << f;
  // A field named like an Object.prototype member (`constructor`) reads an inherited value when absent:
  // only reading every field keeps that.
  const bitWalk = keys.length <= MASK_FIELDS && !keys.some((k) => k in Object.prototype);
  const index = bitWalk ? new Map(keys.map((k, f) => [k, f])) : undefined;
  let oneOfMasks: number[] | undefined;
  if (index !== undefined && schema.oneOf !== undefined && schema.oneOf.every((group) => group.every((k) => index.has(k)))) {
    oneOfMasks = schema.oneOf.map((group) => group.reduce((m, k) => m | (1 << (index.get(k) as number)), 0));
  }
  const plan: ObjectPlan = { keys, schemas, index, requiredMask, oneOfMasks };
  plans.set(schema, plan);
  return plan;
}

/**
 * Walks a value against a schema, reporting at `path`. Absent values are the parent's concern.
 * `path` is copied once into one stack that is pushed and popped below (checks read it synchronously or
 * copy it), so walking a resource allocates no path per field; the stack itself is reused from one walk
 * to the next (a new one per resource had room for 17 segments), unless a walk starts inside another.
 */
export function walk(schema: Schema, value: unknown, path: Path, ctx: ResourceContext): void {
  if (pathInUse) {
    walkAt(shaped(schema), value, path.slice(), ctx);
    return;
  }
  const stack = pathStack;
  stack.length = 0;
  for (let i = 0; i < path.length; i++) stack.push(path[i] as PathSegment);
  pathInUse = true;
  try {
    walkAt(shaped(schema), value, stack, ctx);
  } finally {
    pathInUse = false;
    stack.length = 0;
  }
}

const pathStack: PathSegment[] = [];
let pathInUse = false;

/** Every schema node in one property layout: shaped(s) ↔ s, cached both ways. */
const shapes = new WeakMap<Schema, Schema>();

/**
 * The same schema with every property any kind can have, in one order (absent ones undefined). The
 * shorthands give each kind and each combination of extras its own object layout, so the walker's reads
 * of `type`, `check`, `required`... saw dozens of layouts (megamorphic loads, ~600,000 nodes at scale);
 * shaped, they see one. Items, values and (through planOf) fields are shaped too.
 */
function shaped(schema: Schema): Schema {
  let s = shapes.get(schema);
  if (s === undefined) {
    const a = schema as unknown as Record<string, unknown>;
    s = {
      type: schema.type,
      required: a['required'],
      unsupported: a['unsupported'],
      enum: a['enum'],
      check: a['check'],
      min: a['min'],
      max: a['max'],
      range: a['range'],
      name: a['name'],
      fields: a['fields'],
      open: a['open'],
      oneOf: a['oneOf'],
      values: a['values'] === undefined ? undefined : shaped(a['values'] as Schema),
      items: a['items'] === undefined ? undefined : shaped(a['items'] as Schema),
    } as unknown as Schema;
    shapes.set(schema, s);
    shapes.set(s, s);
  }
  return s;
}

function typeError(ctx: ResourceContext, path: Path, value: unknown, expected: string): void {
  ctx.error(CfgCode.TYPE, `${label(path)} must be ${expected}, got ${describe(value)}`, path);
}

function walkAt(schema: Schema, value: unknown, path: PathSegment[], ctx: ResourceContext): void {
  if (value === undefined || value === null) return;
  // The most frequent cases first (each case is a string comparison until one matches): at scale ~310,000
  // objects, ~200,000 strings, ~120,000 lists.
  switch (schema.type) {
    case 'object':
      walkObject(schema, value, path, ctx);
      return;
    case 'string':
      if (typeof value !== 'string') return typeError(ctx, path, value, 'a string');
      if (schema.enum && !schema.enum.includes(value)) {
        ctx.error(CfgCode.VALUE, `${label(path)} must be one of ${schema.enum.join(', ')}, got ${JSON.stringify(value)}`, path);
        return;
      }
      if (schema.check !== undefined) schema.check(value, ctx, path);
      return;
    case 'list': {
      if (!Array.isArray(value)) return typeError(ctx, path, value, 'a list');
      const n = value.length;
      for (let i = 0; i < n; i++) {
        // forEach skipped holes; parsed YAML and JSON have none, but a hole stays skipped.
        if (!(i in value)) continue;
        const item: unknown = value[i];
        path.push(i);
        if (item === null || item === undefined) {
          ctx.error(CfgCode.TYPE, `${label(path.slice(0, -1))}[${i}] is empty`, path);
        } else {
          walkAt(schema.items, item, path, ctx);
        }
        path.pop();
      }
      if (schema.check !== undefined) schema.check(value, ctx, path);
      return;
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return typeError(ctx, path, value, 'an integer');
      if ((schema.min !== undefined && value < schema.min) || (schema.max !== undefined && value > schema.max)) {
        ctx.error(CfgCode.VALUE, `${label(path)} must be ${schema.range ?? rangeText(schema.min, schema.max)}, got ${value}`, path);
      }
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return typeError(ctx, path, value, 'a number');
      if ((schema.min !== undefined && value < schema.min) || (schema.max !== undefined && value > schema.max)) {
        ctx.error(CfgCode.VALUE, `${label(path)} must be ${rangeText(schema.min, schema.max)}, got ${value}`, path);
      }
      return;
    case 'boolean':
      if (typeof value !== 'boolean') return typeError(ctx, path, value, 'true or false');
      return;
    case 'int-or-string':
      if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
        return typeError(ctx, path, value, 'an integer or a string');
      }
      return;
    case 'map':
      if (!isRecord(value)) return typeError(ctx, path, value, 'a map');
      for (const key of Object.keys(value)) {
        path.push(key);
        walkAt(schema.values, value[key], path, ctx);
        path.pop();
      }
      if (schema.check !== undefined) schema.check(value, ctx, path);
      return;
    case 'any':
      return;
  }
}

function walkObject(schema: ObjectSchema, value: unknown, path: PathSegment[], ctx: ResourceContext): void {
  if (!isRecord(value)) return typeError(ctx, path, value, `a map (${schema.name})`);
  const plan = planOf(schema);
  let unknown = false;
  /** Bits of the schema's fields the object has (own keys; values may still be null or undefined). */
  let present = 0;
  if (plan.index !== undefined) {
    // for-in reads the object's cached key list where Object.keys made a new array per object (~20 MiB
    // per cold build at scale); parsed objects inherit no enumerable keys, so the keys are the same.
    for (const key in value) {
      const f = plan.index.get(key);
      if (f === undefined) unknown = true;
      else present |= 1 << f;
    }
    let mask = present | plan.requiredMask;
    while (mask !== 0) {
      const f = 31 - Math.clz32(mask & -mask);
      mask &= mask - 1;
      walkField(schema, plan, f, value, path, ctx);
    }
  } else {
    unknown = true;
    for (let f = 0; f < plan.keys.length; f++) walkField(schema, plan, f, value, path, ctx);
  }
  if (!schema.open && unknown) {
    const own = Object.keys(value);
    for (let i = 0; i < own.length; i++) {
      const key = own[i] as string;
      if (!(key in schema.fields)) {
        path.push(key);
        ctx.warn(CfgCode.UNKNOWN_FIELD, `unknown field ${JSON.stringify(key)} in ${schema.name}; ignored`, path);
        path.pop();
      }
    }
  }
  const oneOf = schema.oneOf;
  if (oneOf !== undefined) {
    const oneOfMasks = plan.oneOfMasks;
    for (let o = 0; o < oneOf.length; o++) {
      // Fewer than two members present: nothing to count (`x & (x - 1)` clears the lowest bit).
      if (oneOfMasks !== undefined) {
        const members = present & (oneOfMasks[o] as number);
        if ((members & (members - 1)) === 0) continue;
      }
      countOneOf(schema, oneOf[o] as readonly string[], value, path, ctx);
    }
  }
  if (schema.check !== undefined) schema.check(value, ctx, path);
}

/** Reports a oneOf group with more than one member set (not undefined, not null). */
function countOneOf(schema: ObjectSchema, group: readonly string[], value: Record<string, unknown>, path: PathSegment[], ctx: ResourceContext): void {
  let count = 0;
  for (let g = 0; g < group.length; g++) if (value[group[g] as string] !== undefined && value[group[g] as string] !== null) count++;
  if (count > 1) reportOneOf(schema, group, value, path, ctx);
}

/** Two or more of a oneOf group are set (kept out of walkObject: see planOf). */
function reportOneOf(schema: ObjectSchema, group: readonly string[], value: Record<string, unknown>, path: PathSegment[], ctx: ResourceContext): void {
  const set = group.filter((k) => value[k] !== undefined && value[k] !== null);
  path.push(set[1] as string);
  ctx.error(CfgCode.VALUE, `${schema.name} may set only one of ${group.join(', ')}; found ${set.join(' and ')}`, path);
  path.pop();
}

/** Field `f` of an object: required, unsupported, then its own schema. */
function walkField(schema: ObjectSchema, plan: ObjectPlan, f: number, value: Record<string, unknown>, path: PathSegment[], ctx: ResourceContext): void {
  const key = plan.keys[f] as string;
  const field = plan.schemas[f] as Schema;
  const v = value[key];
  if (v === undefined || v === null) {
    if (!field.required) return;
  } else if (!field.required || !(v === '' || (Array.isArray(v) && v.length === 0))) {
    path.push(key);
    if (field.unsupported) ctx.warn(CfgCode.UNSUPPORTED, `${key}: ${field.unsupported}`, path);
    walkAt(field, v, path, ctx);
    path.pop();
    return;
  }
  // A missing field's position falls back to its parent; `field` still names the missing one.
  path.push(key);
  ctx.error(CfgCode.REQUIRED, `${schema.name}.${key} is required`, path);
  path.pop();
}

function rangeText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `between ${min} and ${max}`;
  if (min !== undefined) return `at least ${min}`;
  return `at most ${String(max)}`;
}

// ----- shorthands, so per-kind schemas read like the protos -------------------------------------------

export const str = (extra: Omit<StringSchema, 'type'> = {}): StringSchema => ({ type: 'string', ...extra });
export const int = (extra: Omit<IntegerSchema, 'type'> = {}): IntegerSchema => ({ type: 'integer', ...extra });
export const num = (extra: Omit<NumberSchema, 'type'> = {}): NumberSchema => ({ type: 'number', ...extra });
export const bool = (extra: Omit<BooleanSchema, 'type'> = {}): BooleanSchema => ({ type: 'boolean', ...extra });
export const any = (extra: Omit<AnySchema, 'type'> = {}): AnySchema => ({ type: 'any', ...extra });
export const list = (items: Schema, extra: Omit<ListSchema, 'type' | 'items'> = {}): ListSchema => ({
  type: 'list',
  items,
  ...extra,
});
export const map = (values: Schema, extra: Omit<MapSchema, 'type' | 'values'> = {}): MapSchema => ({
  type: 'map',
  values,
  ...extra,
});
export const obj = (
  name: string,
  fields: Readonly<Record<string, Schema>>,
  extra: Omit<ObjectSchema, 'type' | 'name' | 'fields'> = {},
): ObjectSchema => ({ type: 'object', name, fields, ...extra });

/** The same schema, required where it is used. */
export function required<S extends Schema>(schema: S): S {
  return { ...schema, required: true };
}

/** The same schema, with a warning that Gatehouse parses the field but does not act on it yet. */
export function unsupported<S extends Schema>(schema: S, what: string): S {
  return { ...schema, unsupported: what };
}
