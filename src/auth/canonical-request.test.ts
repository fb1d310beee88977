import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { computeSignature, parseQuery } from "./canonical-request.js";

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
  it("reproduces the AWS documentation example (GET /?Action=ListUsers&Version=2010-05-08, IAM)", async () => {
    // The worked example of the SigV4 documentation, signing-key and all.
    const signature = await computeSignature({
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
