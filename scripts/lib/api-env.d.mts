export declare const API_NODE_ARGS: string[];
export declare const API_ENV_DEFAULTS: Record<string, string>;
export declare function apiEnv(env?: NodeJS.ProcessEnv): Record<string, string>;
