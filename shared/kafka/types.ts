/**
 * The vocabulary of the Kafka message schema table (schema.ts): field types, version ranges,
 * nullable and tagged versions, as Kafka's own message definitions describe them.
 */

export type Primitive =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint16'
  | 'varint'
  | 'varlong'
  | 'uvarint'
  | 'float64'
  | 'bool'
  | 'uuid'
  | 'string'
  | 'bytes'
  /** A RecordBatch set: bytes on the wire, kept as the client sent them. */
  | 'records';

export type FieldType = Primitive | { readonly struct: readonly Field[] } | { readonly array: FieldType };

/** Inclusive version range; `max` Infinity for "N+". */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

export interface Field {
  /** camelCase of Kafka's field name. */
  readonly name: string;
  readonly type: FieldType;
  readonly versions: VersionRange;
  readonly nullable?: VersionRange;
  /** A tagged field: written in the tagged-fields section of flexible versions, omitted when it holds its default. */
  readonly tag?: number;
  readonly default?: unknown;
}

export interface ApiSchema {
  readonly key: number;
  readonly name: string;
  /** The versions this gateway serves (a subset of Kafka's valid versions). */
  readonly versions: VersionRange;
  /** First flexible version (compact encodings, tagged fields, header v2/v1); Infinity: none served. */
  readonly flexibleFrom: number;
  readonly request: readonly Field[];
  readonly response: readonly Field[];
}

/** Parses Kafka's version notation: "3+", "0-4", "2", "none". */
export function range(text: string): VersionRange {
  if (text === 'none') return { min: Infinity, max: -Infinity };
  const plus = /^(\d+)\+$/.exec(text);
  if (plus) return { min: Number(plus[1]), max: Infinity };
  const span = /^(\d+)-(\d+)$/.exec(text);
  if (span) return { min: Number(span[1]), max: Number(span[2]) };
  if (/^\d+$/.test(text)) return { min: Number(text), max: Number(text) };
  throw new Error(`bad version range '${text}'`);
}

export const inRange = (r: VersionRange | undefined, version: number): boolean => r !== undefined && version >= r.min && version <= r.max;

type FieldOptions = { nullable?: string; tag?: number; default?: unknown };

/** A field: `f('throttleTimeMs', 'int32', '1+')`. */
export function f(name: string, type: FieldType, versions: string, options: FieldOptions = {}): Field {
  return {
    name,
    type,
    versions: range(versions),
    ...(options.nullable !== undefined ? { nullable: range(options.nullable) } : {}),
    ...(options.tag !== undefined ? { tag: options.tag } : {}),
    ...(options.default !== undefined ? { default: options.default } : {}),
  };
}

export const array = (type: FieldType): FieldType => ({ array: type });
export const struct = (...fields: Field[]): FieldType => ({ struct: fields });
/** An array of structs, the common case. */
export const structs = (...fields: Field[]): FieldType => ({ array: { struct: fields } });
