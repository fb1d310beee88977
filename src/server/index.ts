/**
 * The Busbar node: HTTP front, authentication, bootstrap and lifecycle.
 */
export { startNode, type BusbarNode } from "./node.js";
export { ROOT_CREDENTIALS_FILE, type RootCredentials } from "./bootstrap.js";
export { clientOf, createHttpServer, type HttpHandlers } from "./http.js";
