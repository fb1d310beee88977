import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  formatBasicIso,
  headerValue,
  parseAuthorization,
  parseRequestTimestamp,
} from "./authorization-header.js";
import { IncompleteSignatureError } from "./errors.js";

const SIG = "5d66173be171ffc7f1ff4aee3980d35cc7b20549a1b37fcf7eefefc007ff0513";
const CREDENTIAL = "AKIDEXAMPLE/20261122/us-east-1/events/aws4_request";
const GOOD = `AWS4-HMAC-SHA256 Credential=${CREDENTIAL}, SignedHeaders=content-type;host;x-amz-date, Signature=${SIG}`;

describe("parseAuthorization", () => {
  it("parses the header the AWS SDKs and the AWS CLI send", () => {
    assert.deepEqual(parseAuthorization(GOOD), {
      accessKeyId: "AKIDEXAMPLE",
      scopeDate: "20261122",
      region: "us-east-1",
      service: "events",
      signedHeaders: ["content-type", "host", "x-amz-date"],
      signature: SIG,
    });
  });

  it("accepts parameters in any order and without spaces after commas", () => {
    const header = `AWS4-HMAC-SHA256 Signature=${SIG},SignedHeaders=host,Credential=${CREDENTIAL}`;
    assert.equal(parseAuthorization(header).signature, SIG);
  });

  const malformed: [string, string, RegExp][] = [
    [
      "another scheme (a bearer token)",
      "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
      /Unsupported Authorization scheme 'Bearer'; only AWS4-HMAC-SHA256/,
    ],
    ["SigV2", "AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", /Unsupported Authorization scheme 'AWS'/],
    [
      "SigV4a",
      `AWS4-ECDSA-P256-SHA256 Credential=${CREDENTIAL}, SignedHeaders=host, Signature=${SIG}`,
      /Unsupported/,
    ],
    [
      "the algorithm alone",
      "AWS4-HMAC-SHA256",
      /requires 'Credential' parameter. .*'SignedHeaders'.*'Signature' parameter\./,
    ],
    [
      "no Signature",
      `AWS4-HMAC-SHA256 Credential=${CREDENTIAL}, SignedHeaders=host`,
      /requires 'Signature' parameter/,
    ],
    [
      "no SignedHeaders",
      `AWS4-HMAC-SHA256 Credential=${CREDENTIAL}, Signature=${SIG}`,
      /requires 'SignedHeaders'/,
    ],
    ["no Credential", `AWS4-HMAC-SHA256 SignedHeaders=host, Signature=${SIG}`, /requires 'Credential'/],
    [
      "a parameter without '='",
      `AWS4-HMAC-SHA256 Credential ${CREDENTIAL}, SignedHeaders=host, Signature=${SIG}`,
      /missing equal-sign/,
    ],
    ["a repeated parameter", `${GOOD}, Signature=${SIG}`, /repeats the 'Signature' parameter/],
    [
      "a credential of four elements",
      `AWS4-HMAC-SHA256 Credential=AKID/20261122/us-east-1/aws4_request, SignedHeaders=host, Signature=${SIG}`,
      /exactly 5 slash-delimited elements/,
    ],
    [
      "a credential with an empty element",
      `AWS4-HMAC-SHA256 Credential=AKID/20261122//events/aws4_request, SignedHeaders=host, Signature=${SIG}`,
      /Credential has an empty region/,
    ],
    [
      "a credential without an access key id",
      `AWS4-HMAC-SHA256 Credential=/20261122/us-east-1/events/aws4_request, SignedHeaders=host, Signature=${SIG}`,
      /Credential has an empty access key id/,
    ],
    [
      "a malformed scope date",
      `AWS4-HMAC-SHA256 Credential=AKID/2026-11-22/us-east-1/events/aws4_request, SignedHeaders=host, Signature=${SIG}`,
      /yyyymmdd/,
    ],
    [
      "a wrong terminator",
      `AWS4-HMAC-SHA256 Credential=AKID/20261122/us-east-1/events/aws5_request, SignedHeaders=host, Signature=${SIG}`,
      /valid terminator: 'aws4_request', not 'aws5_request'/,
    ],
    [
      "SignedHeaders without host",
      `AWS4-HMAC-SHA256 Credential=${CREDENTIAL}, SignedHeaders=x-amz-date, Signature=${SIG}`,
      /'Host' must be a 'SignedHeader'/,
    ],
    [
      "an empty SignedHeaders",
      `AWS4-HMAC-SHA256 Credential=${CREDENTIAL}, SignedHeaders=, Signature=${SIG}`,
      /semicolon-separated/,
    ],
    [
      "a header name with a space",
      `AWS4-HMAC-SHA256 Credential=${CREDENTIAL}, SignedHeaders=host;x amz, Signature=${SIG}`,
      /semicolon-separated/,
    ],
    [
      "a short signature",
      `AWS4-HMAC-SHA256 Credential=${CREDENTIAL}, SignedHeaders=host, Signature=abc123`,
      /64 hexadecimal digits/,
    ],
    [
      "a non-hex signature",
      `AWS4-HMAC-SHA256 Credential=${CREDENTIAL}, SignedHeaders=host, Signature=${"z".repeat(64)}`,
      /64 hexadecimal/,
    ],
  ];
  for (const [name, header, message] of malformed) {
    it(`rejects ${name} (IncompleteSignatureException)`, () => {
      assert.throws(
        () => parseAuthorization(header),
        (e: unknown) =>
          e instanceof IncompleteSignatureError &&
          e.awsType === "IncompleteSignatureException" &&
          message.test(e.message),
      );
    });
  }

  it("parses a header the same whether its text before the signature was seen before or not", () => {
    const other = "0123456789abcdef".repeat(4);
    const prefixes = [
      `AWS4-HMAC-SHA256 Credential=${CREDENTIAL}, SignedHeaders=host;x-amz-date, `,
      `AWS4-HMAC-SHA256 Credential=${CREDENTIAL},SignedHeaders=host,`,
      `  AWS4-HMAC-SHA256 Credential=${CREDENTIAL},\tSignedHeaders=host;x-amz-date,\t `,
      `AWS4-HMAC-SHA256 Signature=${SIG}, Credential=${CREDENTIAL}, SignedHeaders=host, `,
      `AWS4-HMAC-SHA256 Credential=${CREDENTIAL}, SignedHeaders=host, XSignature=${SIG}, `,
      `AWS4-HMAC-SHA256 Credential=${CREDENTIAL}, SignedHeaders=host `,
      `AWS4-HMAC-SHA256 Signature=${SIG}, Credential=${CREDENTIAL}, SignedHeaders=host, Foo=`,
      `AWS4-HMAC-SHA256 Credential=${CREDENTIAL}, SignedHeaders=host, Signature =x, `,
      `AWS4-HMAC-SHA256 Credential=${CREDENTIAL}, SignedHeaders=, `,
    ];
    const outcome = (header: string): unknown => {
      try {
        return parseAuthorization(header);
      } catch (e) {
        return (e as Error).message;
      }
    };
    for (const prefix of prefixes) {
      // Never seen before: the parse of the whole text.
      const first = outcome(`${prefix}Signature=${other}`);
      const upper = outcome(`${prefix}Signature=${other.toUpperCase()}`);
      const short = outcome(`${prefix}Signature=${other.slice(1)}z`);
      // Seen with another signature, which may have kept the parse of its prefix.
      outcome(`${prefix}Signature=${SIG}`);
      assert.deepEqual(outcome(`${prefix}Signature=${other}`), first, prefix);
      assert.deepEqual(outcome(`${prefix}Signature=${other.toUpperCase()}`), upper, prefix);
      assert.deepEqual(outcome(`${prefix}Signature=${other.slice(1)}z`), short, prefix);
    }
    // The first prefix parses, with whichever signature follows it.
    assert.equal((outcome(`${prefixes[0]}Signature=${other}`) as { signature: string }).signature, other);
    assert.match(String(outcome(`${prefixes[0]}Signature=${other.slice(1)}z`)), /64 hexadecimal/);
  });

  it("never echoes a long value such as a misplaced secret", () => {
    const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    for (const header of [
      secret,
      `AWS4-HMAC-SHA256 Credential=AKID/20261122/r/s/${secret}, SignedHeaders=host, Signature=${SIG}`,
    ]) {
      assert.throws(
        () => parseAuthorization(header),
        (e: Error) => !e.message.includes(secret),
      );
    }
  });
});

describe("parseRequestTimestamp", () => {
  it("reads X-Amz-Date in ISO 8601 basic format, preferring it to Date", () => {
    const ts = parseRequestTimestamp({
      "x-amz-date": "20261122T165532Z",
      date: "Sun, 01 Jan 2023 00:00:00 GMT",
    });
    assert.deepEqual(ts, { longDate: "20261122T165532Z", time: Date.parse("2026-11-22T16:55:32Z") });
  });

  it("reads an HTTP Date when X-Amz-Date is absent", () => {
    const ts = parseRequestTimestamp({ date: "Sun, 22 Nov 2026 16:55:32 GMT" });
    assert.equal(ts.longDate, "20261122T165532Z");
  });

  it("rejects an HTTP Date that cannot be parsed", () => {
    assert.throws(() => parseRequestTimestamp({ date: "yesterday" }), IncompleteSignatureError);
  });

  it("rejects a calendar date that does not exist", () => {
    assert.throws(
      () => parseRequestTimestamp({ "x-amz-date": "20260230T000000Z" }),
      IncompleteSignatureError,
    );
  });

  it("formats times back to the basic format", () => {
    assert.equal(formatBasicIso(Date.parse("2026-01-05T04:03:02.999Z")), "20260105T040302Z");
  });
});

describe("headerValue", () => {
  it("reads only own properties, so SignedHeaders=constructor cannot reach Object.prototype", () => {
    assert.equal(headerValue({}, "constructor"), undefined);
    assert.equal(headerValue({ a: ["1", " 2 "] }, "a"), "1,2");
  });
});
