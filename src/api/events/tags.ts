/**
 * Tagging: TagResource, UntagResource, ListTagsForResource on event buses and rules.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TagResource.html
 */
import { canonicalArn, elsewhere, parseArn } from "../../buses/index.js";
import type { Tag } from "../../store/index.js";
import { ApiError } from "../errors.js";
import { ARN, arrayOf, requiredString, structureAt, type Input } from "../input.js";
import type { Operation, OperationContext } from "./context.js";

/** Most tags on one resource. */
export const MAX_TAGS = 50;

/** Reads a Tags member: a list of {Key, Value}. */
export function readTags(input: Input, required: boolean): Tag[] {
  const list = arrayOf(input, "Tags", 0, MAX_TAGS, required) ?? [];
  return list.map((t, i) => {
    const tag = structureAt(t, `Tags[${i}]`);
    const key = requiredString(tag, "Key", { min: 1, max: 128 });
    const value = requiredString(tag, "Value", { min: 0, max: 256 });
    if (key.startsWith("aws:"))
      throw new ApiError("ValidationException", `Tag keys may not start with "aws:": ${key}`);
    return { key, value };
  });
}

/**
 * Checks that the caller may do `action` on the bus or rule an ARN names, then that it exists;
 * returns the ARN. In that order, so that a caller who may not act on it (another account's, say)
 * cannot tell whether it exists.
 */
async function existingResource(ctx: OperationContext, given: string, action: string): Promise<string> {
  const parsed = parseArn(given);
  if (parsed === undefined) {
    throw new ApiError(
      "ResourceNotFoundException",
      `Resource ${given} does not exist: only event buses and rules have tags (arn:aws:events:<region>:<account>:event-bus/<name> or rule/[<bus>/]<name>).`,
    );
  }
  const away = elsewhere(parsed, ctx.region);
  if (away !== undefined)
    throw new ApiError("ResourceNotFoundException", `Resource ${given} does not exist: it is of ${away}.`);
  // One tag set per resource, under the ARN Busbar writes for it, however the caller spelled it.
  const arn = canonicalArn(parsed);
  ctx.authorize(action, arn);
  const missing = new ApiError("ResourceNotFoundException", `Resource ${arn} does not exist.`);
  const exists =
    parsed.kind === "event-bus"
      ? (await ctx.store.getBus(parsed.accountId, parsed.busName)) !== undefined
      : (await ctx.store.getRule(parsed.accountId, parsed.busName, parsed.ruleName ?? "")) !== undefined;
  if (!exists) throw missing;
  return arn;
}

const tagResource: Operation = async (ctx, input) => {
  const arn = await existingResource(ctx, requiredString(input, "ResourceARN", ARN), "events:TagResource");
  const tags = readTags(input, true);
  const current = await ctx.store.getTags(arn);
  const keys = new Set([...current.map((t) => t.key), ...tags.map((t) => t.key)]);
  if (keys.size > MAX_TAGS)
    throw new ApiError("LimitExceededException", `A resource can have at most ${MAX_TAGS} tags.`);
  await ctx.store.tagResource(arn, tags);
  return {};
};

const untagResource: Operation = async (ctx, input) => {
  const arn = await existingResource(ctx, requiredString(input, "ResourceARN", ARN), "events:UntagResource");
  const keys = (arrayOf(input, "TagKeys", 0, MAX_TAGS, true) ?? []).map((k, i) => {
    if (typeof k !== "string" || k.length < 1 || k.length > 128) {
      throw new ApiError("ValidationException", `TagKeys[${i}] must be a string of 1 to 128 characters`);
    }
    return k;
  });
  await ctx.store.untagResource(arn, keys);
  return {};
};

const listTagsForResource: Operation = async (ctx, input) => {
  const arn = await existingResource(
    ctx,
    requiredString(input, "ResourceARN", ARN),
    "events:ListTagsForResource",
  );
  const tags = await ctx.store.getTags(arn);
  return { Tags: tags.map((t) => ({ Key: t.key, Value: t.value })) };
};

/** The tagging operations by name. */
export const tagOperations: Readonly<Record<string, Operation>> = {
  TagResource: tagResource,
  UntagResource: untagResource,
  ListTagsForResource: listTagsForResource,
};
