/** A loopback TCP proxy in front of a store, to play an outage in tests. */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A loopback TCP proxy that can be stopped and started again on its port, to play an outage. */
export async function startProxy(
  host: string,
  port: number,
): Promise<{ port: number; stop(): Promise<void>; start(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let listening = 0;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(port, host);
        const end = () => {
          for (const s of [client, upstream]) {
            s.destroy();
            sockets.delete(s);
          }
        };
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', end).on('close', end);
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(listening, '127.0.0.1', () => {
        listening = (server!.address() as AddressInfo).port;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server!.close(() => resolve());
    });
  await start();
  return { port: listening, stop, start };
}
