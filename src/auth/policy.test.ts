import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MalformedPolicyError } from "./errors.js";
import { evaluate, parsePolicy } from "./policy.js";
import { globMatches } from "./policy-document.js";

const BUS = "arn:aws:events:us-east-1:123456789012:event-bus/default";
const RULE = "arn:aws:events:us-east-1:123456789012:rule/default/my-rule";

function doc(statement: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statement, ...extra });
}

function allow(action: unknown, resource: unknown = "*"): Record<string, unknown> {
  return { Effect: "Allow", Action: action, Resource: resource };
}

function decide(statements: unknown[], action: string, resource: string = BUS): string {
  return evaluate([parsePolicy(doc(statements))], action, resource);
}

describe("parsePolicy", () => {
  it("accepts a minimal policy and Statement given as a single object", () => {
    const policy = parsePolicy(doc(allow("events:PutEvents", BUS), { Id: "my-policy" }));
    assert.equal(policy.version, "2012-10-17");
    assert.equal(policy.id, "my-policy");
    assert.equal(policy.statements.length, 1);
  });

  it("reads a policy without Version as 2008-10-17, as IAM does", () => {
    const policy = parsePolicy(JSON.stringify({ Statement: [allow("*")] }));
    assert.equal(policy.version, "2008-10-17");
  });

  const rejections: [string, string, string, RegExp][] = [
    ["text that is not JSON", "{", "", /not valid JSON/],
    ["a document that is not an object", "[]", "", /must be a JSON object/],
    ["an unknown top-level element", doc([allow("*")], { Foo: 1 }), "Foo", /unknown top-level element/],
    [
      "an unknown Version",
      JSON.stringify({ Version: "2020-01-01", Statement: [allow("*")] }),
      "Version",
      /must be one of/,
    ],
    ["an Id that is not a string", doc([allow("*")], { Id: 5 }), "Id", /must be a string/],
    ["a missing Statement", JSON.stringify({ Version: "2012-10-17" }), "Statement", /is required/],
    ["an empty Statement array", doc([]), "Statement", /at least one statement/],
    ["a statement that is not an object", doc(["Allow"]), "Statement[0]", /must be a JSON object/],
    [
      "an unknown statement element",
      doc([{ ...allow("*"), Effects: "Allow" }]),
      "Statement[0].Effects",
      /unknown statement element/,
    ],
    ["a Sid that is not a string", doc([{ ...allow("*"), Sid: 1 }]), "Statement[0].Sid", /must be a string/],
    [
      "a duplicate Sid",
      doc([
        { ...allow("*"), Sid: "a" },
        { ...allow("*"), Sid: "a" },
      ]),
      "Statement[1].Sid",
      /duplicate Sid 'a'/,
    ],
    ["a missing Effect", doc([{ Action: "*", Resource: "*" }]), "Statement[0].Effect", /"Allow" or "Deny"/],
    [
      "an Effect in the wrong case",
      doc([{ ...allow("*"), Effect: "allow" }]),
      "Statement[0].Effect",
      /"Allow" or "Deny"/,
    ],
    [
      "both Action and NotAction",
      doc([{ ...allow("*"), NotAction: "s3:*" }]),
      "Statement[0]",
      /exactly one of Action and NotAction/,
    ],
    [
      "neither Action nor NotAction",
      doc([{ Effect: "Allow", Resource: "*" }]),
      "Statement[0]",
      /exactly one of Action and NotAction/,
    ],
    ["an empty Action array", doc([allow([])]), "Statement[0].Action", /empty array/],
    [
      "an Action that is not a string",
      doc([allow(["events:PutEvents", 7])]),
      "Statement[0].Action[1]",
      /must be a string/,
    ],
    [
      "an Action without a service prefix",
      doc([allow("PutEvents")]),
      "Statement[0].Action",
      /service:Action/,
    ],
    [
      "an Action with a space",
      doc([allow(["events:Put Events"])]),
      "Statement[0].Action[0]",
      /service:Action/,
    ],
    [
      "neither Resource nor NotResource",
      doc([{ Effect: "Allow", Action: "*" }]),
      "Statement[0]",
      /exactly one of Resource and NotResource/,
    ],
    [
      "a Resource that is not an ARN",
      doc([allow("*", "my-bus")]),
      "Statement[0].Resource",
      /an ARN arn:partition/,
    ],
    [
      "a Resource ARN with too few segments",
      doc([allow("*", "arn:aws:events:us-east-1")]),
      "Statement[0].Resource",
      /an ARN/,
    ],
    [
      "a policy variable",
      doc([allow("*", "arn:aws:events:*:*:event-bus/${aws:username}")]),
      "Statement[0].Resource",
      /policy variables/,
    ],
    [
      "a Principal",
      doc([{ ...allow("*"), Principal: "*" }]),
      "Statement[0].Principal",
      /must not name a principal/,
    ],
    [
      "a NotPrincipal",
      doc([{ ...allow("*"), NotPrincipal: { AWS: "123456789012" } }]),
      "Statement[0].NotPrincipal",
      /must not name a principal/,
    ],
    [
      "a Condition (unsupported)",
      doc([{ ...allow("*"), Condition: { Bool: { "aws:SecureTransport": "true" } } }]),
      "Statement[0].Condition",
      /conditions are not supported/,
    ],
  ];
  for (const [name, json, path, reason] of rejections) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => parsePolicy(json),
        (e: unknown) =>
          e instanceof MalformedPolicyError &&
          e.path === path &&
          reason.test(e.reason) &&
          e.awsType === "ValidationException",
      );
    });
  }

  it("keeps ${…} literal in a 2008-10-17 policy, which has no policy variables", () => {
    const json = JSON.stringify({
      Version: "2008-10-17",
      Statement: allow("*", "arn:aws:events:*:*:event-bus/${x}"),
    });
    assert.equal(
      evaluate([parsePolicy(json)], "events:PutEvents", "arn:aws:events:r:1:event-bus/${x}"),
      "Allow",
    );
  });
});

describe("evaluate", () => {
  it("allows an action and resource an Allow statement names exactly", () => {
    assert.equal(decide([allow("events:PutEvents", BUS)], "events:PutEvents"), "Allow");
  });

  it("denies implicitly when no statement matches, or there is no policy", () => {
    assert.equal(decide([allow("events:PutRule", BUS)], "events:PutEvents"), "ImplicitDeny");
    assert.equal(evaluate([], "events:PutEvents", BUS), "ImplicitDeny");
  });

  it("matches * in an action name against any characters", () => {
    assert.equal(decide([allow("events:Put*")], "events:PutEvents"), "Allow");
    assert.equal(decide([allow("events:*")], "events:DeleteRule"), "Allow");
    assert.equal(decide([allow("*")], "sqs:SendMessage"), "Allow");
    assert.equal(decide([allow("events:Put*")], "sqs:PutEvents"), "ImplicitDeny");
  });

  it("matches ? in an action name against exactly one character", () => {
    assert.equal(decide([allow("events:Put?vents")], "events:PutEvents"), "Allow");
    assert.equal(decide([allow("events:Put?Events")], "events:PutEvents"), "ImplicitDeny");
  });

  it("matches service prefix and action name case-insensitively", () => {
    assert.equal(decide([allow("EVENTS:putevents")], "events:PutEvents"), "Allow");
    assert.equal(decide([allow("Events:PUT*")], "events:PutEvents"), "Allow");
  });

  it("NotAction covers every action except those listed", () => {
    const statement = {
      Effect: "Allow",
      NotAction: ["events:Delete*", "events:RemovePermission"],
      Resource: "*",
    };
    assert.equal(decide([statement], "events:PutEvents"), "Allow");
    assert.equal(decide([statement], "events:DeleteEventBus"), "ImplicitDeny");
    assert.equal(decide([statement], "events:removepermission"), "ImplicitDeny");
  });

  it("matches wildcards in resource ARNs, each inside its segment except the resource part", () => {
    assert.equal(
      decide([allow("*", "arn:aws:events:*:123456789012:event-bus/*")], "events:PutEvents"),
      "Allow",
    );
    assert.equal(
      decide([allow("*", "arn:aws:events:us-east-?:123456789012:*")], "events:PutRule", RULE),
      "Allow",
    );
    assert.equal(
      decide([allow("*", "arn:aws:events:*:123456789012:event-bus/*")], "events:PutRule", RULE),
      "ImplicitDeny",
    );
    // A * in the region segment does not run on into the account segment.
    const tricky = "arn:aws:events:us-east-1:999:123456789012:event-bus/default";
    assert.equal(
      decide([allow("*", "arn:aws:events:*:123456789012:event-bus/default")], "x:y", tricky),
      "ImplicitDeny",
    );
  });

  it("lets a * that ends a short resource ARN stand for the rest, colons included, as IAM does", () => {
    const queue = "arn:aws:sqs:us-east-1:123456789012:orders";
    for (const pattern of [
      "arn:aws:sqs:*",
      "arn:aws:sqs:us-east-1:*",
      "arn:aws:sqs:us-*",
      "arn:aws:sqs:us-east-1:1234*",
    ])
      assert.equal(decide([allow("*", pattern)], "sqs:SendMessage", queue), "Allow", pattern);
    // The segments before it still match segment by segment.
    assert.equal(decide([allow("*", "arn:aws:sqs:eu-*")], "sqs:SendMessage", queue), "ImplicitDeny");
    assert.equal(decide([allow("*", "arn:aws:events:*")], "sqs:SendMessage", queue), "ImplicitDeny");
    assert.equal(decide([allow("*", "arn:aws:events:*")], "events:PutEvents"), "Allow");
  });

  it("matches resource ARNs case-sensitively", () => {
    assert.equal(decide([allow("*", BUS.replace("default", "Default"))], "events:PutEvents"), "ImplicitDeny");
  });

  it("NotResource covers every resource except those listed", () => {
    const statement = {
      Effect: "Allow",
      Action: "events:*",
      NotResource: "arn:aws:events:*:*:event-bus/prod-*",
    };
    assert.equal(decide([statement], "events:PutEvents"), "Allow");
    assert.equal(
      decide([statement], "events:PutEvents", "arn:aws:events:us-east-1:1:event-bus/prod-orders"),
      "ImplicitDeny",
    );
  });

  it("lets an explicit Deny win over any Allow, in whatever order and policy", () => {
    const deny = { Effect: "Deny", Action: "events:PutEvents", Resource: BUS };
    assert.equal(decide([allow("*"), deny], "events:PutEvents"), "ExplicitDeny");
    assert.equal(decide([deny, allow("*")], "events:PutEvents"), "ExplicitDeny");
    const policies = [parsePolicy(doc([allow("*")])), parsePolicy(doc(deny))];
    assert.equal(evaluate(policies, "events:PutEvents", BUS), "ExplicitDeny");
    assert.equal(evaluate(policies, "events:PutRule", BUS), "Allow");
  });

  it("applies a Deny only where its action and resource match", () => {
    const deny = {
      Effect: "Deny",
      NotAction: "events:Describe*",
      Resource: "arn:aws:events:*:*:event-bus/prod",
    };
    assert.equal(decide([allow("*"), deny], "events:PutEvents"), "Allow");
    assert.equal(
      decide([allow("*"), deny], "events:PutEvents", "arn:aws:events:us-east-1:1:event-bus/prod"),
      "ExplicitDeny",
    );
    assert.equal(
      decide([allow("*"), deny], "events:DescribeEventBus", "arn:aws:events:us-east-1:1:event-bus/prod"),
      "Allow",
    );
  });
});

describe("wildcard matching", () => {
  /** What a regular expression of the same wildcards answers (the old way, exponential when it fails). */
  const byRegExp = (glob: string, value: string): boolean =>
    new RegExp(
      `^${[...glob].map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))).join("")}$`,
      "s",
    ).test(value);

  it("answers as a regular expression of the same wildcards would, on every short pattern and value", () => {
    const letters = ["a", "b", "*", "?", ":"];
    const all = (n: number): string[] =>
      n === 0 ? [""] : all(n - 1).flatMap((s) => letters.map((c) => s + c));
    const globs = [0, 1, 2, 3, 4].flatMap(all);
    const values = [0, 1, 2, 3, 4].flatMap(all).filter((v) => !/[*?]/.test(v));
    for (const glob of globs) {
      for (const value of values)
        assert.equal(globMatches(glob, value), byRegExp(glob, value), `${glob} ${value}`);
    }
  });

  it(
    "takes time in proportion to the pattern and the value, not exponential in its stars",
    { timeout: 5_000 },
    () => {
      // Eight stars against 64 characters: a regular expression took 59 s to fail.
      const resource = `arn:aws:events:us-east-1:123456789012:event-bus/*a*a*a*a*a*a*a*b`;
      const name = "a".repeat(64);
      assert.equal(
        decide([allow("events:*", resource)], "events:CreateEventBus", `${BUS.slice(0, -7)}${name}`),
        "ImplicitDeny",
      );
      assert.equal(globMatches("*a*a*a*a*a*a*a*b", name), false);
      assert.equal(globMatches("*a*a*a*a*a*a*a*b", `${name}b`), true);
    },
  );
});
