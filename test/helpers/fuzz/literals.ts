/** Renders a value as a GraphQL literal, hostile ones included (NaN stays NaN: a document error). */
import { EnumValue } from './values.js';

export function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof EnumValue) return value.name;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number')
    return Number.isNaN(value) ? 'NaN' : Number.isFinite(value) ? String(value) : value > 0 ? 'Infinity' : '-Infinity';
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (typeof value === 'object')
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${/^[_A-Za-z][_0-9A-Za-z]*$/.test(k) ? k : JSON.stringify(k)}: ${literal(v)}`)
      .join(', ')}}`;
  return String(value);
}

/** The JSON form of a variable value (enum values are their names). */
export function jsonValue(value: unknown): unknown {
  if (value instanceof EnumValue) return value.name;
  if (Array.isArray(value)) return value.map(jsonValue);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, jsonValue(v)]));
  return value;
}
