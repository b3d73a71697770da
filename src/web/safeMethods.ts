/** The methods that change nothing: no CSRF token, a sign-in may come back to them. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
