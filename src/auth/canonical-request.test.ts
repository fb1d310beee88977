import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import {
  ALGORITHM_IDENTIFIER,
  SignatureV4Base,
  createScope,
  getCanonicalHeaders,
  getSigningKey,
} from "@smithy/signature-v4";
import { NodeSha256, computeSignature, parseQuery, type SignatureInput } from "./canonical-request.js";

describe("parseQuery", () => {
  it("decodes names and values, gives a valueless parameter the empty value and groups repeats", () => {
    assert.deepEqual(
      { ...parseQuery("b=2&a=1&a=0&flag&sp=a%20b&plus=1+1&&uni=%C3%A9") },
      {
        b: "2",
        a: ["1", "0"],
        flag: "",
        sp: "a b",
        plus: "1+1",
        uni: "é",
      },
    );
  });

  it("keeps a malformed escape as given and a __proto__ name as an ordinary parameter", () => {
    const query = parseQuery("bad=%E0%A4%A&__proto__=x");
    assert.equal(query["bad"], "%E0%A4%A");
    assert.equal(Object.getOwnPropertyDescriptor(query, "__proto__")?.value, "x");
  });
});

describe("computeSignature", () => {
  it("reproduces the AWS documentation example (GET /?Action=ListUsers&Version=2010-05-08, IAM)", () => {
    // The worked example of the SigV4 documentation, signing-key and all.
    const signature = computeSignature({
      method: "GET",
      path: "/",
      query: "Action=ListUsers&Version=2010-05-08",
      headers: {
        "content-type": "application/x-www-form-urlencoded; charset=utf-8",
        host: "iam.amazonaws.com",
        "x-amz-date": "20150830T123600Z",
      },
      payloadHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      longDate: "20150830T123600Z",
      scopeDate: "20150830",
      region: "us-east-1",
      service: "iam",
      accessKeyId: "AKIDEXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    });
    assert.equal(signature, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  });
});

/**
 * The signature as `@smithy/signature-v4` alone computes it (the implementation this module replaced,
 * kept as the oracle): its header canonicalisation, canonical request, string to sign and signing key.
 */
class SmithyReference extends SignatureV4Base {
  constructor() {
    super({
      service: "",
      region: "",
      credentials: { accessKeyId: "", secretAccessKey: "" },
      sha256: NodeSha256,
    });
  }

  async sign(input: SignatureInput): Promise<string> {
    const request = {
      method: input.method.toUpperCase(),
      protocol: "http:",
      hostname: "",
      path: input.path,
      query: parseQuery(input.query),
      headers: { ...input.headers },
    };
    const canonicalHeaders = getCanonicalHeaders(request, undefined, new Set(Object.keys(input.headers)));
    const canonicalRequest = this.createCanonicalRequest(request, canonicalHeaders, input.payloadHash);
    const scope = createScope(input.scopeDate, input.region, input.service);
    const stringToSign = await this.createStringToSign(
      input.longDate,
      scope,
      canonicalRequest,
      ALGORITHM_IDENTIFIER,
    );
    const credentials = { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey };
    const key = await getSigningKey(NodeSha256, credentials, input.scopeDate, input.region, input.service);
    return createHmac("sha256", key).update(stringToSign, "utf8").digest("hex");
  }
}

describe("computeSignature against @smithy/signature-v4", () => {
  const base: SignatureInput = {
    method: "POST",
    path: "/",
    query: "",
    headers: { host: "localhost:8380", "x-amz-date": "20261204T101010Z" },
    payloadHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    longDate: "20261204T101010Z",
    scopeDate: "20261204",
    region: "eu-west-1",
    service: "sqs",
    accessKeyId: "AKIDEXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  };
  const paths = [
    "/",
    "/000000000000/q",
    "/a/./b/../c",
    "/a//b/",
    "/%7Euser/x%20y",
    "/caf%C3%A9",
    "/a b/ü",
    "/..",
  ];
  const queries = [
    "",
    "Action=SendMessage&Version=2012-11-05",
    "b=2&a=1&a=0",
    "flag",
    "sp=a%20b&plus=1+1",
    "bad=%E0%A4%A",
  ];
  const values = [
    "plain",
    "  padded  ",
    "a   b",
    "tab\there",
    "line\r\nbreak",
    " ",
    "",
    "x-amz-json-1.0; charset=utf-8",
  ];
  const reference = new SmithyReference();

  it("gives the library's signature for every path, query and header value", async () => {
    for (const path of paths) {
      for (const query of queries) {
        const input = { ...base, path, query };
        assert.equal(computeSignature(input), await reference.sign(input), `path ${path} query ${query}`);
      }
    }
    for (const value of values) {
      const input = {
        ...base,
        method: "get",
        headers: { ...base.headers, "x-custom": value, "content-type": value },
      };
      assert.equal(
        computeSignature(input),
        await reference.sign(input),
        `header value ${JSON.stringify(value)}`,
      );
    }
  });

  it("derives a signing key per scope and secret", async () => {
    for (const change of [
      { region: "us-east-1" },
      { service: "events" },
      { scopeDate: "20261205" },
      { secretAccessKey: "other" },
    ]) {
      const input = { ...base, ...change };
      assert.equal(computeSignature(input), await reference.sign(input), JSON.stringify(change));
    }
  });
});
