/**
 * Broker targets against brokers that require credentials: the machine's NATS and Mosquitto accept
 * anyone, so these tests start their own `nats-server` (user and password) and `mosquitto` (password
 * file, no anonymous clients) from the machine's packages on free loopback ports. Right credentials
 * publish (checked with the broker's own client); wrong ones fail finally with NO_PERMISSIONS and a
 * message without the password. A missing binary skips loudly, except under CI=true.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as natsConnect } from "@nats-io/transport-node";
import { connectAsync as mqttConnect } from "mqtt";
import { DeliveryError, type Invocation } from "../src/delivery/index.js";
import { createBrokerInvoker } from "../src/delivery/brokers/index.js";
import { targetInvocation } from "./support/index.js";

const NATS_SERVER = "/usr/sbin/nats-server";
const MOSQUITTO = "/usr/sbin/mosquitto";
const MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd";
const USER = "busbar";
const PASSWORD = "right-pw-0123";
const WRONG = "s3cr3t-pw";

/** `false` when the binaries are there; otherwise the skip reason (or, under CI, an error). */
function skipUnless(name: string, ...binaries: string[]): false | string {
  const missing = binaries.filter((b) => !existsSync(b));
  if (missing.length === 0) return false;
  const message = `${missing.join(" and ")} not found`;
  if (process.env.CI === "true") throw new Error(`${name}: ${message}`);
  console.warn(`\n*** SKIPPING ${name} tests: ${message} ***\n`);
  return message;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts a broker process and waits until its port accepts connections (10 s at most). */
async function startBroker(command: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}: ${stderr}`);
    const open = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once("error", () => resolve(true)); // taken: the broker listens
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(false)));
    });
    if (open) return child;
    if (Date.now() > deadline) throw new Error(`${command} did not listen on ${port} in 10 s: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopBroker(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

function invocation(arn: string): Invocation {
  return targetInvocation(arn, JSON.stringify({ version: "0", id: randomUUID(), detail: { auth: true } }));
}

/** Awaits a final NO_PERMISSIONS whose message names the target without its password. */
async function refused(work: Promise<void>): Promise<void> {
  try {
    await work;
  } catch (error) {
    assert.ok(error instanceof DeliveryError, `expected a DeliveryError, got ${String(error)}`);
    assert.equal(error.code, "NO_PERMISSIONS", error.message);
    assert.equal(error.retryable, false, error.message);
    assert.doesNotMatch(error.message, new RegExp(WRONG));
    assert.match(error.message, /\*\*\*/);
    return;
  }
  assert.fail("expected NO_PERMISSIONS, but the publish succeeded");
}

describe(
  "NATS targets on a server that requires a user and password",
  { skip: skipUnless("NATS auth", NATS_SERVER) },
  () => {
    let port = 0;
    let server: ChildProcess | undefined;
    const invoker = createBrokerInvoker({ timeoutMs: 5_000 });

    before(async () => {
      port = await freePort();
      server = await startBroker(
        NATS_SERVER,
        ["-a", "127.0.0.1", "-p", String(port), "--user", USER, "--pass", PASSWORD],
        port,
      );
    });
    after(async () => {
      await invoker.close();
      await stopBroker(server);
    });

    it("publishes with the right credentials", async () => {
      const subject = `busbar.auth.${randomUUID()}`;
      const nc = await natsConnect({ servers: `127.0.0.1:${port}`, user: USER, pass: PASSWORD });
      try {
        const got = new Promise<string>((resolve) =>
          nc.subscribe(subject, { max: 1, callback: (_e, m) => resolve(m.string()) }),
        );
        await nc.flush();
        const call = invocation(`nats://${USER}:${PASSWORD}@127.0.0.1:${port}/${subject}`);
        await invoker.invoke(call, new AbortController().signal);
        assert.equal(await got, call.payload);
      } finally {
        await nc.close();
      }
    });

    it("refuses a wrong password, and no credentials, as final (NO_PERMISSIONS), without the password in the message", async () => {
      await refused(
        invoker.invoke(
          invocation(`nats://${USER}:${WRONG}@127.0.0.1:${port}/busbar.auth.x`),
          new AbortController().signal,
        ),
      );
      const none = invoker.invoke(
        invocation(`nats://127.0.0.1:${port}/busbar.auth.x`),
        new AbortController().signal,
      );
      await assert.rejects(
        none,
        (e: unknown) => e instanceof DeliveryError && e.code === "NO_PERMISSIONS" && !e.retryable,
      );
    });
  },
);

describe(
  "MQTT targets on a broker that refuses anonymous clients",
  { skip: skipUnless("MQTT auth", MOSQUITTO, MOSQUITTO_PASSWD) },
  () => {
    let port = 0;
    let broker: ChildProcess | undefined;
    let dir = "";
    const invoker = createBrokerInvoker({ timeoutMs: 5_000 });

    before(async () => {
      port = await freePort();
      dir = mkdtempSync(join(tmpdir(), "busbar-mqtt-auth-"));
      const passwords = join(dir, "passwords");
      writeFileSync(passwords, "");
      const made = spawnSync(MOSQUITTO_PASSWD, ["-b", passwords, USER, PASSWORD], { encoding: "utf8" });
      assert.equal(made.status, 0, made.stderr);
      // Started as root, Mosquitto reads its files as the user it switches to.
      chmodSync(dir, 0o755);
      chmodSync(passwords, 0o644);
      const config = join(dir, "mosquitto.conf");
      writeFileSync(
        config,
        [
          `listener ${port} 127.0.0.1`,
          "allow_anonymous false",
          `password_file ${passwords}`,
          "persistence false",
          "",
        ].join("\n"),
      );
      broker = await startBroker(MOSQUITTO, ["-c", config], port);
    });
    after(async () => {
      await invoker.close();
      await stopBroker(broker);
      rmSync(dir, { recursive: true, force: true });
    });

    it("publishes at QoS 1 with the right credentials", async () => {
      const topic = `busbar-auth/${randomUUID()}`;
      const client = await mqttConnect({
        host: "127.0.0.1",
        port,
        username: USER,
        password: PASSWORD,
        reconnectPeriod: 0,
      });
      try {
        const got = new Promise<string>((resolve) =>
          client.on("message", (_t, payload) => resolve(payload.toString("utf8"))),
        );
        await client.subscribeAsync(topic, { qos: 1 });
        const call = invocation(`mqtt://${USER}:${PASSWORD}@127.0.0.1:${port}/${topic}`);
        await invoker.invoke(call, new AbortController().signal);
        assert.equal(await got, call.payload);
      } finally {
        await client.endAsync();
      }
    });

    it("refuses a wrong password as final (NO_PERMISSIONS), over MQTT 5 and 3.1.1, without the password in the message", async () => {
      await refused(
        invoker.invoke(
          invocation(`mqtt://${USER}:${WRONG}@127.0.0.1:${port}/busbar-auth/x`),
          new AbortController().signal,
        ),
      );
      await refused(
        invoker.invoke(
          invocation(`mqtt://${USER}:${WRONG}@127.0.0.1:${port}/busbar-auth/x?protocolVersion=4`),
          new AbortController().signal,
        ),
      );
    });
  },
);
