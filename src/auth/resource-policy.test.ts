import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  InvalidPermissionError,
  MalformedPolicyError,
  PermissionAlreadyExistsError,
  PermissionNotFoundError,
  PolicyLengthExceededError,
} from "./errors.js";
import {
  MAX_RESOURCE_POLICY_BYTES,
  addPermission,
  evaluateResourcePolicy,
  judgeResourcePolicy,
  parseResourcePolicy,
  policyTests,
  removePermission,
  validateResourcePolicy,
  type PermissionGrant,
} from "./resource-policy.js";

const BUS = "arn:aws:events:us-east-1:111122223333:event-bus/orders";
const OTHER = "123456789012";
const QUEUE = "arn:aws:sqs:us-east-1:111122223333:orders";
const grant = (extra: Partial<PermissionGrant> = {}): PermissionGrant => ({
  statementId: "AllowAccount",
  action: "events:PutEvents",
  principal: OTHER,
  resourceArn: BUS,
  ...extra,
});
const put = (principalAccountId: string, extra: Record<string, string> = {}) => ({
  principalAccountId,
  action: "events:PutEvents",
  resource: BUS,
  ...extra,
});
const policy = (...statements: unknown[]): string =>
  JSON.stringify({ Version: "2012-10-17", Statement: statements });
const allowTo = (principal: unknown, extra: Record<string, unknown> = {}) => ({
  Effect: "Allow",
  Principal: principal,
  Action: "events:PutEvents",
  Resource: BUS,
  ...extra,
});

describe("addPermission", () => {
  it("creates the policy PutPermission makes for one account", () => {
    assert.deepEqual(JSON.parse(addPermission(undefined, grant())), {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "AllowAccount",
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::123456789012:root" },
          Action: "events:PutEvents",
          Resource: BUS,
        },
      ],
    });
  });

  it("grants everyone in an organization with Principal * and an aws:PrincipalOrgID condition", () => {
    const condition = { type: "StringEquals", key: "aws:PrincipalOrgID", value: "o-1234567890" };
    const json = addPermission(undefined, grant({ principal: "*", condition }));
    const statement = (JSON.parse(json) as { Statement: Record<string, unknown>[] }).Statement[0];
    assert.equal(statement?.["Principal"], "*");
    assert.deepEqual(statement?.["Condition"], { StringEquals: { "aws:PrincipalOrgID": "o-1234567890" } });
    assert.equal(evaluateResourcePolicy(json, put(OTHER, { principalOrgId: "o-1234567890" })), "Allow");
    assert.equal(evaluateResourcePolicy(json, put(OTHER, { principalOrgId: "o-other" })), "ImplicitDeny");
  });

  it("appends to an existing policy, keeping its statements, Version and Id", () => {
    const first = JSON.stringify({
      Version: "2012-10-17",
      Id: "bus",
      Statement: allowTo("*", { Sid: "Old" }),
    });
    const json = JSON.parse(addPermission(first, grant())) as { Id: string; Statement: { Sid: string }[] };
    assert.equal(json.Id, "bus");
    assert.deepEqual(
      json.Statement.map((s) => s.Sid),
      ["Old", "AllowAccount"],
    );
  });

  it("names the principal in the partition of the bus", () => {
    const json = addPermission(
      undefined,
      grant({ resourceArn: "arn:aws-cn:events:cn-north-1:111122223333:event-bus/x" }),
    );
    assert.match(json, /"arn:aws-cn:iam::123456789012:root"/);
  });

  const invalid: [string, Partial<PermissionGrant>, string][] = [
    ["an empty StatementId", { statementId: "" }, "StatementId"],
    ["a StatementId of 65 characters", { statementId: "a".repeat(65) }, "StatementId"],
    ["a StatementId with a space", { statementId: "my id" }, "StatementId"],
    ["an Action other than events:PutEvents", { action: "events:PutRule" }, "Action"],
    ["a Principal that is not 12 digits", { principal: "12345" }, "Principal"],
    ["a Principal that is an ARN", { principal: "arn:aws:iam::123456789012:root" }, "Principal"],
    ["a resource that is not an ARN", { resourceArn: "orders" }, "resourceArn"],
    [
      "a Condition of another type",
      { condition: { type: "StringLike", key: "aws:PrincipalOrgID", value: "o-1" } },
      "Condition.Type",
    ],
    [
      "a Condition on another key",
      { condition: { type: "StringEquals", key: "aws:SourceIp", value: "1.2.3.4" } },
      "Condition.Key",
    ],
    [
      "a Condition without a value",
      { condition: { type: "StringEquals", key: "aws:PrincipalOrgID", value: "" } },
      "Condition.Value",
    ],
  ];
  for (const [name, extra, field] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => addPermission(undefined, grant(extra)),
        (e: unknown) =>
          e instanceof InvalidPermissionError && e.field === field && e.awsType === "ValidationException",
      );
    });
  }

  it("rejects a StatementId the policy already holds", () => {
    const json = addPermission(undefined, grant());
    assert.throws(
      () => addPermission(json, grant({ principal: "999999999999" })),
      PermissionAlreadyExistsError,
    );
  });

  it("rejects a statement that would take the policy past 10 KB (PolicyLengthExceededException)", () => {
    let json: string | undefined;
    let i = 0;
    const error = (() => {
      try {
        for (;;) json = addPermission(json, grant({ statementId: `Account${i++}` }));
      } catch (e) {
        return e;
      }
    })();
    assert.ok(error instanceof PolicyLengthExceededError);
    assert.equal(error.awsType, "PolicyLengthExceededException");
    assert.ok(json !== undefined && Buffer.byteLength(json) <= MAX_RESOURCE_POLICY_BYTES);
  });
});

describe("removePermission", () => {
  it("removes the statement with the StatementId and keeps the others", () => {
    const json = addPermission(
      addPermission(undefined, grant({ statementId: "A" })),
      grant({ statementId: "B" }),
    );
    const left = removePermission(json, "A");
    assert.deepEqual(
      parseResourcePolicy(left ?? "").statements.map((s) => s.sid),
      ["B"],
    );
  });

  it("returns undefined once the last statement is gone", () => {
    assert.equal(removePermission(addPermission(undefined, grant()), "AllowAccount"), undefined);
  });

  it("throws ResourceNotFoundException for a StatementId that is absent, or when there is no policy", () => {
    const json = addPermission(undefined, grant());
    assert.throws(
      () => removePermission(json, "Nope"),
      (e: unknown) => e instanceof PermissionNotFoundError && e.awsType === "ResourceNotFoundException",
    );
    assert.throws(() => removePermission(undefined, "Nope"), PermissionNotFoundError);
  });
});

describe("validateResourcePolicy", () => {
  it("accepts the documented shapes of Principal", () => {
    validateResourcePolicy(
      policy(allowTo({ AWS: OTHER }), allowTo({ AWS: [`arn:aws:iam::${OTHER}:root`, "*"] })),
    );
    validateResourcePolicy(
      policy(
        allowTo({ AWS: `arn:aws:iam::${OTHER}:role/sender` }),
        allowTo({ Service: "events.amazonaws.com" }),
      ),
    );
  });

  const rejections: [string, string, string, RegExp][] = [
    [
      "a statement without Principal",
      policy({ Effect: "Allow", Action: "events:PutEvents", Resource: BUS }),
      "Statement[0].Principal",
      /must name exactly one of Principal and NotPrincipal/,
    ],
    [
      "a statement with both Principal and NotPrincipal",
      policy(allowTo("*", { NotPrincipal: { AWS: OTHER } })),
      "Statement[0].Principal",
      /exactly one of Principal and NotPrincipal/,
    ],
    [
      "a Principal string other than *",
      policy(allowTo(OTHER)),
      "Statement[0].Principal",
      /must be "\*" or an object/,
    ],
    [
      "an unknown principal type",
      policy(allowTo({ Robot: "r2d2" })),
      "Statement[0].Principal.Robot",
      /not a principal type/,
    ],
    [
      "an AWS principal that is no account or ARN",
      policy(allowTo({ AWS: "bob" })),
      "Statement[0].Principal.AWS",
      /12-digit account ID or an IAM ARN/,
    ],
    ["an empty Principal object", policy(allowTo({})), "Statement[0].Principal", /at least one principal/],
    [
      "a condition operator IAM does not have",
      policy(allowTo("*", { Condition: { StringRoughly: { "aws:SourceArn": "x" } } })),
      "Statement[0].Condition.StringRoughly",
      /not an IAM condition operator/,
    ],
    [
      "a condition key without a service",
      policy(allowTo("*", { Condition: { StringEquals: { SourceIp: "1.2.3.4" } } })),
      "Statement[0].Condition.StringEquals.SourceIp",
      /not a condition key/,
    ],
    [
      "a condition value that is an object",
      policy(allowTo("*", { Condition: { StringEquals: { "aws:SourceAccount": { a: 1 } } } })),
      "Statement[0].Condition.StringEquals.aws:SourceAccount",
      /string, number or boolean/,
    ],
    [
      "an unknown top-level element",
      JSON.stringify({ Version: "2012-10-17", Statement: [allowTo("*")], Extra: true }),
      "Extra",
      /unknown top-level/,
    ],
  ];
  for (const [name, json, path, reason] of rejections) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => validateResourcePolicy(json),
        (e: unknown) => e instanceof MalformedPolicyError && e.path === path && reason.test(e.reason),
      );
    });
  }

  it("rejects a policy over 10 KB", () => {
    const big = policy(allowTo("*", { Sid: "x".repeat(MAX_RESOURCE_POLICY_BYTES) }));
    assert.throws(() => validateResourcePolicy(big), PolicyLengthExceededError);
  });
});

describe("resource policies Busbar cannot evaluate in full", () => {
  // The queue policy SNS subscriptions, S3 notifications and EventBridge targets need, as IaC tools write it.
  const fromTopic = {
    Effect: "Allow",
    Principal: { Service: "sns.amazonaws.com" },
    Action: "sqs:SendMessage",
    Resource: QUEUE,
    Condition: { ArnEquals: { "aws:SourceArn": "arn:aws:sns:us-east-1:111122223333:orders" } },
  };

  it("accepts any IAM condition, NotPrincipal, other principal types, and no Resource", () => {
    validateResourcePolicy(policy(fromTopic));
    validateResourcePolicy(
      policy(
        {
          Effect: "Deny",
          Principal: "*",
          Action: "sqs:*",
          Condition: { Bool: { "aws:SecureTransport": false } },
        },
        allowTo({ Federated: "cognito-identity.amazonaws.com" }),
        allowTo("*", { Condition: { "ForAnyValue:StringLike": { "aws:PrincipalOrgPaths": ["o-a/*"] } } }),
        allowTo("*", {
          Condition: { StringEqualsIfExists: { "events:creatorAccount": "${aws:PrincipalAccount}" } },
        }),
        allowTo("*", {
          Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" }, NumericLessThan: { "s3:max-keys": 10 } },
        }),
        { Effect: "Allow", NotPrincipal: { AWS: OTHER }, Action: "events:PutEvents", Resource: BUS },
      ),
    );
  });

  it("never lets a test it cannot evaluate grant, and lets it make a Deny apply", () => {
    const fromNetwork = { Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } };
    assert.equal(evaluateResourcePolicy(policy(allowTo("*", fromNetwork)), put(OTHER)), "ImplicitDeny");
    const denyPlainHttp = {
      Effect: "Deny",
      Principal: "*",
      Action: "*",
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    };
    assert.equal(evaluateResourcePolicy(policy(allowTo("*"), denyPlainHttp), put(OTHER)), "ExplicitDeny");
    // A test it can evaluate still counts beside one it cannot: this Deny is for another organization.
    const denyOtherOrg = {
      ...denyPlainHttp,
      Condition: { ...denyPlainHttp.Condition, StringEquals: { "aws:PrincipalOrgID": "o-other" } },
    };
    assert.equal(evaluateResourcePolicy(policy(allowTo("*"), denyOtherOrg), put(OTHER)), "Allow");
  });

  it("applies a NotPrincipal statement to every principal but those it names", () => {
    const allButOther = policy({
      Effect: "Allow",
      NotPrincipal: { AWS: OTHER },
      Action: "events:PutEvents",
      Resource: BUS,
    });
    assert.equal(evaluateResourcePolicy(allButOther, put(OTHER)), "ImplicitDeny");
    assert.equal(evaluateResourcePolicy(allButOther, put("555555555555")), "Allow");
  });

  it("covers the resource the policy is on when a statement has no Resource", () => {
    const { Resource: _, ...anywhere } = allowTo("*");
    assert.equal(evaluateResourcePolicy(policy(anywhere), put(OTHER)), "Allow");
  });
});

describe("a queue policy's grant to a service", () => {
  const RULE = "arn:aws:events:us-east-1:123456789012:rule/orders";
  // What Busbar's delivery asks when a rule of another account writes to a queue.
  const send = (ruleArn: string) => ({
    principalAccountId: OTHER,
    principalService: "events.amazonaws.com",
    sourceArn: ruleArn,
    sourceAccount: OTHER,
    action: "sqs:SendMessage",
    resource: QUEUE,
  });
  const toEvents = (Condition?: Record<string, unknown>) =>
    policy({
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: "sqs:SendMessage",
      Resource: QUEUE,
      ...(Condition !== undefined && { Condition }),
    });

  it("allows events.amazonaws.com for the rules its ArnEquals, ArnLike or aws:SourceAccount names", () => {
    assert.equal(
      evaluateResourcePolicy(toEvents({ ArnEquals: { "aws:SourceArn": RULE } }), send(RULE)),
      "Allow",
    );
    assert.equal(
      evaluateResourcePolicy(toEvents({ ArnEquals: { "aws:SourceArn": RULE } }), send(`${RULE}-2`)),
      "ImplicitDeny",
    );
    const anyRuleOfOther = { ArnLike: { "aws:SourceArn": `arn:aws:events:*:${OTHER}:rule/*` } };
    assert.equal(evaluateResourcePolicy(toEvents(anyRuleOfOther), send(`${RULE}-2`)), "Allow");
    // Wildcards stay in their ARN segment: * in the region does not stretch over the account.
    const wrongAccount = { ArnLike: { "aws:SourceArn": "arn:aws:events:*:rule/*" } };
    assert.equal(evaluateResourcePolicy(toEvents(wrongAccount), send(RULE)), "ImplicitDeny");
    assert.equal(
      evaluateResourcePolicy(toEvents({ StringEquals: { "aws:SourceAccount": OTHER } }), send(RULE)),
      "Allow",
    );
    assert.equal(
      evaluateResourcePolicy(toEvents({ ArnNotLike: { "aws:SourceArn": `${RULE}*` } }), send(RULE)),
      "ImplicitDeny",
    );
    assert.equal(evaluateResourcePolicy(toEvents(), send(RULE)), "Allow");
  });

  it("never admits a caller with a key, nor another service", () => {
    assert.equal(
      evaluateResourcePolicy(toEvents(), { ...send(RULE), principalService: undefined }),
      "ImplicitDeny",
    );
    assert.equal(
      evaluateResourcePolicy(toEvents(), { ...send(RULE), principalService: "sns.amazonaws.com" }),
      "ImplicitDeny",
    );
  });
});

describe("evaluateResourcePolicy", () => {
  it("denies implicitly when the bus has no policy", () => {
    assert.equal(evaluateResourcePolicy(undefined, put(OTHER)), "ImplicitDeny");
  });

  it("allows any account with Principal * or {AWS: *}", () => {
    assert.equal(evaluateResourcePolicy(policy(allowTo("*")), put("555555555555")), "Allow");
    assert.equal(evaluateResourcePolicy(policy(allowTo({ AWS: "*" })), put("555555555555")), "Allow");
  });

  it("allows the account named by ID or by its root ARN, and no other", () => {
    for (const principal of [
      { AWS: OTHER },
      { AWS: `arn:aws:iam::${OTHER}:root` },
      { AWS: ["444444444444", OTHER] },
    ]) {
      const json = policy(allowTo(principal));
      assert.equal(evaluateResourcePolicy(json, put(OTHER)), "Allow");
      assert.equal(evaluateResourcePolicy(json, put("555555555555")), "ImplicitDeny");
    }
  });

  it("allows an IAM role ARN only to a caller with that ARN", () => {
    const role = `arn:aws:iam::${OTHER}:role/sender`;
    const json = policy(allowTo({ AWS: role }));
    assert.equal(evaluateResourcePolicy(json, put(OTHER)), "ImplicitDeny");
    assert.equal(evaluateResourcePolicy(json, put(OTHER, { principalArn: role })), "Allow");
  });

  it("never matches a Service principal to an account", () => {
    assert.equal(
      evaluateResourcePolicy(policy(allowTo({ Service: "events.amazonaws.com" })), put(OTHER)),
      "ImplicitDeny",
    );
  });

  it("requires every condition, with negated operators holding when the key is absent", () => {
    const like = policy(
      allowTo("*", { Condition: { StringLike: { "aws:PrincipalArn": "arn:aws:iam::*:role/ci-*" } } }),
    );
    assert.equal(
      evaluateResourcePolicy(like, put(OTHER, { principalArn: `arn:aws:iam::${OTHER}:role/ci-1` })),
      "Allow",
    );
    assert.equal(evaluateResourcePolicy(like, put(OTHER)), "ImplicitDeny");
    const notEquals = policy(
      allowTo("*", { Condition: { StringNotEquals: { "aws:PrincipalAccount": "666666666666" } } }),
    );
    assert.equal(evaluateResourcePolicy(notEquals, put(OTHER)), "Allow");
    assert.equal(evaluateResourcePolicy(notEquals, put("666666666666")), "ImplicitDeny");
  });

  it("denies implicitly an action or resource the statement does not name", () => {
    const json = policy(allowTo("*"));
    assert.equal(evaluateResourcePolicy(json, { ...put(OTHER), action: "events:PutRule" }), "ImplicitDeny");
    assert.equal(
      evaluateResourcePolicy(json, { ...put(OTHER), resource: BUS.replace("orders", "billing") }),
      "ImplicitDeny",
    );
  });

  it("lets an explicit Deny win over an Allow", () => {
    const parsed = parseResourcePolicy(policy(allowTo("*"), { ...allowTo({ AWS: OTHER }), Effect: "Deny" }));
    assert.equal(evaluateResourcePolicy(parsed, put(OTHER)), "ExplicitDeny");
    assert.equal(evaluateResourcePolicy(parsed, put("555555555555")), "Allow");
  });
});

describe("judgeResourcePolicy", () => {
  const user = `arn:aws:iam::${OTHER}:user/BBKEY0000000000000001`;
  const asUser = put(OTHER, { principalArn: user });

  it("says an Allow names the caller when it names its ARN, everyone, or everyone but others", () => {
    for (const principal of [{ AWS: user }, "*", { AWS: ["444444444444", "*"] }]) {
      assert.deepEqual(judgeResourcePolicy(policy(allowTo(principal)), asUser), {
        decision: "Allow",
        namesCaller: true,
      });
    }
    const notPrincipal = {
      Effect: "Allow",
      NotPrincipal: { AWS: "444444444444" },
      Action: "events:PutEvents",
    };
    assert.deepEqual(judgeResourcePolicy(policy(notPrincipal), asUser), {
      decision: "Allow",
      namesCaller: true,
    });
  });

  it("says an Allow naming only the caller's account (by ID or root ARN) does not name the caller", () => {
    for (const principal of [{ AWS: OTHER }, { AWS: `arn:aws:iam::${OTHER}:root` }]) {
      assert.deepEqual(judgeResourcePolicy(policy(allowTo(principal)), asUser), {
        decision: "Allow",
        namesCaller: false,
      });
    }
    // Either Allow that matches is enough.
    assert.equal(
      judgeResourcePolicy(policy(allowTo({ AWS: OTHER }), allowTo({ AWS: user })), asUser).namesCaller,
      true,
    );
  });

  it("gives a Deny that matches precedence over an Allow that names the caller", () => {
    const json = policy(allowTo({ AWS: user }), { ...allowTo({ AWS: OTHER }), Effect: "Deny" });
    assert.deepEqual(judgeResourcePolicy(json, asUser), { decision: "ExplicitDeny", namesCaller: false });
  });
});

describe("conditions on the event put on a bus (events:source, events:detail-type)", () => {
  // EventBridge's guide's example: send events to a custom bus in a different account.
  const example = policy({
    ...allowTo({ AWS: OTHER }),
    Condition: {
      "ForAllValues:StringEquals": { "events:source": ["com.exampleCorp.webStore"] },
      StringEquals: { "events:detail-type": "newOrderCreated" },
    },
  });
  const event = (eventSource?: string, eventDetailType?: string) => ({
    ...put(OTHER),
    ...(eventSource !== undefined && { eventSource }),
    ...(eventDetailType !== undefined && { eventDetailType }),
  });

  it("allows the events whose source and detail-type the example names, and no others", () => {
    assert.equal(
      evaluateResourcePolicy(example, event("com.exampleCorp.webStore", "newOrderCreated")),
      "Allow",
    );
    assert.equal(
      evaluateResourcePolicy(example, event("com.exampleCorp.other", "newOrderCreated")),
      "ImplicitDeny",
    );
    assert.equal(evaluateResourcePolicy(example, event("com.exampleCorp.webStore", "other")), "ImplicitDeny");
  });

  it("takes a key absent from the request as ForAllValues: and IfExists hold, ForAnyValue: and the operator do not", () => {
    const test = (operator: string) =>
      evaluateResourcePolicy(
        policy({ ...allowTo({ AWS: OTHER }), Condition: { [operator]: { "events:source": "s" } } }),
        event(),
      );
    assert.equal(test("ForAllValues:StringEquals"), "Allow");
    assert.equal(test("StringEqualsIfExists"), "Allow");
    assert.equal(test("ForAnyValue:StringEquals"), "ImplicitDeny");
    assert.equal(test("StringEquals"), "ImplicitDeny");
    // With the key there, each tests its one value as the operator does.
    for (const operator of ["ForAllValues:StringLike", "ForAnyValue:StringLike", "StringLikeIfExists"]) {
      const json = policy({
        ...allowTo({ AWS: OTHER }),
        Condition: { [operator]: { "events:source": "shop.*" } },
      });
      assert.equal(evaluateResourcePolicy(json, event("shop.orders", "t")), "Allow", operator);
      assert.equal(evaluateResourcePolicy(json, event("billing", "t")), "ImplicitDeny", operator);
    }
  });

  it("tells whether a policy tests a key, so that its value is gathered only then", () => {
    assert.equal(policyTests(example, "events:source"), true);
    assert.equal(policyTests(example, "events:detail-type"), true);
    assert.equal(policyTests(policy(allowTo({ AWS: OTHER })), "events:source"), false);
    const mixedCase = policy({ ...allowTo("*"), Condition: { StringEquals: { "Events:Source": "s" } } });
    assert.equal(policyTests(mixedCase, "events:source"), true, "keys are case-insensitive");
  });

  it("lets a Deny keep out every source but the ones it names", () => {
    const json = policy(allowTo("*"), {
      ...allowTo("*"),
      Effect: "Deny",
      Condition: { StringNotEquals: { "events:source": ["shop.orders", "shop.returns"] } },
    });
    assert.equal(evaluateResourcePolicy(json, event("shop.returns", "t")), "Allow");
    assert.equal(evaluateResourcePolicy(json, event("billing", "t")), "ExplicitDeny");
  });
});
