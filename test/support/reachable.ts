/**
 * Whether the machine's services answer, so that a test needing one skips (or, under CI, fails) when
 * it does not.
 */
import { connect } from "node:net";

/** Whether something accepts TCP connections on 127.0.0.1:`port` within a second. */
export function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, timeout: 1_000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** {@link reachable} for each port of a map, by the same keys. */
export async function reachablePorts<K extends string>(
  ports: Record<K, number>,
): Promise<Record<K, boolean>> {
  const entries = await Promise.all(
    Object.entries<number>(ports).map(async ([key, port]) => [key, await reachable(port)] as const),
  );
  return Object.fromEntries(entries) as Record<K, boolean>;
}
