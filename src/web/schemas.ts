/** JSON-schema pieces every route's params, query and body are made of. */

/** Text a person typed: no control characters (PostgreSQL refuses NUL, and no id or email has any). */
export const PLAIN_TEXT = '^[^\\u0000-\\u001f\\u007f]*$';

/** The CSRF token field every form carries (the auth plugin checks it). */
export const CSRF_FIELD = { _csrf: { type: 'string', maxLength: 200 } } as const;

/** A query string that takes nothing. */
export const NO_QUERY = { type: 'object', properties: {}, additionalProperties: false } as const;

/** A form with nothing but its CSRF token. */
export const CSRF_ONLY_BODY = { type: 'object', properties: CSRF_FIELD, additionalProperties: false } as const;

/**
 * A run id in its one accepted form, a UUID of hex digits (either case): ajv's `uuid` format also
 * takes `urn:uuid:…`, which no run id is. A path naming anything else names no page: a 404.
 */
export const RUN_ID = {
  type: 'string',
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
} as const;
