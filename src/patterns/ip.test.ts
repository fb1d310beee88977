import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseCidr, parseIp } from "./ip.js";

describe("IP addresses", () => {
  it("parses IPv4 and rejects look-alikes", () => {
    assert.equal(parseIp("10.0.0.1")?.bits, "00001010" + "0".repeat(16) + "00000001");
    for (const bad of ["10.0.0", "10.0.0.256", "010.0.0.1", "10.0.0.1 ", "a.b.c.d", ""])
      assert.equal(parseIp(bad), undefined, bad);
  });
  it("parses IPv6 with compression and an IPv4 tail", () => {
    assert.equal(parseIp("::1")?.bits, "0".repeat(127) + "1");
    assert.equal(parseIp("0:0:0:0:0:0:0:1")?.bits, parseIp("::1")?.bits);
    assert.equal(parseIp("::ffff:10.0.0.1")?.bits, parseIp("::ffff:a00:1")?.bits);
    for (const bad of [":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "g::1"])
      assert.equal(parseIp(bad), undefined, bad);
  });
  it("parses CIDR blocks and names what is wrong with bad ones", () => {
    assert.deepEqual(parseCidr("10.0.0.0/24"), { ...parseIp("10.0.0.0"), prefixLength: 24 });
    assert.match(parseCidr("10.0.0.0") as string, /one '\/' required/);
    assert.match(parseCidr("10.0.0.0/33") as string, /IPv4 mask bits must be < 32/);
    assert.match(parseCidr("10.0.0.0/x") as string, /mask bits must be an integer/);
    assert.match(parseCidr("10.0.0/8") as string, /Nonstandard IP address/);
    assert.equal(typeof parseCidr("2001:db8::/32"), "object");
  });
});
