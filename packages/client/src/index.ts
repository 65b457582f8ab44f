export { type ClientOptions, createPlatformClient, type PlatformClient } from "./client";
export { type ErrorCode, ok, PlatformError } from "./errors";
export type { components, operations, paths } from "./generated/api";
export type { ItemOf, PagedPath, PageParams } from "./paginate";
export type { RetryOptions } from "./retry";
