import { readFileSync } from 'node:fs';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { Config } from '../config.js';
import { firstLine, UnavailableError } from '../errors.js';

type TemporalConfig = Config['temporal'];

export function tlsOption(config: TemporalConfig): ConnectionOptions['tls'] {
  if (!config.tls) return undefined;
  const { serverName, clientCertPath, clientKeyPath, caPath } = config.tls;
  return {
    serverNameOverride: serverName,
    serverRootCACertificate: caPath ? readFileSync(caPath) : undefined,
    clientCertPair:
      clientCertPath && clientKeyPath
        ? { crt: readFileSync(clientCertPath), key: readFileSync(clientKeyPath) }
        : undefined,
  };
}

/** The one message for an unreachable Temporal server: where, and what to try. */
export function temporalUnavailable(address: string, error: unknown): UnavailableError {
  const detail = firstLine(error);
  return new UnavailableError(
    `Cannot reach Temporal at ${address} (${detail}). Start it with "npm start" or point TEMPORAL_ADDRESS at a running server.`,
  );
}

/** Connects a client, failing within `timeoutMs` with a one-line message naming the address. */
export async function connectTemporal(config: TemporalConfig, timeoutMs = 5_000): Promise<Client> {
  try {
    const connection = await Connection.connect({
      address: config.address,
      tls: tlsOption(config),
      apiKey: config.apiKey,
      connectTimeout: timeoutMs,
    });
    return new Client({ connection, namespace: config.namespace });
  } catch (error) {
    throw temporalUnavailable(config.address, error);
  }
}

/**
 * A client that connects on first use and reconnects after an outage: the console starts and
 * answers (503 where Temporal is needed) while Temporal is down.
 */
export function lazyTemporalClient(config: TemporalConfig): Client {
  const connection = Connection.lazy({ address: config.address, tls: tlsOption(config), apiKey: config.apiKey });
  return new Client({ connection, namespace: config.namespace });
}

/** Whether the namespace answers; for health checks and start-up waits. */
export async function pingTemporal(client: Client, timeoutMs = 2_000): Promise<void> {
  await client.connection.withDeadline(Date.now() + timeoutMs, () =>
    client.workflowService.describeNamespace({ namespace: client.options.namespace }),
  );
}
