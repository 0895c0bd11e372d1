export type { LogFormat, ServerConfig, ServiceConfig, UserConfig } from './types.js';
export { loadConfig, type LoadConfigOptions } from './load.js';
export { parseConfig, secretFilePaths, userStorePath, type ParseConfigOptions } from './parse.js';
export { ConfigError, formatIssue, type ConfigIssue } from './errors.js';
export { parseDuration, parseDurationArgument, formatDuration } from './duration.js';
export { secretFileProblem, secretFromFileText, type FileInfo } from './secret-file.js';
export { DEFAULTS, LIMITS } from './schema.js';
