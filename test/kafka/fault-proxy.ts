/**
 * A TCP proxy in front of the Kafka listener that loses chosen responses: it forwards a request,
 * lets the gateway act on it, then cuts the connection instead of delivering the response, as a
 * network failure would. The client must retry; an idempotent producer's retry must not append twice.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface FaultProxy {
  readonly port: number;
  /** Responses to these API keys still to lose, one at a time. */
  readonly lose: Map<number, number>;
  lost: number;
  stop(): Promise<void>;
}

function frames(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const size = pending.readInt32BE(0);
      onFrame(pending.subarray(0, 4 + size));
      pending = pending.subarray(4 + size);
    }
  };
}

/** Listens first (so its port can be advertised), forwarding to the port `upstream()` gives at connection time. */
export async function startFaultProxy(upstream: () => number): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = { port: 0, lose: new Map(), lost: 0, stop: async () => {} };
  const server: Server = createServer((client) => {
    const broker = connect(upstream(), '127.0.0.1');
    sockets.add(client);
    sockets.add(broker);
    const apiKeyOf = new Map<number, number>();
    const cut = () => {
      client.destroy();
      broker.destroy();
    };
    client.on(
      'data',
      frames((frame) => {
        apiKeyOf.set(frame.readInt32BE(8), frame.readInt16BE(4));
        broker.write(frame);
      }),
    );
    broker.on(
      'data',
      frames((frame) => {
        const apiKey = apiKeyOf.get(frame.readInt32BE(4));
        const left = apiKey === undefined ? 0 : (proxy.lose.get(apiKey) ?? 0);
        if (left > 0) {
          proxy.lose.set(apiKey!, left - 1);
          proxy.lost++;
          cut();
          return;
        }
        client.write(frame);
      }),
    );
    client.on('error', cut);
    broker.on('error', cut);
    client.on('close', cut);
    broker.on('close', cut);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  Object.assign(proxy, {
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  return proxy;
}
