/**
 * Which API a request speaks: SQS (an `AmazonSQS.` target, a form-encoded query request, or SQS's
 * JSON 1.0 content type without an EventBridge target) or EventBridge (everything else). The same routing serves on the main thread, with the operations
 * themselves, and on the front thread, with stubs that run them on the main thread.
 */
import {
  EVENTS_TARGET_PREFIX,
  SQS_TARGET_PREFIX,
  header,
  isQueryGet,
  isSqsQueryRequest,
  mediaType,
  serveAwsJson,
  serveSqs,
  type OperationTable,
  type ProtocolDependencies,
  type RawRequest,
  type RawResponse,
  type SqsDependencies,
} from "../api/wire/index.js";

/** The two APIs a node serves on its port. */
export interface ApiRoutes<E, S> {
  readonly events: ProtocolDependencies<E> & { readonly operations: OperationTable<E> };
  readonly sqs: SqsDependencies<S>;
}

/** Answers API requests (`POST` with an X-Amz-Target, or an SQS query request). */
export function routeApi<E, S>(routes: ApiRoutes<E, S>): (request: RawRequest) => Promise<RawResponse> {
  return (request) => {
    const target = header(request, "x-amz-target");
    if (target?.startsWith(EVENTS_TARGET_PREFIX) === true) {
      return serveAwsJson(request, routes.events.operations, routes.events);
    }
    // Besides SQS's own targets and query requests: a JSON 1.0 request with no (or another service's)
    // target is an SQS client's mistake, answered with SQS's InvalidAction, not EventBridge's
    // complaint about the content type.
    if (
      target?.startsWith(SQS_TARGET_PREFIX) === true ||
      mediaType(request) === "application/x-amz-json-1.0" ||
      isSqsQueryRequest(request) ||
      isQueryGet(request)
    ) {
      return serveSqs(request, routes.sqs);
    }
    return serveAwsJson(request, routes.events.operations, routes.events);
  };
}
