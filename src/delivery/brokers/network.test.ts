import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type dns from "node:dns";
import { connect, createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { parseAllowedNetworks } from "../http/index.js";
import { brokerGuard, connectToPermitted, dialRefusal } from "./network.js";

/** A resolver whose answer for every name is `addresses` (what a dual-stack host's DNS would give). */
function answering(addresses: readonly string[]): typeof dns.lookup {
  return ((_host: string, _options: unknown, callback: (e: null, a: dns.LookupAddress[]) => void) =>
    callback(
      null,
      addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })),
    )) as unknown as typeof dns.lookup;
}

const dial = (address: string, port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, address, () => resolve(socket));
    socket.on("error", reject);
  });

describe("connectToPermitted", () => {
  it("goes on to a name's next address when one refuses the connection, as net.connect does", async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const guard = brokerGuard(parseAllowedNetworks("127.0.0.0/8,::1/128"), answering(["::1", "127.0.0.1"]));
      const tried: string[] = [];
      const socket = await connectToPermitted("broker.test", guard, (address) => {
        tried.push(address);
        return dial(address, port);
      });
      socket.destroy();
      assert.deepEqual(tried, ["::1", "127.0.0.1"], "IPv6 refused (nothing listens there), then IPv4");
    } finally {
      server.close();
    }
  });

  it("stops at a failure that is not the address's (the broker answered)", async () => {
    const guard = brokerGuard(parseAllowedNetworks("127.0.0.0/8"), answering(["127.0.0.2", "127.0.0.3"]));
    const tried: string[] = [];
    await assert.rejects(
      connectToPermitted("broker.test", guard, (address) => {
        tried.push(address);
        return Promise.reject(new Error("ACCESS_REFUSED"));
      }),
      /ACCESS_REFUSED/,
    );
    assert.deepEqual(tried, ["127.0.0.2"]);
  });

  it("tries only the permitted addresses of a name, and none when the guard refuses them all", async () => {
    const guard = brokerGuard(parseAllowedNetworks("127.0.0.3/32"), answering(["127.0.0.2", "127.0.0.3"]));
    const tried: string[] = [];
    await assert.rejects(
      connectToPermitted("broker.test", guard, (address) => {
        tried.push(address);
        return Promise.reject(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }));
      }),
      /refused/,
    );
    assert.deepEqual(tried, ["127.0.0.3"]);
    const none = brokerGuard(parseAllowedNetworks(""), answering(["127.0.0.2"]));
    await assert.rejects(
      connectToPermitted("broker.test", none, () => Promise.reject(new Error("called"))),
      /refused to call broker\.test \(127\.0\.0\.2\): a loopback address/,
    );
  });
});

describe("dialRefusal", () => {
  it("checks every address the NATS client dials, and refuses a name it did not resolve through the guard", () => {
    const guard = brokerGuard(parseAllowedNetworks("10.1.0.0/16"));
    assert.equal(dialRefusal("10.1.2.3", guard), undefined);
    assert.match(dialRefusal("127.0.0.1", guard)?.message ?? "", /a loopback address/);
    assert.match(dialRefusal("[::1]", guard)?.message ?? "", /a loopback address/);
    assert.match(
      dialRefusal("nats.internal", guard)?.message ?? "",
      /did not resolve through the network guard/,
    );
  });
});
