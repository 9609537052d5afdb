/** TCP ports for endpoint checks: one something listens on, one nothing does. */
import net from 'node:net';

export interface Listening {
  port: number;
  close(): Promise<void>;
}

/** A server on 127.0.0.1 that accepts connections (and says nothing). */
export async function listening(): Promise<Listening> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A port that was just free: bound, then released, so a connection to it is refused. */
export async function closedPort(): Promise<number> {
  const server = await listening();
  await server.close();
  return server.port;
}
