import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { requestLog } from '../src/web/requestLog.js';
import { consoleApp } from './support/console.js';
import { createTestDatabase } from './support/testDatabase.js';

describe('the request log', () => {
  it('records a request by its method and path, never its query string', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const database = await createTestDatabase();
    const app = await consoleApp(database, { logger: requestLog('info', stream) });
    try {
      const response = await app.inject({
        method: 'GET',
        url: '/system/login?next=%2Fsystem%2Fops%2Ftenants%3Fq%3Dacme-secret',
      });
      expect(response.statusCode).toBe(200);
    } finally {
      await app.close();
      await database.destroy();
    }
    const requests = lines.map((line) => JSON.parse(line) as { req?: { method: string; url: string } });
    expect(requests.map((entry) => entry.req).filter(Boolean)).toEqual([
      expect.objectContaining({ method: 'GET', url: '/system/login' }),
    ]);
    expect(lines.join('')).not.toMatch(/acme-secret|next=/);
  });
});
