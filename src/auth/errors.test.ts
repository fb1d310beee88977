import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as errors from "./errors.js";

const instances: errors.AuthError[] = [
  new errors.MissingAuthenticationTokenError(),
  new errors.IncompleteSignatureError("x"),
  new errors.InvalidSignatureError(errors.AuthErrorCode.SignatureExpired, "x"),
  new errors.UnrecognizedClientError(),
  new errors.AccessDeniedError(
    "arn:aws:iam::123456789012:user/a",
    "events:PutEvents",
    "arn:aws:events:::x",
    "ImplicitDeny",
  ),
  new errors.MalformedPolicyError("Statement", "x"),
  new errors.InvalidPermissionError("StatementId", "x"),
  new errors.PermissionAlreadyExistsError("s"),
  new errors.PermissionNotFoundError("s"),
  new errors.PolicyLengthExceededError(20_000, 10_240),
];

describe("auth errors", () => {
  it("every error class is instantiated here, so the catalog test covers them all", () => {
    const classes = Object.values(errors).filter(
      (value) => typeof value === "function" && value.prototype instanceof errors.AuthError,
    );
    assert.deepEqual(new Set(instances.map((e) => e.constructor)), new Set(classes));
  });

  for (const error of instances) {
    it(`${error.name} has a stable code, an AWS type from the catalog, its status and retryable: false`, () => {
      assert.ok(Object.values(errors.AuthErrorCode).includes(error.code));
      assert.equal(error.httpStatus, errors.AUTH_ERROR_TYPES[error.awsType]);
      assert.equal(error.retryable, false);
      assert.ok(error instanceof Error && error.message.length > 0);
    });
  }

  it("AccessDeniedError says whether a policy denied the action or none allowed it", () => {
    const explicit = new errors.AccessDeniedError("p", "events:PutEvents", "r", "ExplicitDeny");
    assert.match(explicit.message, /explicit deny/);
    const implicit = new errors.AccessDeniedError("p", "events:PutEvents", "r", "ImplicitDeny");
    assert.match(implicit.message, /because no policy allows the events:PutEvents action/);
  });
});
