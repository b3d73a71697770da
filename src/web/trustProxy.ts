/**
 * Fastify's `trustProxy` from TRUST_PROXY: unset (the default) trusts no proxy, so a client
 * cannot pick its own address with X-Forwarded-For (and dodge the sign-in throttle).
 * `true` trusts every hop; anything else is a comma-separated list of proxy addresses or
 * CIDR ranges (`10.0.0.1,192.168.0.0/16`).
 */
export function trustProxyFromEnv(value: string | undefined): boolean | string {
  if (!value || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  return value;
}
