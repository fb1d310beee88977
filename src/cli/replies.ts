/**
 * What each of Busbar's own operations answers, checked before the command believes it: a server
 * that is not Busbar (another service on the port, a proxy's error page) can answer 200 with any
 * JSON, and `{}` must not read as an account created or a key deleted.
 */

/** A member's type: a JSON type, an array of strings, or an array of objects of a shape. */
type Member = "string" | "number" | "boolean" | "string[]" | { readonly items: Shape };

/** The members a reply must hold; a name ending in `?` may be absent. */
export type Shape = Readonly<Record<string, Member>>;

const signingSecrets: Shape = {
  Secrets: { items: { Secret: "string", CreatedAt: "number", "ExpiresAt?": "number" } },
};

/** The reply of each operation the commands call (docs/delivery.md, README "Accounts and access keys"). */
export const REPLY_SHAPES: Readonly<Record<string, Shape>> = {
  CreateAccount: { AccountId: "string", Name: "string", AccessKeyId: "string", SecretAccessKey: "string" },
  ListAccounts: {
    Accounts: { items: { AccountId: "string", Name: "string", CreatedAt: "number" } },
    "NextToken?": "string",
  },
  CreateAccessKey: { AccountId: "string", AccessKeyId: "string", SecretAccessKey: "string" },
  ListAccessKeys: {
    AccessKeys: {
      items: {
        AccessKeyId: "string",
        AccountId: "string",
        Root: "boolean",
        Policies: "string[]",
        CreatedAt: "number",
      },
    },
    "NextToken?": "string",
  },
  DeleteAccessKey: {},
  DescribeTargetSigningSecrets: signingSecrets,
  RotateTargetSigningSecret: signingSecrets,
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function memberProblem(value: unknown, member: Member, path: string): string | undefined {
  if (typeof member === "string") {
    if (member === "string[]") {
      return Array.isArray(value) && value.every((v) => typeof v === "string")
        ? undefined
        : `${path} is not an array of strings`;
    }
    return typeof value === member ? undefined : `${path} is not a ${member}`;
  }
  if (!Array.isArray(value)) return `${path} is not an array`;
  for (const [i, item] of value.entries()) {
    const problem = shapeProblem(item, member.items, `${path}[${i}]`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * What keeps `value` from having `shape` (the first member missing or of the wrong type), or
 * `undefined` when it has it.
 */
export function shapeProblem(value: unknown, shape: Shape, path = "the reply"): string | undefined {
  if (!isObject(value)) return `${path} is not a JSON object`;
  for (const [key, member] of Object.entries(shape)) {
    const optional = key.endsWith("?");
    const name = optional ? key.slice(0, -1) : key;
    const at = path === "the reply" ? name : `${path}.${name}`;
    if (value[name] === undefined) {
      if (optional) continue;
      return `no ${at}`;
    }
    const problem = memberProblem(value[name], member, at);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
