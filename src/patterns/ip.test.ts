import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ipInBlock, parseCidr, parseIp, type CidrBlock } from "./ip.js";

const block = (text: string): CidrBlock => {
  const b = parseCidr(text);
  if (typeof b === "string") throw new Error(b);
  return b;
};
const ip = (text: string) => {
  const a = parseIp(text);
  if (a === undefined) throw new Error(`not an IP: ${text}`);
  return a;
};

describe("IP addresses", () => {
  it("parses IPv4, reading leading zeros as decimal, and rejects look-alikes", () => {
    assert.equal(ip("10.0.0.1").bits, "00001010" + "0".repeat(16) + "00000001");
    assert.equal(ip("010.0.0.1").bits, ip("10.0.0.1").bits);
    for (const bad of ["10.0.0", "10.0.0.256", "999.1.1.1", "10.0.0.1 ", "a.b.c.d", "", "1.2.3.4.5"]) {
      assert.equal(parseIp(bad), undefined, bad);
    }
  });
  it("parses IPv6 with compression; IPv4-mapped addresses are IPv4", () => {
    assert.equal(ip("::1").bits, "0".repeat(127) + "1");
    assert.equal(ip("0:0:0:0:0:0:0:1").bits, ip("::1").bits);
    assert.equal(ip("0000:0:0:0:0:0:0:00001").bits, ip("::1").bits);
    assert.deepEqual(ip("::ffff:a00:1"), ip("10.0.0.1"));
    for (const bad of [
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "12345::",
      "g::1",
      "::ffff:10.0.0.1",
      "1:2:3:4:5:6:7::8",
    ]) {
      assert.equal(parseIp(bad), undefined, bad);
    }
  });
  it("parses CIDR blocks and names what is wrong with bad ones", () => {
    assert.deepEqual(parseCidr("10.0.0.0/24"), { ...ip("10.0.0.0"), prefixLength: 24 });
    assert.match(parseCidr("10.0.0.0") as string, /one '\/' required/);
    assert.match(parseCidr("10.0.0.0/32") as string, /IPv4 mask bits must be < 32/);
    assert.match(parseCidr("::/128") as string, /IPv6 mask bits must be < 128/);
    assert.match(parseCidr("10.0.0.0/x") as string, /mask bits must be an integer/);
    assert.match(parseCidr("10.0.0.0/-1") as string, /must not be negative/);
    assert.match(parseCidr("10.0.0/8") as string, /Nonstandard IP address/);
  });
  it("reads CIDR text as event-ruler does: trailing slashes dropped, a signed mask taken", () => {
    const eight = { ...ip("10.0.0.0"), prefixLength: 8 };
    assert.deepEqual(parseCidr("10.0.0.0/8/"), eight);
    assert.deepEqual(parseCidr("10.0.0.0/8//"), eight);
    assert.deepEqual(parseCidr("10.0.0.0/+8"), eight);
    assert.deepEqual(parseCidr("10.0.0.0/08"), eight);
    assert.match(parseCidr("10.0.0.0//8") as string, /one '\/' required/);
    assert.match(parseCidr("10.0.0.0/8/1") as string, /one '\/' required/);
    assert.match(parseCidr("/8") as string, /Nonstandard IP address/);
    assert.match(parseCidr("10.0.0.0/") as string, /one '\/' required/);
    assert.match(parseCidr("10.0.0.0/+") as string, /mask bits must be an integer/);
    assert.match(parseCidr("10.0.0.0/99999999999") as string, /mask bits must be an integer/);
  });
  it("places addresses in blocks, host bits of the block ignored", () => {
    assert.ok(ipInBlock(ip("10.0.0.1"), block("10.0.0.5/24")));
    assert.ok(!ipInBlock(ip("10.0.1.1"), block("10.0.0.0/24")));
    assert.ok(ipInBlock(ip("2001:db8::1"), block("2001:db8::/32")));
  });
  it("compares across families as event-ruler's hex ranges do", () => {
    assert.ok(ipInBlock(ip("a00::1"), block("10.0.0.0/8")), "IPv6 by its first 32 bits");
    assert.ok(ipInBlock(ip("16.0.0.1"), block("::/1")), "IPv4 strictly inside by a prefix");
    assert.ok(!ipInBlock(ip("128.0.0.1"), block("::/1")));
    assert.ok(!ipInBlock(ip("0.0.0.0"), block("::/1")), "all-zero rest sits on the bound");
  });
});
