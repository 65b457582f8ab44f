export * from "./analytics";
export * from "./attribution";
export * from "./chat";
export * from "./notifications";
export * from "./payments";
export * from "./platform";
