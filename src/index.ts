/**
 * Busbar's public API.
 */
export * from "./patterns/index.js";
