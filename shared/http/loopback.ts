/**
 * Every local listener (the gateway, the Kafka port, the Lambda Invoke API, the console proxy)
 * binds the loopback interface only: nothing on the network can reach it, and the Host/Origin
 * guard (request-guard.ts) keeps web pages out.
 */
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';

/** Listens on 127.0.0.1 (`port` 0: any free port) and returns the port it got. */
export async function listenOnLoopback(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Stops accepting connections and ends the open ones (an idle keep-alive connection would hold
 * `close` forever); the promise resolves once the server is closed, so a caller can wait for its
 * own in-flight work in between.
 */
export function closeServer(server: HttpServer): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}
