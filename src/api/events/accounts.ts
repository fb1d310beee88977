/**
 * Busbar's own operations (not in EventBridge's API) for accounts and access keys, so that they can be
 * managed on a running server as `busbar accounts|keys` manages them on a data directory:
 * CreateAccount, ListAccounts, CreateAccessKey, ListAccessKeys and DeleteAccessKey, on the same
 * endpoint and protocol as the EventBridge operations (`X-Amz-Target: AWSEvents.CreateAccessKey`),
 * reached with `busbar accounts|keys --endpoint URL` or any signed AWS JSON 1.1 request.
 *
 * Authorization: actions `busbar:<Operation>` on the account they concern, named by its IAM root ARN
 * `arn:aws:iam::<account>:root`. Accounts (CreateAccount, ListAccounts) concern the node's default
 * account: its root key may, and its keys whose policies allow it; no other account may. Keys concern
 * their own account: its root key may, its keys whose policies allow it, and the default account's
 * root key. Secrets are returned once, by the operation that creates them, and never listed.
 * ListAccounts and ListAccessKeys page as EventBridge's listings do: `Limit` (1–100, default 100) and
 * `NextToken`, in id order.
 */
import {
  AccountsError,
  ACCOUNT_ID,
  MAX_ACCOUNT_NAME_LENGTH,
  MAX_POLICIES_PER_KEY,
  createAccessKey,
  createAccount,
  deleteAccessKey,
} from "../../accounts/index.js";
import type { AccessKey } from "../../store/index.js";
import { ApiError } from "../errors.js";
import { arrayOf, optionalString, requiredString, type Input } from "../input.js";
import { epochSeconds, nextTokenOf, pageOptions, type Operation, type OperationContext } from "./context.js";

const ACCOUNT_ID_RULE = { min: 12, max: 12, pattern: ACCOUNT_ID };
const ACCESS_KEY_ID_RULE = { min: 16, max: 128, pattern: /^\w+$/ };

/** The ARN that names an account in policies. */
export const accountArn = (accountId: string): string => `arn:aws:iam::${accountId}:root`;

/** Runs a change of the accounts module, its refusals as the API's errors. */
async function refusalsAsApiErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (!(e instanceof AccountsError)) throw e;
    const type =
      e.problem === "exists"
        ? "ResourceAlreadyExistsException"
        : e.problem === "not-found"
          ? "ResourceNotFoundException"
          : "ValidationException";
    throw new ApiError(type, e.message);
  }
}

/** The account an operation on keys concerns: `AccountId`, or the caller's own. */
const accountOf = (ctx: OperationContext, input: Input): string =>
  optionalString(input, "AccountId", ACCOUNT_ID_RULE) ?? ctx.caller.accountId;

const describeKey = (key: AccessKey) => ({
  AccessKeyId: key.accessKeyId,
  AccountId: key.accountId,
  Root: key.root,
  Policies: key.policies,
  CreatedAt: epochSeconds(key.createdAt),
});

const createAccountOp: Operation = async (ctx, input) => {
  const id = optionalString(input, "AccountId", ACCOUNT_ID_RULE);
  const name = optionalString(input, "Name", { min: 1, max: MAX_ACCOUNT_NAME_LENGTH });
  ctx.authorize("busbar:CreateAccount", accountArn(ctx.defaultAccountId));
  const { account, key } = await refusalsAsApiErrors(() =>
    createAccount(ctx.store, ctx.region, { id, name }),
  );
  return {
    AccountId: account.id,
    Name: account.name,
    AccessKeyId: key.accessKeyId,
    SecretAccessKey: key.secretAccessKey,
  };
};

const listAccounts: Operation = async (ctx, input) => {
  const options = pageOptions(input);
  ctx.authorize("busbar:ListAccounts", accountArn(ctx.defaultAccountId));
  const page = await ctx.store.listAccounts(options);
  return {
    Accounts: page.items.map((a) => ({
      AccountId: a.id,
      Name: a.name,
      CreatedAt: epochSeconds(a.createdAt),
    })),
    ...nextTokenOf(page),
  };
};

const createAccessKeyOp: Operation = async (ctx, input) => {
  const accountId = accountOf(ctx, input);
  const policies = (arrayOf(input, "Policies", 0, MAX_POLICIES_PER_KEY, false) ?? []).map((p, i) => {
    if (typeof p !== "string")
      throw new ApiError(
        "SerializationException",
        `Policies[${i}] must be a string (a JSON policy document)`,
      );
    return p;
  });
  ctx.authorize("busbar:CreateAccessKey", accountArn(accountId));
  const key = await refusalsAsApiErrors(() => createAccessKey(ctx.store, accountId, policies));
  return { AccountId: key.accountId, AccessKeyId: key.accessKeyId, SecretAccessKey: key.secretAccessKey };
};

const listAccessKeys: Operation = async (ctx, input) => {
  const accountId = accountOf(ctx, input);
  const options = pageOptions(input);
  ctx.authorize("busbar:ListAccessKeys", accountArn(accountId));
  if ((await ctx.store.getAccount(accountId)) === undefined)
    throw new ApiError("ResourceNotFoundException", `account ${accountId} does not exist`);
  const page = await ctx.store.listAccessKeys(accountId, options);
  return { AccessKeys: page.items.map(describeKey), ...nextTokenOf(page) };
};

const deleteAccessKeyOp: Operation = async (ctx, input) => {
  const id = requiredString(input, "AccessKeyId", ACCESS_KEY_ID_RULE);
  const key = await ctx.store.getAccessKey(id);
  const notFound = new ApiError("ResourceNotFoundException", `access key ${id} does not exist`);
  if (key === undefined) throw notFound;
  try {
    ctx.authorize("busbar:DeleteAccessKey", accountArn(key.accountId));
  } catch (e) {
    // Another account's keys are not there for the caller: not even whether they exist.
    if (key.accountId !== ctx.caller.accountId) throw notFound;
    throw e;
  }
  // A root key is the way back in for its account (the default account's, for the node): a key whose
  // policies merely allow DeleteAccessKey must not lock the operator out.
  if (key.root && !ctx.caller.root) {
    throw new ApiError("AccessDeniedException", `only a root key may delete the root key ${id}`);
  }
  await refusalsAsApiErrors(() => deleteAccessKey(ctx.store, id));
  ctx.keyDeleted(id);
  return {};
};

export const accountOperations: Readonly<Record<string, Operation>> = {
  CreateAccount: createAccountOp,
  ListAccounts: listAccounts,
  CreateAccessKey: createAccessKeyOp,
  ListAccessKeys: listAccessKeys,
  DeleteAccessKey: deleteAccessKeyOp,
};
